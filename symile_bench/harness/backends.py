"""Block engines: everything that depends on where the scores live (numpy on the host, torch on
a device), behind one interface, so that the rankers are written once.

``backend="numpy"`` (default) or ``backend="torch"`` with ``device="cpu"``/``"cuda"`` (default:
cuda when available). ``make_engine`` picks the engine once per ranking call; the rankers then
only call ``BlockEngine`` methods. An engine computes a block of scores (one matmul of the
combined queries for ``combine`` scorers, the scorer's ``score_block`` with the backend's array
module otherwise), improves each query's best correct candidate from it, and reduces it to the
counts and top-k of ``topk.BlockStats``. The torch engine does the block work on the device and
resolves tied rows on the host with the same rule. Ranks are identical to the numpy path except
where two scores are within float rounding of each other (different matmul kernels can order
such near-ties differently); scores agree to float tolerance.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness.correct import BestCorrect, CorrectIndex, merge_gathered
from symile_bench.harness.inputs import check_backend, check_block
from symile_bench.harness.scorers import Scorer
from symile_bench.harness.ties import tie_keys
from symile_bench.harness.topk import (
    BlockStats,
    TopK,
    block_stats,
    exact_row_topk,
    pad,
    sorted_topk,
)

if TYPE_CHECKING:
    import torch

Block = TypeVar("Block")


class BlockEngine(Protocol[Block]):
    """One backend's block work for one scorer and one set of embeddings. ``parallel``: whether
    ``scores`` and the reductions may run in several threads at once (row slices)."""

    name: str
    device: str
    parallel: bool

    def scores(self, q0: int, q1: int, c0: int, c1: int) -> Block:
        """Scores of queries ``[q0, q1)`` against candidates ``[c0, c1)`` (valid until the next
        call from the same thread)."""
        ...

    def set_scores(self, q0: int, q1: int, ids: np.ndarray) -> np.ndarray:
        """Host scores ``[q1 - q0, m]`` of each query against its own candidates ``ids``."""
        ...

    def merge_best(self, s: Block, c0: int, correct: CorrectIndex, best: BestCorrect) -> None:
        """Improve ``best`` with the correct candidates among the block's columns."""
        ...

    def block_stats(self, s: Block, best: BestCorrect, c0: int, k: int) -> BlockStats:
        """Counts against ``best`` and the top-k of the block (columns from ``c0``)."""
        ...

    def row(self, s: Block, i: int) -> np.ndarray:
        """Row ``i`` of the block on the host."""
        ...


def make_engine(
    backend: str,
    device: str | None,
    scorer: Scorer,
    queries: list[np.ndarray],
    candidates: np.ndarray,
) -> BlockEngine[Any]:
    """The engine for ``backend``/``device`` (checked), holding what the scorer needs there."""
    check_backend(backend, device)
    if backend == "numpy":
        return NumpyEngine(scorer, queries, candidates)
    return TorchEngine(scorer, queries, candidates, device)


def _rows_one_by_one(
    scorer: Scorer,
    queries: Sequence[Any],
    candidates: Any,
    ids: Any,
    q0: int,
    xp: ModuleType,
    to_host: Callable[[Any], np.ndarray],
) -> np.ndarray:
    """Per-query sets of a non-combine scorer: each query's set is its own ``[1, m]`` block."""
    n, width = ids.shape
    out = np.empty((n, width), dtype=np.float64)
    for i in range(n):
        rows = [q[q0 + i : q0 + i + 1] for q in queries]
        s = to_host(scorer.prepared_block(rows, candidates[ids[i]], xp))
        check_block(s, (1, width), scorer.name, np)
        out[i] = s[0]
    return out


def _as_float64(s: Any) -> np.ndarray:
    out: np.ndarray = np.asarray(s, dtype=np.float64)
    return out


def _tensor_as_float64(s: Any) -> np.ndarray:
    out: np.ndarray = s.double().cpu().numpy()
    return out


