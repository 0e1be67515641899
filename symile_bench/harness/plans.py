"""Candidate plans: what every query of one split ranks, as one of two closed shapes.

* ``SharedPool``: one pool of candidates for every query, correct by label (XOR's 2^d
  vectors, M3's images: correct when the candidate's label equals the query's);
* ``PerQuerySets``: a separate small set per query with its correct column (MIMIC's 10 CXRs).

A plan comes from a candidate rule (``harness.candidates``); the same plan ranks a model's
embeddings (``rank``) and re-scores stored predictions (``is_correct``), so scoring and
verification can never disagree. ``CandidatePlan`` is the union; code that needs to tell the
shapes apart asks the plan to do the work instead of testing its type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from symile_bench.harness.ranking import Ranking, rank_candidate_sets, rank_candidates
from symile_bench.harness.scorers import Queries


@dataclass(frozen=True)
class SharedPool:
    """``ids[M]``: each candidate's id (what predictions store). Candidates are split rows
    (``rows[M]``) or values that are not rows (``values[M, ...]``, e.g. XOR's vectors).
    ``labels[M]`` / ``query_labels[N]``: the answer key (None on a blind split)."""

    ids: np.ndarray
    rows: np.ndarray | None
    values: np.ndarray | None
    correct_when: str
    description: str
    query_labels: np.ndarray | None = None
    labels: np.ndarray | None = None
    kind: Literal["shared"] = "shared"

    @property
    def size(self) -> int:
        return len(self.ids)

    def rank(self, queries: Queries, candidates: np.ndarray, **options: Any) -> Ranking:
        """Ranks and top-k of every query. Without an answer key (a blind split) a
        placeholder key stands in: the top-k depends only on scores and the tie rule, and the
        ranks it gives are meaningless (evaluate drops them)."""
        if self.query_labels is None or self.labels is None:
            n = len(queries[0])
            return rank_candidates(
                queries,
                candidates,
                query_labels=np.zeros(n, dtype=np.int64),
                candidate_labels=np.arange(len(candidates), dtype=np.int64),
                **options,
            )
        return rank_candidates(
            queries,
            candidates,
            query_labels=self.query_labels,
            candidate_labels=self.labels,
            **options,
        )

    def is_correct(self, queries: np.ndarray, candidate_ids: np.ndarray) -> np.ndarray:
        """Bool ``[len(queries), k]``: whether ``candidate_ids[i, j]`` is correct for query
        position ``queries[i]``. Unknown ids are never correct."""
        if self.query_labels is None or self.labels is None:
            raise ValueError("a blind plan has no answer key")
        cand = np.asarray(candidate_ids)
        order = np.argsort(self.ids, kind="stable")
        sorted_ids = self.ids[order]
        flat = cand.reshape(-1).astype(sorted_ids.dtype, copy=False)
        pos = np.minimum(np.searchsorted(sorted_ids, flat), len(sorted_ids) - 1)
        known = sorted_ids[pos] == flat
        label = self.labels[order][pos]
        ok = known & (label == np.repeat(self.query_labels[queries], cand.shape[1]))
        return ok.reshape(cand.shape)

    def answer_labels(self) -> tuple[np.ndarray, np.ndarray]:
        """(candidate labels [M], query labels [N]): the answer key as labels."""
        if self.query_labels is None or self.labels is None:
            raise ValueError("a blind plan has no answer key")
        return self.labels, self.query_labels


@dataclass(frozen=True)
class PerQuerySets:
    """Every split row is a candidate (``ids[M]``, ``rows[M]``); query ``q`` ranks the pool
    positions ``sets[q]`` and ``correct[q]`` is the column of its own candidate."""

    ids: np.ndarray
    rows: np.ndarray
    sets: np.ndarray
    correct: np.ndarray
    correct_when: str
    description: str
    values: None = None
    kind: Literal["per_query"] = "per_query"

    @property
    def size(self) -> int:
        return int(self.sets.shape[1])

    def rank(self, queries: Queries, candidates: np.ndarray, **options: Any) -> Ranking:
        return rank_candidate_sets(queries, candidates, self.sets, self.correct, **options)

    def is_correct(self, queries: np.ndarray, candidate_ids: np.ndarray) -> np.ndarray:
        cand = np.asarray(candidate_ids)
        own = self.ids[self.sets[queries, self.correct[queries]]]
        return cand == own[:, None].astype(cand.dtype, copy=False)

    def answer_labels(self) -> tuple[np.ndarray, np.ndarray]:
        """Each candidate's own id is its label; a query's label is its own candidate's id."""
        return self.ids, self.ids[self.sets[np.arange(len(self.sets)), self.correct]]


CandidatePlan = SharedPool | PerQuerySets
