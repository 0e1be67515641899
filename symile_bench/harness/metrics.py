"""Retrieval metrics from ranks, as per-query outcome vectors (what the bootstrap resamples).

Metric names (the ``metric`` field of a results row): ``top1`` (primary), ``top5``, ``top10``
(any ``top<k>``: 1.0 when the first correct candidate is within the first k, else 0.0) and
``mrr`` (mean reciprocal rank: 1 / rank). A metric's value is the mean of its per-query
outcomes, so every metric is a mean and the same bootstrap applies to all of them.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np

from symile_bench.errors import HarnessInputError

PRIMARY_METRIC = "top1"
DEFAULT_METRICS: tuple[str, ...] = ("top1", "top5", "top10", "mrr")
_TOPK = re.compile(r"top([1-9][0-9]*)")


def _check_ranks(ranks: Any) -> np.ndarray:
    r = np.asarray(ranks)
    if r.ndim != 1 or r.dtype.kind not in "iu":
        raise HarnessInputError(f"ranks must be a 1-D integer array, got shape {r.shape} {r.dtype}")
    if r.size and r.min() < 1:
        raise HarnessInputError(f"ranks are 1-based; found rank {r.min()}")
    return r.astype(np.int64, copy=False)


def check_metric(name: str) -> str:
    """Return ``name`` if it is a known metric, else raise naming the valid forms."""
    if name == "mrr" or (isinstance(name, str) and _TOPK.fullmatch(name)):
        return name
    raise HarnessInputError(
        f"unknown metric {name!r}: use 'mrr' or 'top<k>' (e.g. top1, top5, top10)"
    )


def outcomes(ranks: Any, metric: str) -> np.ndarray:
    """Per-query outcomes (float64 ``[N]``) of ``metric`` for 1-based ``ranks``."""
    r = _check_ranks(ranks)
    check_metric(metric)
    if metric == "mrr":
        return 1.0 / r
    k = int(metric[3:])
    return (r <= k).astype(np.float64)


def per_query_outcomes(
    ranks: Any, metrics: Iterable[str] = DEFAULT_METRICS
) -> dict[str, np.ndarray]:
    return {m: outcomes(ranks, m) for m in metrics}


def compute_metrics(ranks: Any, metrics: Iterable[str] = DEFAULT_METRICS) -> dict[str, float]:
    """Point values (means of the outcomes); NaN for an empty set of queries."""
    return {
        m: (float(o.mean()) if o.size else float("nan"))
        for m, o in per_query_outcomes(ranks, metrics).items()
    }


def group_indices(groups: Any) -> dict[Hashable, np.ndarray]:
    """Query positions per group key (e.g. language), keys in sorted order."""
    g = np.asarray(groups)
    if g.ndim != 1:
        raise HarnessInputError(f"groups must be 1-D (one key per query), got shape {g.shape}")
    keys, inverse = np.unique(g, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(keys) + 1))
    return {
        (k.item() if hasattr(k, "item") else k): order[bounds[i] : bounds[i + 1]]
        for i, k in enumerate(keys)
    }


def grouped_metrics(
    ranks: Any, groups: Any, metrics: Iterable[str] = DEFAULT_METRICS
) -> dict[Hashable, dict[str, float]]:
    """``{group: {metric: value}}`` (e.g. per language for M3)."""
    r = _check_ranks(ranks)
    if len(np.asarray(groups)) != len(r):
        raise HarnessInputError(
            f"groups has {len(np.asarray(groups))} entries but there are {len(r)} queries"
        )
    metrics = tuple(metrics)
    return {key: compute_metrics(r[idx], metrics) for key, idx in group_indices(groups).items()}


def split_outcomes(values: Mapping[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    """The outcome vectors restricted to the queries ``idx`` (one group)."""
    return {m: v[idx] for m, v in values.items()}


def chance_outcomes(metric: str, n_candidates: Any, n_correct: Any) -> np.ndarray:
    """Per query, the expected outcome of ``metric`` under a uniformly random ranking of its
    ``n_candidates`` candidates, ``n_correct`` of them correct (float64 ``[N]``).

    With R the rank of the first correct candidate, P(R > r) = C(n - r, c) / C(n, c), so
    top-k's chance is 1 - P(R > k) and MRR's is Σ_r P(R = r) / r. Queries are grouped by
    their (n, c) pair, so a split of any size costs one pass per distinct pair.
    """
    check_metric(metric)
    n = np.asarray(n_candidates, dtype=np.int64)
    c = np.asarray(n_correct, dtype=np.int64)
    if n.shape != c.shape or n.ndim != 1:
        raise HarnessInputError("n_candidates and n_correct must be 1-D arrays of equal length")
    if n.size and ((c < 1).any() or (c > n).any()):
        raise HarnessInputError("every query needs 1 <= n_correct <= n_candidates")
    pairs, inverse = np.unique(np.stack([n, c], axis=1), axis=0, return_inverse=True)
    values = np.array([_chance_of_pair(metric, int(a), int(b)) for a, b in pairs])
    return values[inverse.reshape(-1)] if n.size else np.zeros(0)


def _chance_of_pair(metric: str, n: int, c: int) -> float:
    r = np.arange(1, n - c + 2, dtype=np.float64)  # the ranks R can take
    # P(R > r) for r = 0, 1, ...: the product of (n - i - c) / (n - i) over i < r
    above = np.concatenate([[1.0], np.cumprod((n - (r - 1) - c) / (n - (r - 1)))])
    if metric == "mrr":
        return float(np.sum((above[:-1] - above[1:]) / r))
    k = int(metric[3:])
    return float(1.0 - above[min(k, len(above) - 1)])
