"""Candidate rules and the plans they make: what each query ranks, and which candidates are
correct.

A rule turns one split into a candidate plan: the pool of candidates to embed (split rows whose
target modality is encoded, or values that are not rows, such as XOR's 2^d vectors), the id of
each candidate (what per-query predictions store) and the answer key. Builders name rules by
``kind`` in their task declaration (``symile_bench.tasks``), with ``params``; the kinds live in
``CANDIDATE_RULES``, where a third party adds its own (entry-point group
``symile_bench.candidate_rules``: a class taking ``name`` and the params as keywords).

A plan is one of two closed shapes:

* ``SharedPool``: one pool of candidates for every query, correct by label (XOR's 2^d
  vectors, M3's images: correct when the candidate's label equals the query's);
* ``PerQuerySets``: a separate small set per query with its correct column (MIMIC's 10 CXRs).

The same plan ranks a model's embeddings (``rank``) and re-scores stored predictions
(``is_correct``), so scoring and verification can never disagree. ``CandidatePlan`` is the
union; code that needs to tell the shapes apart asks the plan to do the work instead of testing
its type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import pyarrow as pa

from symile_bench.errors import HarnessInputError
from symile_bench.harness.ranking import Ranking, rank_candidate_sets, rank_candidates
from symile_bench.harness.scorers import Queries
from symile_bench.harness.splitdata import SplitData
from symile_bench.registry import Registry
from symile_bench.tasks import CandidateRuleSpec, ModalitySpec

MAX_VECTOR_BITS = 20  # 2^20 candidates: more would not be a retrieval benchmark


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
        placeholder key stands in, every candidate correct (one label, so repeated candidates
        still group): the top-k depends only on scores and the tie rule, and the ranks it gives
        are meaningless (evaluate drops them)."""
        if self.query_labels is None or self.labels is None:
            n = len(queries[0])
            return rank_candidates(
                queries,
                candidates,
                query_labels=np.zeros(n, dtype=np.int64),
                candidate_labels=np.zeros(len(candidates), dtype=np.int64),
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

    def rank(
        self, queries: Queries, candidates: np.ndarray, *, distinct: bool = True, **options: Any
    ) -> Ranking:
        """Each query's own small set, scored as it is (``distinct`` is for shared pools)."""
        return rank_candidate_sets(queries, candidates, self.sets, self.correct, **options)

    def is_correct(self, queries: np.ndarray, candidate_ids: np.ndarray) -> np.ndarray:
        cand = np.asarray(candidate_ids)
        own = self.ids[self.sets[queries, self.correct[queries]]]
        return cand == own[:, None].astype(cand.dtype, copy=False)

    def answer_labels(self) -> tuple[np.ndarray, np.ndarray]:
        """Each candidate's own id is its label; a query's label is its own candidate's id."""
        return self.ids, self.ids[self.sets[np.arange(len(self.sets)), self.correct]]


CandidatePlan = SharedPool | PerQuerySets


class CandidateRule(Protocol):
    """``name`` is what ``--candidates`` selects; ``plan`` reads only the split."""

    @property
    def name(self) -> str: ...

    def plan(self, split: SplitData, target: ModalitySpec) -> CandidatePlan: ...


@dataclass(frozen=True)
class AllBinaryVectors:
    """Every binary vector of the target's length (XOR: all 2^d values of b); a candidate's id
    is the vector read as a binary number, coordinate 0 most significant."""

    name: str

    def plan(self, split: SplitData, target: ModalitySpec) -> CandidatePlan:
        column = target.columns[0]
        bits = None
        if column in split.withheld:  # blind split: the pool without the answers
            kind = split.table.schema.field(column).type
            if not pa.types.is_fixed_size_list(kind):
                raise HarnessInputError(
                    f"column {column!r} is withheld and has no fixed length: "
                    "the candidate vectors cannot be enumerated"
                )
            d, dtype = kind.list_size, np.dtype(kind.value_type.to_pandas_dtype())
        else:
            bits = split.numpy(column)
            if bits.ndim != 2 or bits.dtype.kind not in "iub" or ((bits != 0) & (bits != 1)).any():
                raise HarnessInputError(
                    f"column {column!r} must hold equal-length vectors of 0/1 values to "
                    "enumerate every candidate vector"
                )
            d, dtype = bits.shape[1], bits.dtype
        if d > MAX_VECTOR_BITS:
            raise HarnessInputError(
                f"column {column!r} has length {d}: 2^{d} candidates is too many (at most "
                f"{MAX_VECTOR_BITS} bits)"
            )
        shifts = np.arange(d - 1, -1, -1, dtype=np.int64)
        codes = None if bits is None else (bits.astype(np.int64) << shifts).sum(axis=1)
        ids = np.arange(2**d, dtype=np.int64)
        values = ((ids[:, None] >> shifts) & 1).astype(dtype)
        return SharedPool(
            ids=ids,
            rows=None,
            values=values,
            correct_when=f"candidate == the query's {target.name} vector (exact match)",
            description=f"all 2^{d} = {2**d} binary vectors of length {d}; candidate id = the "
            "vector as a binary number, coordinate 0 most significant",
            query_labels=codes,
            labels=None if codes is None else ids,
        )


@dataclass(frozen=True)
class SplitRows:
    """The target modality of the split's rows, correct by an integer label column (M3: the
    image's class). ``one_per_label``: only the first row (in split order) of each label, so
    the pool has one candidate per class. Rows whose target is missing are not candidates."""

    name: str
    label: str
    one_per_label: bool = False

    def plan(self, split: SplitData, target: ModalitySpec) -> CandidatePlan:
        blind = self.label in split.withheld
        if blind and self.one_per_label:
            raise HarnessInputError(
                f"--candidates {self.name!r} picks one candidate per {self.label}, which this "
                "blind split withholds; use the task's default rule"
            )
        labels = None if blind else split.numpy(self.label)
        if labels is not None and (labels.ndim != 1 or labels.dtype.kind not in "iu"):
            raise HarnessInputError(f"label column {self.label!r} must hold one integer per row")
        rows = np.flatnonzero(~split.mask(target.missing_column))
        if self.one_per_label:
            assert labels is not None  # a blind split was refused above
            _, first = np.unique(labels[rows], return_index=True)
            rows = rows[first]
            description = (
                f"one {target.name} per {self.label}: the first row of each {self.label} in "
                "split order; candidate id = that row's index"
            )
        else:
            description = (
                f"every {target.name} of the split (one per row); candidate id = the row index"
            )
        if not len(rows):
            raise HarnessInputError(f"split '{split.split}' has no rows with a {target.name}")
        return SharedPool(
            ids=rows.astype(np.int64),
            rows=rows.astype(np.int64),
            values=None,
            correct_when=f"candidate's {self.label} == the query's {self.label}",
            description=description,
            query_labels=None if labels is None else labels.astype(np.int64),
            labels=None if labels is None else labels[rows].astype(np.int64),
        )


@dataclass(frozen=True)
class StoredSets:
    """A stored list of candidate ids per query (MIMIC: 10 hadm_ids, its own among them);
    correct when the candidate is the query's own row. The pool is every row of the split."""

    name: str
    column: str
    id_column: str

    def plan(self, split: SplitData, target: ModalitySpec) -> CandidatePlan:
        ids = split.numpy(self.id_column)
        split.require(self.column)
        nulls = split.column(self.column).null_count
        if nulls:
            raise HarnessInputError(
                f"split '{split.split}' has no stored candidate sets in {nulls} rows (column "
                f"{self.column!r} is null); evaluate the validation or test split"
            )
        sets_ids = split.numpy(self.column)
        if sets_ids.ndim != 2:
            raise HarnessInputError(f"column {self.column!r} must hold equal-length id lists")
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        if len(ids) and (sorted_ids[1:] == sorted_ids[:-1]).any():
            raise HarnessInputError(f"column {self.id_column!r} repeats an id in this split")
        pos = np.minimum(np.searchsorted(sorted_ids, sets_ids), len(ids) - 1)
        unknown = sorted_ids[pos] != sets_ids
        if unknown.any():
            i, j = np.argwhere(unknown)[0]
            raise HarnessInputError(
                f"row {i}'s {self.column} include {self.id_column} {sets_ids[i, j]}, which is "
                f"not in split '{split.split}'"
            )
        sets = order[pos]
        own = sets == np.arange(len(ids))[:, None]
        count = own.sum(axis=1)
        if (count != 1).any():
            i = int(np.flatnonzero(count != 1)[0])
            raise HarnessInputError(
                f"row {i}'s {self.column} list its own {self.id_column} {ids[i]} {count[i]} "
                "times; it must appear exactly once"
            )
        width = sets.shape[1]
        return PerQuerySets(
            ids=ids.astype(np.int64),
            rows=np.arange(len(ids), dtype=np.int64),
            correct_when=f"the candidate is the query's own {target.name} (same {self.id_column})",
            description=f"the {width} {self.id_column}s stored in column {self.column!r} per "
            f"query, its own included; candidate id = {self.id_column}",
            sets=sets,
            correct=np.argmax(own, axis=1),
        )


def _loaded_rule_kind(obj: Any) -> Callable[..., CandidateRule]:
    if not isinstance(obj, type) or not callable(getattr(obj, "plan", None)):
        raise HarnessInputError(
            "an entry point of group symile_bench.candidate_rules must load a class with a "
            f"plan(split, target) method, got {obj!r}"
        )
    return obj


CANDIDATE_RULES: Registry[Callable[..., CandidateRule]] = Registry(
    "candidate rule kind",
    group="symile_bench.candidate_rules",
    load=_loaded_rule_kind,
    error=HarnessInputError,
    hint="Register it with symile_bench.harness.candidates.CANDIDATE_RULES.register.",
)
CANDIDATE_RULES.register("binary-vectors", AllBinaryVectors)
CANDIDATE_RULES.register("split-rows", SplitRows)
CANDIDATE_RULES.register("stored-sets", StoredSets)


def rule_from_spec(spec: CandidateRuleSpec) -> CandidateRule:
    """The rule a task declares: its registered kind, configured by its params."""
    kind = CANDIDATE_RULES.get(spec.kind)
    try:
        return kind(name=spec.name, **spec.params)
    except TypeError as exc:
        raise HarnessInputError(
            f"candidate rule {spec.name!r} of kind {spec.kind!r}: its params {spec.params} do "
            f"not fit ({exc}); the dataset's manifest.json declares them"
        ) from None
