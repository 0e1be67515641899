"""Zero-shot retrieval scoring: scorers, and the rank of each query's first correct candidate.

Scorers
-------
A query is a tuple of embeddings (one ``[N, d]`` array per query modality); a candidate is one
``d``-vector of the target modality.

* ``mip`` (Symile): ``score = Σ_k Π_j q_j[k] · c[k]``, the multilinear inner product of all query
  embeddings and the candidate.
* ``pairwise`` (CLIP): the sum of dot products over every pair of modalities, query–query pairs
  included (``x·y + x·z + y·z`` for queries ``y, z`` and candidate ``x``).

Both are one matmul of a *combined* query vector against the candidates: ``mip`` combines by
elementwise product, ``pairwise`` by sum, plus a per-query constant (the query–query dot
products) that shifts every candidate of a query equally and so never changes a rank. A
``Scorer`` therefore supplies ``combine`` (queries -> ``[N, d]``) and optionally ``offset``
(queries -> ``[N]``), or a full ``score(queries, candidates) -> [n, m]`` function for scorers
that are not of that form (slower: no torch path, and per-query candidate sets score row by
row). Register one with ``register_scorer``; third-party packages can also expose a
``Scorer`` through the entry-point group ``symile_bench.scorers``.

Correctness and ranks
---------------------
Shared pool (``rank_candidates``): every query ranks the same candidates; candidate ``c`` has an
integer label and query ``q`` a target label; ``c`` is correct for ``q`` when the labels match.
XOR: label = index of the b vector (all 2^d of them). M3: label = image class, so a query is
correct at rank 1 when the top image has the query's class. Per-query sets
(``rank_candidate_sets``, MIMIC): query ``q`` ranks ``candidate_ids[q]`` (e.g. 10 ids) with the
correct ones marked. The rank of a query is the 1-based position of its first correct
candidate in the order defined below.

Tie rule
--------
Candidates are ordered by score, descending; among exactly equal scores, by
``tie_keys(query_index, candidate_index, tie_seed)`` ascending, a splitmix64 hash of the pair
(``candidate_index`` is the position in ``candidates`` for a shared pool and the column in
``candidate_ids`` for per-query sets; ``query_index`` is the row in the query arrays). The hash
is a bijection of the pair, so the order is total and deterministic, and among tied candidates
it is a pseudo-random permutation drawn independently for each query. Hence an uninformative
encoder (all scores equal) ranks every query's candidates uniformly at random and scores
chance — whereas "lower index first" would score 1.0 whenever the correct candidate is stored
first (as in per-query sets) and "ties count against" would score 0. With real-valued
embeddings ties are rare, but float32 scores over tens of thousands of candidates do produce
some, so they are resolved exactly, never approximately.

Consequently ``rank = 1 + #{c: s_c > s*} + #{c: s_c = s*, key_c < key*}`` where ``(s*, key*)``
is the best correct candidate (highest score, then lowest key).

Memory and speed
----------------
The ``queries × candidates`` matrix is never materialised when large: queries are processed in
chunks sized by ``memory_budget`` (bytes of one block of scores; default 256 MiB); if a single
row of scores does not fit, candidates are chunked too (scores are then computed twice: once
for the best correct score, once for the counts and the top-k). Per block we keep only the
best correct score (gathered at the correct candidates' columns), two counts per query (scores
above it, scores equal to it; tie hashes are computed only for rows with an exact tie) and a
top-k of candidate indices (default k = 10). Both come from one compiled pass per row
(``rowstats``, numba, no GIL): the strided group maxima, then the exact counts, read from the
few groups that reach the best correct score (a good model) or from the whole row while it is
still in the core's cache (a poor one). The top-k is a two-level selection of the best groups
from their maxima (``_GroupPlan``). Each block's rows are split over the available cores
(``threads``), each thread doing its own matmul with a single-threaded BLAS and then its own
pass, so the work after the matmul runs on every core instead of one;
``benchmarks/harness_scoring.py`` measures the whole against the bare chunked matmul.

Backends
--------
``backend="numpy"`` (default) or ``backend="torch"`` with ``device="cpu"``/``"cuda"`` (default:
cuda when available). The torch path computes score blocks, counts and top-k on the device and
resolves tied rows on the host with the same rule. Ranks are identical to the numpy path except
where two scores are within float rounding of each other (different matmul kernels can order
such near-ties differently); scores agree to float tolerance.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symile_bench.executors import available_cores
from symile_bench.harness.errors import HarnessInputError
from symile_bench.registry import Registry

DEFAULT_TOP_K = 10
DEFAULT_MEMORY_BUDGET = 256 * 2**20
_MIN_QUERY_ROWS = 16  # below this many rows per block, candidates are chunked instead
_POST_BYTES = 16 * 2**20  # the selection works on sub-blocks of about this size
_SMALL_WIDTH = 1024  # below this many candidates per row, sort and count whole rows
_GATHER_CHUNK = 1 << 22  # max correct (query, candidate) pairs gathered at once

Queries = Sequence[np.ndarray]
_U64 = np.uint64
_NO_KEY = np.iinfo(np.uint64).max

# --------------------------------------------------------------------------------------------
# scorers


@dataclass(frozen=True)
class Scorer:
    """How a query tuple and a candidate are scored.

    ``combine(queries) -> [n, d]`` turns the query tuple into one vector per query so that the
    score is ``combine(queries) @ candidate (+ offset(queries))``; ``offset(queries) -> [n]`` is a
    per-query constant (does not affect ranks, only reported scores). A scorer that is not of
    that form gives ``score(queries, candidates) -> [n, m]`` (all pairs) instead.
    """

    name: str
    combine: Callable[[Queries], np.ndarray] | None = None
    offset: Callable[[Queries], np.ndarray] | None = None
    score: Callable[[Queries, np.ndarray], np.ndarray] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.combine is None and self.score is None:
            raise HarnessInputError(
                f"scorer {self.name!r} needs a combine function or a score function"
            )

    def score_matrix(self, queries: Queries, candidates: np.ndarray) -> np.ndarray:
        """All scores ``[n_queries, n_candidates]`` (materialised: for small inputs)."""
        queries, candidates = _check_inputs(queries, candidates, self)
        if self.combine is None:
            return np.asarray(self.score(queries, candidates))
        s = _combine(self, queries) @ candidates.T
        if self.offset is not None:
            s += np.asarray(self.offset(queries), dtype=s.dtype)[:, None]
        return s


def _mip_combine(queries: Queries) -> np.ndarray:
    out = np.array(queries[0], copy=True)
    for q in queries[1:]:
        out *= q
    return out


def _pairwise_combine(queries: Queries) -> np.ndarray:
    out = np.array(queries[0], copy=True)
    for q in queries[1:]:
        out += q
    return out


def _pairwise_offset(queries: Queries) -> np.ndarray:
    out = np.zeros(len(queries[0]), dtype=np.result_type(*queries))
    for i in range(len(queries)):
        for j in range(i + 1, len(queries)):
            out += np.einsum("nd,nd->n", queries[i], queries[j])
    return out


def _loaded_scorer(obj: object) -> Scorer:
    if not isinstance(obj, Scorer):
        raise HarnessInputError(
            "an entry point of group symile_bench.scorers must load a "
            f"symile_bench.harness.scoring.Scorer, got {type(obj).__name__}"
        )
    return obj


SCORERS: Registry[Scorer] = Registry(
    "scorer",
    group="symile_bench.scorers",
    option="scoring",
    load=_loaded_scorer,
    error=HarnessInputError,
    hint="Register one with symile_bench.harness.register_scorer.",
)


def register_scorer(
    name: str,
    *,
    combine: Callable[[Queries], np.ndarray] | None = None,
    offset: Callable[[Queries], np.ndarray] | None = None,
    score: Callable[[Queries, np.ndarray], np.ndarray] | None = None,
    description: str = "",
    overwrite: bool = False,
) -> Scorer:
    """Register a scorer under ``name`` (then usable as ``scorer=name`` / ``model.scoring``)."""
    scorer = Scorer(name, combine=combine, offset=offset, score=score, description=description)
    return SCORERS.register(name, scorer, overwrite=overwrite)


def get_scorer(scorer: str | Scorer) -> Scorer:
    """A registered scorer by name (a ``Scorer`` is returned unchanged)."""
    return scorer if isinstance(scorer, Scorer) else SCORERS.get(scorer)


def scorer_names() -> list[str]:
    return SCORERS.names()


register_scorer(
    "mip",
    combine=_mip_combine,
    description="Symile: multilinear inner product Σ_k Π_j q_j[k] c[k]",
)
register_scorer(
    "pairwise",
    combine=_pairwise_combine,
    offset=_pairwise_offset,
    description="CLIP: sum of dot products over all pairs of modalities",
)


def score_matrix(
    queries: Queries, candidates: np.ndarray, scorer: str | Scorer = "mip"
) -> np.ndarray:
    """All scores ``[n_queries, n_candidates]`` for small inputs (materialises the matrix)."""
    return get_scorer(scorer).score_matrix(queries, candidates)


# --------------------------------------------------------------------------------------------
# tie keys


def tie_keys(query_index: Any, candidate_index: Any, tie_seed: int = 0) -> np.ndarray:
    """The tie-break key of (query, candidate) pairs: splitmix64 of ``query << 32 | candidate``
    xor a seed-derived constant (broadcasts; returns uint64). Lower key ranks first among equal
    scores."""
    q = np.asarray(query_index, dtype=np.int64).astype(_U64)
    c = np.asarray(candidate_index, dtype=np.int64).astype(_U64)
    x = np.atleast_1d((q << _U64(32)) | c) ^ _seed_constant(tie_seed)
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    x ^= x >> _U64(31)
    return x if np.ndim(query_index) or np.ndim(candidate_index) else x.reshape(())


def _seed_constant(seed: int) -> np.uint64:
    x = np.array([int(seed) & 0xFFFFFFFFFFFFFFFF], dtype=_U64) + _U64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    return (x ^ (x >> _U64(31)))[0]


# --------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True)
class Ranking:
    """Per-query outcome of a retrieval run.

    ``ranks``: 1-based rank of the first correct candidate (int64 ``[N]``). ``top_k``: candidate
    indices (into ``candidates``), best first (int64 ``[N, k]``); ``top_k_scores`` their scores
    (offsets included). ``n_candidates`` / ``n_correct``: per query, for chance levels.
    """

    ranks: np.ndarray
    top_k: np.ndarray
    top_k_scores: np.ndarray
    n_candidates: np.ndarray
    n_correct: np.ndarray
    scorer: str
    tie_seed: int
    backend: str
    device: str = "cpu"
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ranks)

    def chance_top1(self) -> float:
        """Expected top-1 accuracy of a random ranking: mean of n_correct / n_candidates."""
        return float(np.mean(self.n_correct / self.n_candidates)) if len(self) else math.nan

    def chance_topk(self, k: int) -> float:
        """Expected top-k accuracy of a random ranking (hypergeometric, per query, averaged)."""
        if not len(self):
            return math.nan
        n = self.n_candidates.astype(np.float64)
        wrong = n - self.n_correct
        miss = np.ones_like(n)
        for i in range(k):
            miss *= np.clip((wrong - i) / np.maximum(n - i, 1), 0.0, 1.0)
        return float(np.mean(1.0 - miss))


# --------------------------------------------------------------------------------------------
# validation


def _check_inputs(
    queries: Queries, candidates: np.ndarray, scorer: Scorer
) -> tuple[list[np.ndarray], np.ndarray]:
    if isinstance(queries, np.ndarray) and queries.ndim == 2:
        queries = [queries]
    if not isinstance(queries, Sequence) or isinstance(queries, str) or not len(queries):
        raise HarnessInputError(
            "queries must be a list with one [N, d] embedding array per query modality"
        )
    qs = [np.asarray(q) for q in queries]
    c = np.asarray(candidates)
    arrays = [*qs, c]
    if any(a.dtype.kind not in "fiub" for a in arrays):
        raise HarnessInputError("embeddings must be numeric arrays (float32 or float64)")
    dtype = np.result_type(*[a.dtype for a in arrays])
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    qs = [np.ascontiguousarray(q, dtype=dtype) for q in qs]
    c = np.ascontiguousarray(c, dtype=dtype)
    for i, q in enumerate(qs):
        if q.ndim != 2:
            raise HarnessInputError(f"queries[{i}] must be 2-D [N, d], got shape {q.shape}")
        if len(q) != len(qs[0]):
            raise HarnessInputError(
                f"queries[{i}] has {len(q)} rows but queries[0] has {len(qs[0])}: the query "
                "modalities must be aligned row by row"
            )
        if scorer.combine is not None and q.shape[1] != qs[0].shape[1]:
            raise HarnessInputError(
                f"queries[{i}] has dimension {q.shape[1]} but queries[0] has {qs[0].shape[1]}: "
                f"scorer {scorer.name!r} needs one embedding size"
            )
        if not np.isfinite(q).all():
            raise HarnessInputError(f"queries[{i}] contains NaN or infinite values")
    if c.ndim != 2:
        raise HarnessInputError(f"candidates must be 2-D [M, d], got shape {c.shape}")
    if scorer.combine is not None and c.shape[1] != qs[0].shape[1]:
        raise HarnessInputError(
            f"candidates have dimension {c.shape[1]} but queries have {qs[0].shape[1]}"
        )
    if not np.isfinite(c).all():
        raise HarnessInputError("candidates contain NaN or infinite values")
    return qs, c


def _combine(scorer: Scorer, queries: list[np.ndarray]) -> np.ndarray:
    v = np.ascontiguousarray(scorer.combine(queries), dtype=queries[0].dtype)
    if v.shape[0] != len(queries[0]) or v.ndim != 2:
        raise HarnessInputError(
            f"scorer {scorer.name!r}: combine returned shape {v.shape}, expected "
            f"({len(queries[0])}, d)"
        )
    return v


def _offsets(scorer: Scorer, queries: list[np.ndarray]) -> np.ndarray | None:
    if scorer.offset is None or scorer.combine is None:
        return None
    return np.asarray(scorer.offset(queries), dtype=np.float64).reshape(len(queries[0]))


def _check_top_k(top_k: int) -> int:
    if not isinstance(top_k, (int, np.integer)) or top_k < 0:
        raise HarnessInputError(f"top_k must be a non-negative integer, got {top_k!r}")
    return int(top_k)


def _check_budget(memory_budget: int) -> int:
    if not isinstance(memory_budget, (int, np.integer)) or memory_budget < 1024:
        raise HarnessInputError(
            f"memory_budget must be an integer number of bytes >= 1024, got {memory_budget!r}"
        )
    return int(memory_budget)


def _check_tie_seed(tie_seed: int) -> int:
    if not isinstance(tie_seed, (int, np.integer)):
        raise HarnessInputError(f"tie_seed must be an integer, got {tie_seed!r}")
    return int(tie_seed)


def _as_int_vector(x: Any, name: str, n: int) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1 or len(a) != n:
        raise HarnessInputError(f"{name} must be a 1-D array of length {n}, got shape {a.shape}")
    if a.dtype.kind not in "iub":
        raise HarnessInputError(f"{name} must hold integers, got dtype {a.dtype}")
    return a.astype(np.int64)


# --------------------------------------------------------------------------------------------
# block engines


class _NumpyEngine:
    name = "numpy"
    device = "cpu"

    def __init__(self, v: np.ndarray | None, c: np.ndarray, scorer: Scorer, queries) -> None:
        self.v, self.c, self.scorer, self.queries = v, c, scorer, queries
        self._local = threading.local()  # one score buffer per scoring thread

    def scores(self, q0: int, q1: int, c0: int, c1: int) -> np.ndarray:
        shape = (q1 - q0, c1 - c0)
        if self.v is None:
            s = np.asarray(
                self.scorer.score([q[q0:q1] for q in self.queries], self.c[c0:c1]),
                dtype=self.c.dtype,
            )
            if s.shape != shape:
                raise HarnessInputError(
                    f"scorer {self.scorer.name!r}: score returned shape {s.shape}, expected {shape}"
                )
            if not np.isfinite(s).all():
                raise HarnessInputError(f"scorer {self.scorer.name!r} returned NaN or inf scores")
            return s
        buf = getattr(self._local, "buf", None)
        if buf is None or buf.size < shape[0] * shape[1]:
            buf = self._local.buf = np.empty(shape[0] * shape[1], dtype=self.c.dtype)
        out = buf[: shape[0] * shape[1]].reshape(shape)
        np.matmul(self.v[q0:q1], self.c[c0:c1].T, out=out)
        return out

    @staticmethod
    def gather(s: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return s[rows, cols]

    @staticmethod
    def row(s: np.ndarray, i: int) -> np.ndarray:
        return s[i]

    def reduce(
        self, s: np.ndarray, best: np.ndarray, q_ids: np.ndarray, c0: int, k: int, seed: int
    ):
        """Per row: #scores > best, #scores == best, and the top-k (vals, cols, keys) or None.

        See ``_GroupPlan``: full-row passes run on cache-sized sub-blocks of rows, the selection
        work on small gathered arrays for the whole block at once."""
        n, w = s.shape
        best = best.astype(s.dtype)  # exact: best is one of the block's own values
        kk = min(k, w)
        plan = _GroupPlan.make(w, kk)
        if plan is None:
            return _reduce_small(s, best, q_ids, c0, kk, k, seed)
        gt = np.empty(n, dtype=np.int64)
        eq = np.empty(n, dtype=np.int64)
        vals = np.empty((n, plan.width), dtype=s.dtype)
        cols = np.empty((n, plan.width), dtype=np.int64)
        runner_up = np.empty(n, dtype=s.dtype)
        step = max(1, min(n, _POST_BYTES // max(1, w * s.itemsize)))

        for r0 in range(0, n, step):
            sl = slice(r0, min(n, r0 + step))
            plan.scan(s[sl], best[sl], gt[sl], eq[sl], vals[sl], cols[sl], runner_up[sl])
        if not kk:
            return gt, eq, None
        return gt, eq, _topk_from_gathered(s, vals, cols, runner_up, q_ids, c0, kk, k, seed)


def _order_rows(vals: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Per row, positions sorted by value descending then key ascending."""
    return np.lexsort((keys, -vals), axis=1)


