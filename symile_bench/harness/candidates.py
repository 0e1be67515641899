"""Candidate rules: what each query ranks, and which candidates are correct.

A rule turns one split into a ``CandidatePlan``: the pool of candidates to embed (split rows
whose target modality is encoded, or values that are not rows, such as XOR's 2^d vectors), the
id of each candidate (what per-query predictions store) and the answer key — either labels
(shared pool: correct when the candidate's label equals the query's) or one stored candidate
set per query with its correct column (MIMIC). The same plan scores a model and re-scores a
results file's predictions (``CandidatePlan.is_correct``), so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
import pyarrow as pa

from symile_bench.harness.errors import HarnessInputError

if TYPE_CHECKING:
    from symile_bench.harness.splitdata import SplitData
    from symile_bench.harness.tasks import Modality

MAX_VECTOR_BITS = 20  # 2^20 candidates: more would not be a retrieval benchmark


@dataclass(frozen=True)
class CandidatePlan:
    kind: Literal["shared", "per_query"]
    ids: np.ndarray  # [M] id of each pool candidate
    rows: np.ndarray | None  # [M] split rows whose target modality is the candidate, or None
    values: np.ndarray | None  # [M, ...] values to encode when candidates are not rows
    size: int  # candidates per query
    correct_when: str
    description: str
    query_labels: np.ndarray | None = None  # shared: [N]
    labels: np.ndarray | None = None  # shared: [M]
    sets: np.ndarray | None = None  # per_query: [N, m] pool positions
    correct: np.ndarray | None = None  # per_query: [N] column of the correct candidate

    def is_correct(self, queries: np.ndarray, candidate_ids: np.ndarray) -> np.ndarray:
        """Answer key: bool ``[len(queries), k]``, whether candidate ``candidate_ids[i, j]`` is
        correct for query position ``queries[i]``. Unknown ids are never correct."""
        cand = np.asarray(candidate_ids)
        if self.kind == "per_query":
            own = self.ids[self.sets[queries, self.correct[queries]]]
            return cand == own[:, None].astype(cand.dtype, copy=False)
        order = np.argsort(self.ids, kind="stable")
        sorted_ids = self.ids[order]
        flat = cand.reshape(-1).astype(sorted_ids.dtype, copy=False)
        pos = np.minimum(np.searchsorted(sorted_ids, flat), len(sorted_ids) - 1)
        known = sorted_ids[pos] == flat
        label = self.labels[order][pos]
        ok = known & (label == np.repeat(self.query_labels[queries], cand.shape[1]))
        return ok.reshape(cand.shape)


class CandidateRule(Protocol):
    """``name`` is what ``--candidates`` selects; ``plan`` reads only the split."""

    name: str

    def plan(self, split: SplitData, target: Modality) -> CandidatePlan: ...


@dataclass(frozen=True)
class AllBinaryVectors:
    """Every binary vector of the target's length (XOR: all 2^d values of b); a candidate's id
    is the vector read as a binary number, coordinate 0 most significant."""

    name: str = "all"

    def plan(self, split: SplitData, target: Modality) -> CandidatePlan:
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
        return CandidatePlan(
            kind="shared",
            ids=ids,
            rows=None,
            values=values,
            size=2**d,
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

    def plan(self, split: SplitData, target: Modality) -> CandidatePlan:
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
        return CandidatePlan(
            kind="shared",
            ids=rows.astype(np.int64),
            rows=rows.astype(np.int64),
            values=None,
            size=len(rows),
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

    def plan(self, split: SplitData, target: Modality) -> CandidatePlan:
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
        return CandidatePlan(
            kind="per_query",
            ids=ids.astype(np.int64),
            rows=np.arange(len(ids), dtype=np.int64),
            values=None,
            size=width,
            correct_when=f"the candidate is the query's own {target.name} (same {self.id_column})",
            description=f"the {width} {self.id_column}s stored in column {self.column!r} per "
            f"query, its own included; candidate id = {self.id_column}",
            sets=sets,
            correct=np.argmax(own, axis=1),
        )
