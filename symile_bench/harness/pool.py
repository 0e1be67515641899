"""Ranking one shared pool of candidates for every query, in memory-bounded blocks.

The ``queries × candidates`` matrix is never materialised when large: queries are processed in
chunks sized by ``memory_budget`` (bytes of one block of scores; default 256 MiB); if a single
row of scores does not fit, candidates are chunked too (scores are then computed twice: once
for the best correct score, once for the counts and the top-k). Per block we keep only the
best correct score (``correct.BestCorrect``), two counts per query (scores above it, scores
equal to it; tie hashes are computed only for rows with an exact tie) and a top-k of candidate
indices (default k = 10), from the engine (``backends``). Each block's rows are split over the
available cores (``threads``), each thread doing its own matmul with a single-threaded BLAS and
then its own pass, so the work after the matmul runs on every core instead of one;
``benchmarks/harness_scoring.py`` measures the whole against the bare chunked matmul.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

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
from symile_bench.harness.ranking import Ranking
from symile_bench.harness.scorers import Queries, Scorer, get_scorer
from symile_bench.harness.ties import tie_keys
from symile_bench.harness.topk import TopK, merge

DEFAULT_TOP_K = 10
DEFAULT_MEMORY_BUDGET = 256 * 2**20
MIN_QUERY_ROWS = 16  # below this many rows per block, candidates are chunked instead


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
    least one correct candidate. Returns ranks (tie rule of ``symile_bench.harness.ties``) and
    the top-k candidate indices per query. ``on_progress(n)`` is called after each block of n
    queries. ``threads`` (numpy backend, array scorers): each block's rows are split over this
    many threads (default: the cores available); results do not depend on it.
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
    engine = make_engine(backend, device, sc, qs, c)
    plan = ChunkPlan.make(n, m, c.dtype.itemsize, budget)
    ranker = _PoolRanker(engine, plan, correct, k, seed)
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
        extra={"query_block": plan.qblock, "candidate_block": plan.cblock},
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