class NumpyEngine:
    """Host blocks. A combine scorer's block is one matmul into a per-thread buffer reused for
    every block (no fresh pages per block); other scorers' blocks come from their function."""

    name = "numpy"
    device = "cpu"

    def __init__(self, scorer: Scorer, queries: list[np.ndarray], candidates: np.ndarray) -> None:
        self.scorer = scorer
        self.queries = [scorer.prepared(q, np) for q in queries]
        self.c = scorer.prepared(candidates, np)
        self.v = scorer.combined(queries) if scorer.combine is not None else None
        # a plain ``score`` function has always run on one thread; array code is thread-safe
        self.parallel = scorer.array_generic
        self._local = threading.local()

    def scores(self, q0: int, q1: int, c0: int, c1: int) -> np.ndarray:
        shape = (q1 - q0, c1 - c0)
        if self.v is None:
            block = self.scorer.prepared_block([q[q0:q1] for q in self.queries], self.c[c0:c1], np)
            s = np.ascontiguousarray(block, dtype=self.c.dtype)
            check_block(s, shape, self.scorer.name, np)
            return s
        buf: np.ndarray | None = getattr(self._local, "buf", None)
        if buf is None or buf.size < shape[0] * shape[1]:
            buf = self._local.buf = np.empty(shape[0] * shape[1], dtype=self.c.dtype)
        out = buf[: shape[0] * shape[1]].reshape(shape)
        np.matmul(self.v[q0:q1], self.c[c0:c1].T, out=out)
        return out

    def set_scores(self, q0: int, q1: int, ids: np.ndarray) -> np.ndarray:
        if self.v is None:
            return _rows_one_by_one(self.scorer, self.queries, self.c, ids, q0, np, _as_float64)
        out: np.ndarray = np.matmul(self.c[ids], self.v[q0:q1, :, None])[..., 0]
        return out

    def merge_best(self, s: np.ndarray, c0: int, correct: CorrectIndex, best: BestCorrect) -> None:
        merge_gathered(s, c0, c0 + s.shape[1], correct, best)

    def block_stats(self, s: np.ndarray, best: BestCorrect, c0: int, k: int) -> BlockStats:
        return block_stats(s, best.value, best.q_ids, c0, k, best.seed)

    def row(self, s: np.ndarray, i: int) -> np.ndarray:
        out: np.ndarray = s[i]
        return out


def _import_torch() -> ModuleType:
    try:
        import torch
    except ImportError:
        from symile_bench.errors import MissingDependencyError

        raise MissingDependencyError(
            "backend='torch' needs PyTorch: pip install 'symile-bench[audio]' (or torch)"
        ) from None
    return torch


