"""The outcome of a retrieval run, with the chance levels a report compares it against.

The rank of a query is the 1-based position of its first correct candidate in the order of
``symile_bench.harness.ties``. Chance levels need the number of candidates and of correct ones
per query, so the ranking keeps them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symile_bench.harness.metrics import chance_outcomes


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
