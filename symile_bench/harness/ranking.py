"""How ranks are computed: the ``Ranking`` of a retrieval run and the two rankers that make it,
one shared pool of candidates for every query (``rank_candidates``) or a small candidate set per
query (``rank_candidate_sets``).

The rank of a query is the 1-based position of its first correct candidate in the order of
``symile_bench.harness.ties``. Chance levels need the number of candidates and of correct ones
per query, so the ranking keeps them.

Shared pool: the ``queries × candidates`` matrix is never materialised when large: queries are
processed in chunks sized by ``memory_budget`` (bytes of one block of scores; default 256 MiB);
if a single row of scores does not fit, candidates are chunked too (scores are then computed
twice: once for the best correct score, once for the counts and the top-k). Per block we keep
only the best correct score (``correct.BestCorrect``), two counts per query (scores above it,
scores equal to it; tie hashes are computed only for rows with an exact tie) and a top-k of
candidate indices (default k = 10), from the engine (``backends``). Each block's rows are split
over the available cores (``threads``), each thread doing its own matmul with a single-threaded
BLAS and then its own pass, so the work after the matmul runs on every core instead of one;
``benchmarks/harness_scoring.py`` measures the whole against the bare chunked matmul. When
candidates repeat (split rows showing the same medium), the blocks score only the distinct
ones and the ranks and top-k are recovered from the repeats (``repeats``; numpy backend).

Candidate sets (MIMIC: 10 CXRs per (ECG, labs) query): query ``q`` ranks ``candidate_ids[q]``
with the correct ones marked. The sets are small, so the whole ``[N, m]`` score matrix is kept
and sorted by the tie rule; only the scoring is blocked (the gathered candidates
``[block, m, d]`` are what the memory budget bounds). A combine scorer scores a block of sets in
one batched matmul; other scorers score each query's set as its own ``[1, m]`` block, row by row.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness.backends import BlockEngine, make_engine
from symile_bench.harness.correct import BestCorrect, CorrectIndex
from symile_bench.harness.inputs import (
    as_int_vector,
    check_budget,
    check_embeddings,
    check_threads,
    check_tie_seed,
    check_top_k,
)
from symile_bench.harness.metrics import chance_outcomes
from symile_bench.harness.scorers import Queries, Scorer, get_scorer
from symile_bench.harness.ties import tie_keys
from symile_bench.harness.topk import TopK, merge, order_rows

if TYPE_CHECKING:
    from symile_bench.harness.repeats import GroupRanker

DEFAULT_TOP_K = 10
DEFAULT_MEMORY_BUDGET = 256 * 2**20
MIN_QUERY_ROWS = 16  # below this many rows per block, candidates are chunked instead


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

    def chance(self, metric: str = "top1") -> float:
        """Expected ``metric`` of a uniformly random ranking of these queries' candidates
        (``metrics.chance_outcomes``, averaged over the queries)."""
        if not len(self):
            return math.nan
        return float(chance_outcomes(metric, self.n_candidates, self.n_correct).mean())


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
    distinct: bool = True,
) -> Ranking:
    """Rank one shared pool of candidates for every query.

    ``queries``: one ``[N, d]`` array per query modality. ``candidates``: ``[M, d]``.
    ``candidate_labels``: int ``[M]`` (default ``arange(M)``, i.e. the label is the index);
    ``query_labels``: int ``[N]``, the label of the correct candidates. Every query must have at
    least one correct candidate. Returns ranks (tie rule of ``symile_bench.harness.ties``) and
    the top-k candidate indices per query. ``on_progress(n)`` is called after each block of n
    queries. ``threads`` (numpy backend, array scorers): each block's rows are split over this
    many threads (default: the cores available); results do not depend on it. ``distinct``
    (numpy backend): when candidates repeat (identical embedding and label), score each
    distinct one once and recover every rank and top-k from the repeats (``repeats``); the
    results are those of scoring every candidate, so False only serves comparisons.
    """
    sc = get_scorer(scorer)
    qs, c = check_embeddings(queries, candidates, sc.name, sc.needs_one_dimension)
    n, m = len(qs[0]), len(c)
    k = min(check_top_k(top_k), m)
    budget = check_budget(memory_budget)
    seed = check_tie_seed(tie_seed)
    n_threads = check_threads(threads)
    if m == 0:
        raise HarnessInputError("candidates is empty: nothing to rank")
    qlab = as_int_vector(query_labels, "query_labels", n)
    clab = (
        np.arange(m)
        if candidate_labels is None
        else as_int_vector(candidate_labels, "candidate_labels", m)
    )
    correct = CorrectIndex.build(qlab, clab)
    plan = ChunkPlan.make(n, m, c.dtype.itemsize, budget)
    groups = None
    if distinct and backend == "numpy":
        from symile_bench.harness.repeats import group_candidates  # numba: imported when used

        groups = group_candidates(c, clab)
        if groups is not None and plan.qblock * len(groups) * c.dtype.itemsize > budget:
            groups = None
    ranker: _PoolRanker | GroupRanker
    if groups is None:
        engine = make_engine(backend, device, sc, qs, c)
        ranker = _PoolRanker(engine, plan, correct, k, seed)
        blocks = {"query_block": plan.qblock, "candidate_block": plan.cblock}
    else:
        from symile_bench.harness.repeats import GroupRanker

        engine = make_engine(backend, device, sc, qs, c[groups.first])
        width = len(groups)
        ranker = GroupRanker(lambda a, b: engine.scores(a, b, 0, width), groups, qlab, k, seed)
        blocks = {"query_block": plan.qblock, "candidate_block": width, "groups": width}
    with _RowSlices(n_threads if engine.parallel else 1) as run:
        for q0 in range(0, n, plan.qblock):
            q1 = min(n, q0 + plan.qblock)
            run(ranker.rank_rows, q0, q1)
            if on_progress is not None:
                on_progress(q1 - q0)
    offsets = sc.offsets(qs)
    if offsets is not None and k:
        ranker.top_val += offsets[:, None]
    return Ranking(
        ranks=ranker.ranks,
        top_k=ranker.top_idx,
        top_k_scores=ranker.top_val,
        n_candidates=np.full(n, m, dtype=np.int64),
        n_correct=correct.n_correct,
        scorer=sc.name,
        tie_seed=seed,
        backend=engine.name,
        device=engine.device,
        extra=blocks,
    )


@dataclass(frozen=True)
class ChunkPlan:
    """Blocks of ``qblock`` queries × ``cblock`` candidates within the memory budget: whole rows
    when ``MIN_QUERY_ROWS`` of them fit, else that many rows and chunks of candidates."""

    qblock: int
    cblock: int
    col_chunks: list[tuple[int, int]]

    @classmethod
    def make(cls, n: int, m: int, itemsize: int, budget: int) -> ChunkPlan:
        rows = min(max(n, 1), MIN_QUERY_ROWS)
        if m * itemsize * rows <= budget:
            qblock, cblock = max(1, min(max(n, 1), budget // (m * itemsize))), m
        else:
            qblock, cblock = rows, max(1, budget // (rows * itemsize))
        return cls(qblock, cblock, [(c0, min(m, c0 + cblock)) for c0 in range(0, m, cblock)])


class _PoolRanker:
    """The blocks of one ``rank_candidates`` call: ranks and top-k of each query block, written
    into that block's rows of the outputs (so row slices can run in parallel)."""

    def __init__(
        self, engine: BlockEngine[Any], plan: ChunkPlan, correct: CorrectIndex, k: int, seed: int
    ) -> None:
        self.engine, self.plan, self.correct, self.k, self.seed = engine, plan, correct, k, seed
        n = len(correct.query_labels)
        self.ranks = np.empty(n, dtype=np.int64)
        self.top_idx = np.empty((n, k), dtype=np.int64)
        self.top_val = np.empty((n, k), dtype=np.float64)

    def rank_rows(self, q0: int, q1: int) -> None:
        """Ranks and top-k of queries ``[q0, q1)``."""
        chunks = self.plan.col_chunks
        best = BestCorrect.empty(q0, q1, self.seed)
        s = None
        for c0, c1 in chunks:
            s = self.engine.scores(q0, q1, c0, c1)
            self.engine.merge_best(s, c0, self.correct, best)
        cached = s if len(chunks) == 1 else None
        above = np.zeros(q1 - q0, dtype=np.int64)
        top: TopK | None = None
        for c0, c1 in chunks:
            s = cached if cached is not None else self.engine.scores(q0, q1, c0, c1)
            stats = self.engine.block_stats(s, best, c0, self.k)
            above += stats.above + self._tied_before(s, best, c0, c1, stats.equal)
            if stats.top is not None:
                top = stats.top if top is None else merge(top, stats.top, self.k)
        self.ranks[q0:q1] = above + 1
        if top is not None:
            self.top_idx[q0:q1] = top.columns
            self.top_val[q0:q1] = top.values

    def _tied_before(
        self, s: Any, best: BestCorrect, c0: int, c1: int, equal: np.ndarray
    ) -> np.ndarray:
        """Per row, the candidates in ``[c0, c1)`` with exactly the best correct score that the
        tie rule puts before it; only rows with such a tie are hashed."""
        out = np.zeros(len(equal), dtype=np.int64)
        own = (best.col >= c0) & (best.col < c1)
        for i in np.flatnonzero((equal > 1) | ((equal == 1) & ~own)).tolist():
            row = self.engine.row(s, i)
            tied = np.flatnonzero(row == row.dtype.type(best.value[i])) + c0
            out[i] = np.count_nonzero(tie_keys(best.q_ids[i], tied, self.seed) < best.key[i])
        return out


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
        self._limits: Any = None  # a threadpoolctl limit, restored on exit

    def __enter__(self) -> Callable[[Callable[[int, int], None], int, int], None]:
        if self.slices > 1:
            from threadpoolctl import threadpool_limits

            self._limits = threadpool_limits(1, user_api="blas")
            self._pool = ThreadPoolExecutor(self.slices, thread_name_prefix="symile-scoring")
        return self._run

    def _run(self, fn: Callable[[int, int], None], q0: int, q1: int) -> None:
        parts = min(self.slices, max(1, (q1 - q0) // MIN_QUERY_ROWS))
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
    """Rank a separate small candidate set per query.

    ``candidate_ids``: int ``[N, m]`` indices into ``candidates`` ``[M, d]``. ``correct``: int
    ``[N]`` (the column of the correct candidate) or bool ``[N, m]`` (several may be correct).
    Ties are broken by ``tie_keys(query, column)``. ``top_k`` holds candidate indices (values of
    ``candidate_ids``). ``on_progress(n)`` is called after each block of n queries.
    """
    sc = get_scorer(scorer)
    qs, c = check_embeddings(queries, candidates, sc.name, sc.needs_one_dimension)
    n = len(qs[0])
    ids = _check_ids(candidate_ids, n, len(c))
    mask = _correct_mask(correct, ids)
    width = ids.shape[1]
    k = min(check_top_k(top_k), width)
    budget = check_budget(memory_budget)
    seed = check_tie_seed(tie_seed)
    engine = make_engine(backend, device, sc, qs, c)
    qblock = max(1, min(max(n, 1), budget // max(1, width * c.shape[1] * c.dtype.itemsize)))
    step = qblock if sc.combine is not None else 1
    s_all = np.empty((n, width), dtype=np.float64)
    for q0 in range(0, n, step):
        q1 = min(n, q0 + step)
        s_all[q0:q1] = engine.set_scores(q0, q1, ids[q0:q1])
        if on_progress is not None:
            on_progress(q1 - q0)
    rows = np.arange(n)[:, None]
    order = order_rows(s_all, tie_keys(rows, np.arange(width)[None, :], seed))
    top = order[:, :k]
    top_val = s_all[rows, top]
    offsets = sc.offsets(qs)
    if offsets is not None:
        top_val = top_val + offsets[:, None]
    return Ranking(
        ranks=np.argmax(mask[rows, order], axis=1).astype(np.int64) + 1,
        top_k=ids[rows, top],
        top_k_scores=top_val,
        n_candidates=np.full(n, width, dtype=np.int64),
        n_correct=mask.sum(axis=1).astype(np.int64),
        scorer=sc.name,
        tie_seed=seed,
        backend=engine.name,
        device=engine.device,
        extra={"query_block": qblock},
    )


def _check_ids(candidate_ids: Any, n: int, pool: int) -> np.ndarray:
    ids = np.asarray(candidate_ids)
    if ids.ndim != 2 or len(ids) != n or ids.dtype.kind not in "iu":
        raise HarnessInputError(
            f"candidate_ids must be an integer array [N={n}, m], got shape {ids.shape} "
            f"dtype {ids.dtype}"
        )
    ids = ids.astype(np.int64)
    if ids.shape[1] == 0:
        raise HarnessInputError("candidate_ids has no columns: every query needs candidates")
    if ids.size and (ids.min() < 0 or ids.max() >= pool):
        raise HarnessInputError(
            f"candidate_ids values must index candidates (0..{pool - 1}); found "
            f"{ids.min()}..{ids.max()}"
        )
    return ids


def _correct_mask(correct: Any, ids: np.ndarray) -> np.ndarray:
    """``correct`` (columns or a mask) as a bool mask ``[N, m]``, each row with a correct one."""
    n, width = ids.shape
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
    return mask