class TorchEngine:
    """Device blocks: scores, the best correct candidate (a label mask, no gather), counts and
    ``torch.topk`` run on the device; only per-row results and tied rows come to the host."""

    name = "torch"
    parallel = False  # the device parallelises each block itself

    def __init__(
        self,
        scorer: Scorer,
        queries: list[np.ndarray],
        candidates: np.ndarray,
        device: str | None,
    ) -> None:
        if not scorer.array_generic:
            raise HarnessInputError(
                f"scorer {scorer.name!r} has only a numpy score function, so it cannot run on "
                "the torch backend; give it a score_block function or use backend='numpy'"
            )
        self.torch = _import_torch()
        cuda = self.torch.cuda.is_available()
        if device is None:
            device = "cuda" if cuda else "cpu"
        if str(device).startswith("cuda") and not cuda:
            raise HarnessInputError(
                f"device {device!r} requested but CUDA is not available; use device='cpu'"
            )
        self.device = str(device)
        self.scorer = scorer
        self.c = scorer.prepared(self._to_device(candidates), self.torch)
        if scorer.combine is not None:
            self.v: torch.Tensor | None = self._to_device(scorer.combined(queries))
            self.queries: list[torch.Tensor] = []
        else:
            self.v = None
            self.queries = [scorer.prepared(self._to_device(q), self.torch) for q in queries]

    def _to_device(self, a: np.ndarray) -> torch.Tensor:
        t: torch.Tensor = self.torch.from_numpy(a).to(self.device)
        return t

    def scores(self, q0: int, q1: int, c0: int, c1: int) -> torch.Tensor:
        if self.v is not None:
            out: torch.Tensor = self.v[q0:q1] @ self.c[c0:c1].T
            return out
        s = self.scorer.prepared_block([q[q0:q1] for q in self.queries], self.c[c0:c1], self.torch)
        check_block(s, (q1 - q0, c1 - c0), self.scorer.name, self.torch)
        out = s.to(self.c.dtype)
        return out

    def set_scores(self, q0: int, q1: int, ids: np.ndarray) -> np.ndarray:
        idx = self._to_device(ids)
        if self.v is None:
            return _rows_one_by_one(
                self.scorer, self.queries, self.c, idx, q0, self.torch, _tensor_as_float64
            )
        s = self.torch.einsum("bd,bmd->bm", self.v[q0:q1], self.c[idx])
        out: np.ndarray = s.cpu().numpy()
        return out

    def merge_best(
        self, s: torch.Tensor, c0: int, correct: CorrectIndex, best: BestCorrect
    ) -> None:
        n, w = s.shape
        clab = self._to_device(correct.candidate_labels[c0 : c0 + w])
        qlab = self._to_device(correct.query_labels[best.q0 : best.q0 + n])
        mask = clab[None, :] == qlab[:, None]
        masked = s.masked_fill(~mask, float("-inf"))
        val_t, col_t = masked.max(dim=1)
        ties = (masked == val_t[:, None]).sum(dim=1).cpu().numpy()
        rows = np.flatnonzero(mask.any(dim=1).cpu().numpy())
        val = val_t.double().cpu().numpy()
        col = col_t.cpu().numpy().astype(np.int64) + c0
        key = tie_keys(best.q_ids[rows], col[rows], best.seed)
        for j, i in enumerate(rows):
            if ties[i] > 1:  # several correct candidates share the best score: lowest key wins
                tied = (masked[i] == val_t[i]).nonzero()[:, 0].cpu().numpy() + c0
                keys = tie_keys(best.q_ids[i], tied, best.seed)
                col[i], key[j] = tied[np.argmin(keys)], keys.min()
        best.offer(rows, val[rows], key, col[rows])

    def block_stats(self, s: torch.Tensor, best: BestCorrect, c0: int, k: int) -> BlockStats:
        b = self.torch.from_numpy(best.value).to(self.device, dtype=s.dtype)[:, None]
        gt = (s > b).sum(dim=1).cpu().numpy().astype(np.int64)
        eq = (s == b).sum(dim=1).cpu().numpy().astype(np.int64)
        return BlockStats(gt, eq, self._topk(s, best, c0, k) if k else None)

    def _topk(self, s: torch.Tensor, best: BestCorrect, c0: int, k: int) -> TopK:
        kk = min(k, s.shape[1])
        vals_t, idx_t = self.torch.topk(s, kk, dim=1)
        exact = (s >= vals_t[:, -1:]).sum(dim=1).cpu().numpy() == kk
        cols = idx_t.cpu().numpy().astype(np.int64) + c0
        keys = tie_keys(best.q_ids[:, None], cols, best.seed)
        top = sorted_topk(vals_t.cpu().numpy(), cols, keys)
        for i in np.flatnonzero(~exact).tolist():
            top.values[i], top.columns[i], top.keys[i] = exact_row_topk(
                self.row(s, i), int(best.q_ids[i]), c0, kk, best.seed
            )
        return pad(top, k)

    def row(self, s: torch.Tensor, i: int) -> np.ndarray:
        out: np.ndarray = s[i].cpu().numpy()
        return out