def _exact_row_topk(v: np.ndarray, q: int, c0: int, k: int, seed: int):
    w = len(v)
    kk = min(k, w)
    thr = np.partition(v, w - kk)[w - kk]
    above = np.flatnonzero(v > thr)
    tied = np.flatnonzero(v == thr)
    need = kk - len(above)
    if need < len(tied):
        tk = tie_keys(q, tied + c0, seed)
        tied = tied[np.argpartition(tk, need - 1)[:need]] if need > 0 else tied[:0]
    chosen = np.concatenate([above, tied])
    keys = tie_keys(q, chosen + c0, seed)
    order = np.lexsort((keys, -v[chosen]))
    chosen = chosen[order]
    return v[chosen], chosen + c0, keys[order]


def _pad(vals, cols, keys, k):
    n = vals.shape[0]
    if vals.shape[1] == k:
        return vals, cols, keys
    pad = k - vals.shape[1]
    return (
        np.concatenate([vals, np.full((n, pad), -np.inf, dtype=vals.dtype)], axis=1),
        np.concatenate([cols, np.full((n, pad), -1, dtype=np.int64)], axis=1),
        np.concatenate([keys, np.full((n, pad), _NO_KEY, dtype=_U64)], axis=1),
    )


def _reduce_small(s, best, q_ids, c0, kk, k, seed):
    """Narrow blocks: count and sort whole rows."""
    b = best[:, None]
    gt = np.count_nonzero(s > b, axis=1).astype(np.int64)
    eq = np.count_nonzero(s == b, axis=1).astype(np.int64)
    if not kk:
        return gt, eq, None
    n, w = s.shape
    rows = np.arange(n)[:, None]
    keys = tie_keys(q_ids[:, None], np.arange(c0, c0 + w)[None, :], seed)
    order = _order_rows(s, keys)[:, :kk]
    return gt, eq, _pad(s[rows, order], order.astype(np.int64) + c0, keys[rows, order], k)


