"""Zero-shot retrieval scoring: scorers, and the rank of each query's first correct candidate.

The one import for callers; each job lives in its own module, which documents it:

* ``scorers``: the ``Scorer`` forms (combine + offset, ``score_block``, ``score``), ``mip`` and
  ``pairwise``, the registry ``SCORERS``;
* ``ties``: the tie rule (``tie_keys``) and why it makes an uninformative model score chance;
* ``pool``: ``rank_candidates``, one shared pool in memory-bounded blocks split over the cores;
* ``candidate_sets``: ``rank_candidate_sets``, a small candidate set per query;
* ``ranking``: the ``Ranking`` result and its chance levels;
* ``backends``: the numpy and torch block engines; ``correct``: the correct candidates and the
  best correct one; ``groupplan``, ``topk``, ``rowstats``: counts and top-k without sorting rows;
  ``inputs``: argument checks.
"""

from __future__ import annotations

from symile_bench.harness.ranking import (
    DEFAULT_MEMORY_BUDGET,
    DEFAULT_TOP_K,
    Ranking,
    rank_candidate_sets,
    rank_candidates,
)
from symile_bench.harness.scorers import (
    SCORERS,
    BlockFn,
    Queries,
    Scorer,
    get_scorer,
    register_scorer,
    score_matrix,
    scorer_names,
)
from symile_bench.harness.ties import tie_keys

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "DEFAULT_TOP_K",
    "SCORERS",
    "BlockFn",
    "Queries",
    "Ranking",
    "Scorer",
    "get_scorer",
    "rank_candidate_sets",
    "rank_candidates",
    "register_scorer",
    "score_matrix",
    "scorer_names",
    "tie_keys",
]
