"""Ranking a separate small candidate set per query (MIMIC: 10 CXRs per (ECG, labs) query).

Query ``q`` ranks ``candidate_ids[q]`` with the correct ones marked. The sets are small, so the
whole ``[N, m]`` score matrix is kept and sorted by the tie rule; only the scoring is blocked
(the gathered candidates ``[block, m, d]`` are what the memory budget bounds). A combine scorer
scores a block of sets in one batched matmul; other scorers score each query's set as its own
``[1, m]`` block, row by row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness.backends import make_engine
from symile_bench.harness.inputs import check_budget, check_embeddings, check_tie_seed, check_top_k
from symile_bench.harness.pool import DEFAULT_MEMORY_BUDGET, DEFAULT_TOP_K
from symile_bench.harness.ranking import Ranking
from symile_bench.harness.scorers import Queries, Scorer, get_scorer
from symile_bench.harness.ties import tie_keys
from symile_bench.harness.topk import order_rows


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