@dataclass(frozen=True)
class _GroupPlan:
    """Strided column groups for one block width, selected in two levels.

    Columns ``[0, ng * L)`` form ``ng`` groups (group g = columns g, g + ng, g + 2 ng, ...:
    strided so that all group maxima come from one sequential pass over each row); the
    ``tail`` columns past them are always gathered. Groups form ``ns`` super-groups of ``m``
    (super-group s = groups s, s + ns, ...; the ``ng - ns * m`` leftover groups are always
    candidates). Per row: the ``kg = max(k, 8)`` super-groups with the largest maxima, then among
    their groups the ``kg`` groups with the largest maxima, are gathered (plus the tail).
    ``runner_up`` bounds every element left out (the largest maximum of a super-group or group
    not taken). Hence the k best gathered elements are the row's top-k when the k-th of them is
    > runner_up and not tied inside the gathered set (else the row is solved on its own).
    """

    length: int
    ng: int
    kg: int
    tail: int
    m: int
    ns: int

    @property
    def width(self) -> int:
        return self.kg * self.length + self.tail

    @staticmethod
    def make(w: int, kk: int) -> _GroupPlan | None:
        kg = max(kk, 8)
        length = int(min(64, max(8, round(math.sqrt(w) / 14))))
        ng = w // length
        if w <= _SMALL_WIDTH or ng < kg + 2:
            return None
        m = int(max(1, round(math.sqrt(ng / kg))))
        while m > 1 and ng // m < kg + 2:
            m -= 1
        return _GroupPlan(length=length, ng=ng, kg=kg, tail=w - ng * length, m=m, ns=ng // m)

    def scan(self, s, best, gt, eq, vals, cols, runner_up) -> None:
        """Fill the outputs for the rows of ``s`` (a sub-block): exact counts and group maxima
        from one compiled pass (``rowstats``), then the two-level selection on the maxima."""
        from symile_bench.harness.rowstats import row_stats  # numba: imported when first used

        n, w = s.shape
        kg, ng, ns, m, length = self.kg, self.ng, self.ns, self.m, self.length
        rows = np.arange(n)[:, None]
        gmax = row_stats(s, best, ng, length, gt, eq)
        if m > 1:
            smax = gmax[:, : ns * m].reshape(n, m, ns).max(axis=1)
            p1 = np.argpartition(smax, ns - kg - 1, axis=1)
            outer = smax[rows[:, 0], p1[:, ns - kg - 1]]
            cand = (p1[:, ns - kg :, None] + ns * np.arange(m)).reshape(n, kg * m)
            if ng > ns * m:
                extra = np.arange(ns * m, ng)
                cand = np.concatenate([cand, np.broadcast_to(extra, (n, len(extra)))], axis=1)
            cmax = gmax[rows, cand]
            p2 = np.argpartition(cmax, cand.shape[1] - kg - 1, axis=1)
            inner = cmax[rows[:, 0], p2[:, -kg - 1]]
            runner_up[:] = np.maximum(outer, inner)
            sel = cand[rows, p2[:, -kg:]]
        else:
            p = np.argpartition(gmax, ng - kg - 1, axis=1)
            runner_up[:] = gmax[rows[:, 0], p[:, ng - kg - 1]]
            sel = p[:, ng - kg :]
        c = (sel[:, :, None] + ng * np.arange(length)).reshape(n, kg * length)
        if self.tail:
            tail = np.arange(ng * length, w)
            c = np.concatenate([c, np.broadcast_to(tail, (n, self.tail))], axis=1)
        cols[:] = c
        vals[:] = np.take(s.reshape(-1), c + rows * w)


def _topk_from_gathered(s, vals, cols, runner_up, q_ids, c0, kk, k, seed):
    n = len(vals)
    rows = np.arange(n)[:, None]
    top = np.argpartition(vals, vals.shape[1] - kk, axis=1)[:, -kk:]
    top_vals = np.take_along_axis(vals, top, axis=1)
    kth = top_vals.min(axis=1)
    exact = (np.count_nonzero(vals >= kth[:, None], axis=1) == kk) & (kth > runner_up)
    top_cols = np.take_along_axis(cols, top, axis=1) + c0
    keys = tie_keys(q_ids[:, None], top_cols, seed)
    order = _order_rows(top_vals, keys)
    out = [top_vals[rows, order], top_cols[rows, order], keys[rows, order]]
    for i in np.flatnonzero(~exact):
        out[0][i], out[1][i], out[2][i] = _exact_row_topk(s[i], int(q_ids[i]), c0, kk, seed)
    return _pad(*out, k)


class _TorchEngine:
    name = "torch"

    def __init__(self, v: np.ndarray, c: np.ndarray, device: str | None) -> None:
        try:
            import torch
        except ImportError:
            from symile_bench.errors import MissingDependencyError

            raise MissingDependencyError(
                "backend='torch' needs PyTorch: pip install 'symile-bench[audio]' (or torch)"
            ) from None
        self.torch = torch
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise HarnessInputError(
                f"device {device!r} requested but CUDA is not available; use device='cpu'"
            )
        self.device = str(device)
        self.v = torch.from_numpy(v).to(self.device)
        self.c = torch.from_numpy(c).to(self.device)

    def scores(self, q0, q1, c0, c1):
        return self.v[q0:q1] @ self.c[c0:c1].T

    def set_labels(self, cand_labels: np.ndarray, query_labels: np.ndarray) -> None:
        self.clab = self.torch.from_numpy(cand_labels).to(self.device)
        self.qlab = self.torch.from_numpy(query_labels).to(self.device)

    def merge_best(self, s, q0, c0, seed, best, best_key, best_col) -> None:
        """Like ``_merge_best``, on the device: a label mask instead of gathered columns."""
        n, w = s.shape
        mask = self.clab[None, c0 : c0 + w] == self.qlab[q0 : q0 + n, None]
        masked = s.masked_fill(~mask, float("-inf"))
        val_t, col_t = masked.max(dim=1)
        ties_t = (masked == val_t[:, None]).sum(dim=1)
        has = mask.any(dim=1).cpu().numpy()
        val = val_t.double().cpu().numpy()
        col = col_t.cpu().numpy().astype(np.int64) + c0
        ties = ties_t.cpu().numpy()
        rows = np.flatnonzero(has)
        key = tie_keys(q0 + rows, col[rows], seed)
        for j, i in enumerate(rows):
            if ties[i] > 1:  # several correct candidates share the best score: lowest key wins
                tied = (masked[i] == val_t[i]).nonzero()[:, 0].cpu().numpy() + c0
                keys = tie_keys(q0 + i, tied, seed)
                col[i], key[j] = tied[np.argmin(keys)], keys.min()
        cur = best[rows]
        better = (val[rows] > cur) | ((val[rows] == cur) & (key < best_key[rows]))
        upd = rows[better]
        best[upd] = val[upd]
        best_key[upd] = key[better]
        best_col[upd] = col[upd]

    def gather(self, s, rows, cols):
        t = self.torch
        r = t.from_numpy(rows).to(self.device)
        c = t.from_numpy(cols).to(self.device)
        return s[r, c].cpu().numpy()

    @staticmethod
    def row(s, i):
        return s[i].cpu().numpy()

    def counts(self, s, best):
        b = self.torch.from_numpy(best).to(self.device, dtype=s.dtype)[:, None]
        gt = (s > b).sum(dim=1)
        eq = (s == b).sum(dim=1)
        return gt.cpu().numpy().astype(np.int64), eq.cpu().numpy().astype(np.int64)

    def reduce(self, s, best, q_ids, c0, k, seed):
        gt, eq = self.counts(s, best)
        return gt, eq, (self.topk(s, q_ids, c0, k, seed) if k else None)

    def topk(self, s, q_ids, c0, k, seed):
        n, w = s.shape
        kk = min(k, w)
        vals_t, idx_t = self.torch.topk(s, kk, dim=1)
        ge = (s >= vals_t[:, -1:]).sum(dim=1)
        vals = vals_t.cpu().numpy()
        cols = idx_t.cpu().numpy().astype(np.int64)
        exact = ge.cpu().numpy() == kk
        keys = tie_keys(q_ids[:, None], cols + c0, seed)
        rows = np.arange(n)[:, None]
        order = _order_rows(vals, keys)
        vals, cols, keys = vals[rows, order], cols[rows, order] + c0, keys[rows, order]
        for i in np.flatnonzero(~exact):
            vals[i], cols[i], keys[i] = _exact_row_topk(self.row(s, i), int(q_ids[i]), c0, kk, seed)
        return _pad(vals, cols, keys, k)


def _make_engine(backend, device, v, c, scorer, queries):
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise HarnessInputError(
                f"device {device!r} needs backend='torch' (the numpy backend runs on the cpu)"
            )
        return _NumpyEngine(v, c, scorer, queries)
    if backend == "torch":
        if v is None:
            raise HarnessInputError(
                f"scorer {scorer.name!r} has no combine step, so it cannot run on the torch "
                "backend; use backend='numpy'"
            )
        return _TorchEngine(v, c, device)
    raise HarnessInputError(f"unknown backend {backend!r}: use 'numpy' or 'torch'")


# --------------------------------------------------------------------------------------------
# shared candidate pool


def rank_candidates(
    queries: Queries,
    candidates: np.ndarray,
    *,
    query_labels: Any,
    candidate_labels: Any = None,
    scorer: str | Scorer = "mip",
    top_k: int = DEFAULT_TOP_K,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    backend: str = "numpy",
    device: str | None = None,
    tie_seed: int = 0,
    on_progress: Callable[[int], None] | None = None,
    threads: int | None = None,
) -> Ranking:
    """Rank one shared pool of candidates for every query.

    ``queries``: one ``[N, d]`` array per query modality. ``candidates``: ``[M, d]``.
    ``candidate_labels``: int ``[M]`` (default ``arange(M)``, i.e. the label is the index);
    ``query_labels``: int ``[N]``, the label of the correct candidates. Every query must have at
    least one correct candidate. Returns ranks (tie rule in the module docstring) and the top-k
    candidate indices per query. ``on_progress(n)`` is called after each block of n queries.
    ``threads`` (numpy backend, combine scorers): each block's rows are split over this many
    threads (default: the cores available); results do not depend on it.
    """
    sc = get_scorer(scorer)
    qs, c = _check_inputs(queries, candidates, sc)
    n, m = len(qs[0]), len(c)
    k = min(_check_top_k(top_k), m)
    budget = _check_budget(memory_budget)
    seed = _check_tie_seed(tie_seed)
    threads = _check_threads(threads)
    if m == 0:
        raise HarnessInputError("candidates is empty: nothing to rank")
    qlab = _as_int_vector(query_labels, "query_labels", n)
    clab = (
        np.arange(m)
        if candidate_labels is None
        else _as_int_vector(candidate_labels, "candidate_labels", m)
    )
    # candidates grouped by label; within a label, by index (stable sort)
    order = np.argsort(clab, kind="stable")
    uniq, count = np.unique(clab[order], return_counts=True)
    pos = np.searchsorted(uniq, qlab)
    pos_c = np.minimum(pos, len(uniq) - 1)
    missing = uniq[pos_c] != qlab
    if missing.any():
        bad = np.flatnonzero(missing)
        raise HarnessInputError(
            f"{len(bad)} of {n} queries have no correct candidate (e.g. query {bad[0]}: label "
            f"{qlab[bad[0]]} does not occur in candidate_labels); every query_labels value must "
            "be the label of at least one candidate"
        )
    # (label position, candidate index) sorted, so per-query correct columns in [c0, c1)
    # are one searchsorted range
    combo = np.repeat(np.arange(len(uniq), dtype=np.int64), count) * m + order
    n_correct = count[pos_c].astype(np.int64)

    v = _combine(sc, qs) if sc.combine is not None else None
    engine = _make_engine(backend, device, v, c, sc, qs)
    if isinstance(engine, _TorchEngine):
        engine.set_labels(clab, qlab)
    itemsize = c.dtype.itemsize
    if m * itemsize * min(max(n, 1), _MIN_QUERY_ROWS) <= budget:
        cblock = m
        qblock = max(1, min(max(n, 1), budget // (m * itemsize)))
    else:
        qblock = min(max(n, 1), _MIN_QUERY_ROWS)
        cblock = max(1, budget // (qblock * itemsize))
    col_chunks = [(c0, min(m, c0 + cblock)) for c0 in range(0, m, cblock)]

    ranks = np.empty(n, dtype=np.int64)
    top_idx = np.empty((n, k), dtype=np.int64)
    top_val = np.empty((n, k), dtype=np.float64)

    def rank_rows(q0: int, q1: int) -> None:
        """Ranks and top-k of queries [q0, q1), written into their rows of the outputs."""
        q_ids = np.arange(q0, q1, dtype=np.int64)
        lab_pos = pos_c[q0:q1].astype(np.int64) * m
        cached = None
        best = np.full(q1 - q0, -np.inf)
        best_key = np.full(q1 - q0, _NO_KEY, dtype=_U64)
        best_col = np.full(q1 - q0, -1, dtype=np.int64)
        for c0, c1 in col_chunks:
            s = engine.scores(q0, q1, c0, c1)
            if len(col_chunks) == 1:
                cached = s
            if isinstance(engine, _TorchEngine):
                engine.merge_best(s, q0, c0, seed, best, best_key, best_col)
            else:
                lo = np.searchsorted(combo, lab_pos + c0)
                hi = np.searchsorted(combo, lab_pos + c1)
                _merge_best(engine, s, q_ids, c0, lo, hi, combo, m, seed, best, best_key, best_col)
        gt = np.zeros(q1 - q0, dtype=np.int64)
        tv = tc = tk = None
        for c0, c1 in col_chunks:
            s = cached if cached is not None else engine.scores(q0, q1, c0, c1)
            g, e, part = engine.reduce(s, best, q_ids, c0, k, seed)
            gt += g
            own = (best_col >= c0) & (best_col < c1)
            tie_rows = np.flatnonzero((e > 1) | ((e == 1) & ~own))
            for i in tie_rows:
                row = engine.row(s, i)
                tied = np.flatnonzero(row == row.dtype.type(best[i])) + c0
                gt[i] += np.count_nonzero(tie_keys(q0 + i, tied, seed) < best_key[i])
            if k:
                if tv is None:
                    tv, tc, tk = part
                else:
                    tv, tc, tk = _merge_topk((tv, tc, tk), part, k)
        ranks[q0:q1] = gt + 1
        if k:
            top_idx[q0:q1] = tc
            top_val[q0:q1] = tv

    slices = 1 if isinstance(engine, _TorchEngine) or v is None else threads
    with _RowSlices(slices) as run:
        for q0 in range(0, n, qblock):
            q1 = min(n, q0 + qblock)
            run(rank_rows, q0, q1)
            if on_progress is not None:
                on_progress(q1 - q0)
    offsets = _offsets(sc, qs)
    if offsets is not None and k:
        top_val += offsets[:, None]
    return Ranking(
        ranks=ranks,
        top_k=top_idx,
        top_k_scores=top_val,
        n_candidates=np.full(n, m, dtype=np.int64),
        n_correct=n_correct,
        scorer=sc.name,
        tie_seed=seed,
        backend=engine.name,
        device=engine.device,
        extra={"query_block": qblock, "candidate_block": cblock},
    )


def _check_threads(threads: int | None) -> int:
    if threads is None:
        return available_cores()
    if not isinstance(threads, (int, np.integer)) or threads < 1:
        raise HarnessInputError(f"threads must be a positive integer, got {threads!r}")
    return int(threads)


class _RowSlices:
    """Runs a block's work as ``slices`` contiguous row slices in parallel threads, each doing
    its own matmul (BLAS held to one thread, so no BLAS worker spins on a core the
    post-processing needs) and its own ranking pass (compiled, without the GIL). Every core
    then works on the whole pipeline instead of on the matmul alone. Slices of a block
    share its memory budget; results are the same for any number of slices (rows are
    independent)."""

    def __init__(self, slices: int) -> None:
        self.slices = slices
        self._pool: ThreadPoolExecutor | None = None
        self._limits = None

    def __enter__(self) -> Callable[[Callable[[int, int], None], int, int], None]:
        if self.slices > 1:
            from threadpoolctl import threadpool_limits

            self._limits = threadpool_limits(1, user_api="blas")
            self._pool = ThreadPoolExecutor(self.slices, thread_name_prefix="symile-scoring")
        return self._run

    def _run(self, fn: Callable[[int, int], None], q0: int, q1: int) -> None:
        parts = min(self.slices, max(1, (q1 - q0) // _MIN_QUERY_ROWS))
        if parts < 2 or self._pool is None:
            fn(q0, q1)
            return
        cuts = [q0 + (q1 - q0) * i // parts for i in range(parts + 1)]
        for future in [self._pool.submit(fn, a, b) for a, b in itertools.pairwise(cuts)]:
            future.result()

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        if self._limits is not None:
            self._limits.restore_original_limits()


def _merge_best(engine, s, q_ids, c0, lo, hi, combo, m, seed, best, best_key, best_col):
    """Update the best correct (score desc, key asc) per row with the columns [c0, ...) of s."""
    cnt = hi - lo
    bounds = np.concatenate([[0], np.cumsum(cnt)])
    # gather in row groups of at most _GATHER_CHUNK pairs
    r0 = 0
    n = len(cnt)
    while r0 < n:
        r1 = int(np.searchsorted(bounds, bounds[r0] + _GATHER_CHUNK, side="right")) - 1
        r1 = min(n, max(r1, r0 + 1))
        c = cnt[r0:r1]
        total = int(c.sum())
        if total:
            local_rows = np.repeat(np.arange(r0, r1), c)
            starts = np.repeat(lo[r0:r1] - (bounds[r0:r1] - bounds[r0]), c)
            cols = combo[starts + np.arange(total)] % m - c0
            vals = engine.gather(s, local_rows, cols).astype(np.float64)
            has = c > 0
            seg = (bounds[r0:r1] - bounds[r0])[has]
            rows_has = np.arange(r0, r1)[has]
            seg_best = np.maximum.reduceat(vals, seg)
            is_best = vals == np.repeat(seg_best, c[has])
            sel = np.flatnonzero(is_best)
            keys = tie_keys(q_ids[local_rows[sel]], cols[sel] + c0, seed)
            ordr = np.lexsort((keys, local_rows[sel]))
            sr = local_rows[sel][ordr]
            firsts = np.flatnonzero(np.r_[True, sr[1:] != sr[:-1]])
            cand_key = keys[ordr][firsts]
            cand_col = cols[sel][ordr][firsts] + c0
            cur = best[rows_has]
            better = (seg_best > cur) | ((seg_best == cur) & (cand_key < best_key[rows_has]))
            upd = rows_has[better]
            best[upd] = seg_best[better]
            best_key[upd] = cand_key[better]
            best_col[upd] = cand_col[better]
        r0 = r1


def _merge_topk(a, b, k):
    vals = np.concatenate([a[0], b[0]], axis=1)
    cols = np.concatenate([a[1], b[1]], axis=1)
    keys = np.concatenate([a[2], b[2]], axis=1)
    order = _order_rows(vals, keys)[:, :k]
    rows = np.arange(len(vals))[:, None]
    return vals[rows, order], cols[rows, order], keys[rows, order]


# --------------------------------------------------------------------------------------------
# per-query candidate sets


def rank_candidate_sets(
    queries: Queries,
    candidates: np.ndarray,
    candidate_ids: Any,
    correct: Any,
    *,
    scorer: str | Scorer = "mip",
    top_k: int = DEFAULT_TOP_K,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    backend: str = "numpy",
    device: str | None = None,
    tie_seed: int = 0,
    on_progress: Callable[[int], None] | None = None,
) -> Ranking:
    """Rank a separate small candidate set per query (MIMIC: 10 CXRs per (ECG, labs) query).

    ``candidate_ids``: int ``[N, m]`` indices into ``candidates`` ``[M, d]``. ``correct``: int
    ``[N]`` (the column of the correct candidate) or bool ``[N, m]`` (several may be correct).
    Ties are broken by ``tie_keys(query, column)``. ``top_k`` holds candidate indices (values of
    ``candidate_ids``). ``on_progress(n)`` is called after each block of n queries.
    """
    sc = get_scorer(scorer)
    qs, c = _check_inputs(queries, candidates, sc)
    n, big_m = len(qs[0]), len(c)
    ids = np.asarray(candidate_ids)
    if ids.ndim != 2 or len(ids) != n or ids.dtype.kind not in "iu":
        raise HarnessInputError(
            f"candidate_ids must be an integer array [N={n}, m], got shape {ids.shape} "
            f"dtype {ids.dtype}"
        )
    ids = ids.astype(np.int64)
    width = ids.shape[1]
    if width == 0:
        raise HarnessInputError("candidate_ids has no columns: every query needs candidates")
    if ids.size and (ids.min() < 0 or ids.max() >= big_m):
        raise HarnessInputError(
            f"candidate_ids values must index candidates (0..{big_m - 1}); found "
            f"{ids.min()}..{ids.max()}"
        )
    corr = np.asarray(correct)
    if corr.dtype == bool and corr.shape == ids.shape:
        mask = corr
    elif corr.ndim == 1 and len(corr) == n and corr.dtype.kind in "iu":
        if corr.size and (corr.min() < 0 or corr.max() >= width):
            raise HarnessInputError(f"correct column indices must be in 0..{width - 1}")
        mask = np.zeros(ids.shape, dtype=bool)
        mask[np.arange(n), corr.astype(np.int64)] = True
    else:
        raise HarnessInputError(
            f"correct must be an int array [N={n}] of columns or a bool array {ids.shape}, got "
            f"shape {corr.shape} dtype {corr.dtype}"
        )
    if not mask.any(axis=1).all():
        bad = int(np.flatnonzero(~mask.any(axis=1))[0])
        raise HarnessInputError(f"query {bad} has no correct candidate in its candidate set")
    k = min(_check_top_k(top_k), width)
    budget = _check_budget(memory_budget)
    seed = _check_tie_seed(tie_seed)
    if backend not in ("numpy", "torch"):
        raise HarnessInputError(f"unknown backend {backend!r}: use 'numpy' or 'torch'")

    v = _combine(sc, qs) if sc.combine is not None else None
    per_row = width * c.shape[1] * c.dtype.itemsize
    qblock = max(1, min(max(n, 1), budget // max(1, per_row)))
    s_all = np.empty((n, width), dtype=np.float64)
    dev = "cpu"
    if v is not None and backend == "torch":
        eng = _TorchEngine(v, c, device)
        dev = eng.device
        torch = eng.torch
        for q0 in range(0, n, qblock):
            idx = torch.from_numpy(ids[q0 : q0 + qblock]).to(eng.device)
            s = torch.einsum("bd,bmd->bm", eng.v[q0 : q0 + qblock], eng.c[idx])
            s_all[q0 : q0 + qblock] = s.cpu().numpy()
            if on_progress is not None:
                on_progress(len(s))
    elif v is not None:
        if device not in (None, "cpu"):
            raise HarnessInputError(f"device {device!r} needs backend='torch'")
        for q0 in range(0, n, qblock):
            cg = c[ids[q0 : q0 + qblock]]
            s_all[q0 : q0 + qblock] = np.matmul(cg, v[q0 : q0 + qblock, :, None])[..., 0]
            if on_progress is not None:
                on_progress(len(cg))
    else:
        for i in range(n):
            s = np.asarray(sc.score([q[i : i + 1] for q in qs], c[ids[i]]), dtype=np.float64)
            if s.shape != (1, width):
                raise HarnessInputError(
                    f"scorer {sc.name!r}: score returned shape {s.shape}, expected (1, {width})"
                )
            s_all[i] = s[0]
            if on_progress is not None:
                on_progress(1)
        if not np.isfinite(s_all).all():
            raise HarnessInputError(f"scorer {sc.name!r} returned NaN or inf scores")
    rows = np.arange(n)[:, None]
    keys = tie_keys(rows, np.arange(width)[None, :], seed)
    order = _order_rows(s_all, keys)
    ranks = np.argmax(mask[rows, order], axis=1).astype(np.int64) + 1
    top = order[:, :k]
    top_val = s_all[rows, top]
    offsets = _offsets(sc, qs)
    if offsets is not None:
        top_val = top_val + offsets[:, None]
    return Ranking(
        ranks=ranks,
        top_k=ids[rows, top],
        top_k_scores=top_val,
        n_candidates=np.full(n, width, dtype=np.int64),
        n_correct=mask.sum(axis=1).astype(np.int64),
        scorer=sc.name,
        tie_seed=seed,
        backend=backend,
        device=dev,
        extra={"query_block": qblock},
    )
