"""The answer key of one registered split, stored in the database at ``leaderboard add`` time so
the server never needs the dataset directory afterwards.

Every candidate rule reduces to labels: a candidate is correct for a query when their labels
are equal. Shared pools (XOR, M3) keep the plan's labels; per-query candidate sets (MIMIC) use
each candidate's own id as its label and the query's own candidate id as the query's label.
Re-scoring rebuilds a shared ``CandidatePlan`` from the stored arrays and asks its
``is_correct`` — the same code the harness scores with, so the two cannot disagree.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symile_bench.harness.candidates import CandidatePlan
from symile_bench.harness.splitdata import open_split
from symile_bench.harness.tasks import task_for
from symile_bench.leaderboard.errors import LeaderboardError


@dataclass(frozen=True)
class AnswerKey:
    query_ids: np.ndarray  # [N] int64, sorted ascending
    query_labels: np.ndarray  # [N] label of each query (same order)
    candidate_ids: np.ndarray  # [M] int64, sorted ascending
    candidate_labels: np.ndarray  # [M]

    def plan(self) -> CandidatePlan:
        return CandidatePlan(
            kind="shared", ids=self.candidate_ids, rows=None, values=None,
            size=len(self.candidate_ids), correct_when="label match", description="answer key",
            query_labels=self.query_labels, labels=self.candidate_labels,
        )

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(buf, query_ids=self.query_ids, query_labels=self.query_labels,
                            candidate_ids=self.candidate_ids,
                            candidate_labels=self.candidate_labels)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> AnswerKey:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return cls(z["query_ids"], z["query_labels"], z["candidate_ids"],
                       z["candidate_labels"])


@dataclass(frozen=True)
class SplitKey:
    """What ``add`` registers: the split's identity, its task and its answer key."""

    builder: str
    config: str
    split: str
    fingerprint: str
    dataset_fingerprint: str
    task: str
    target: str
    rule: str
    key: AnswerKey


def answer_key_from_dataset(
    path: Path, split: str = "test", config: str | None = None,
    target: str | None = None, rule: str | None = None,
) -> SplitKey:
    """Rebuild the task's candidate plan from a full (non-blind) dataset directory and keep
    only what scoring needs."""
    data = open_split(Path(path), config, split)
    resolved = task_for(data.builder).resolve(target, rule)
    plan = resolved.rule.plan(data, resolved.target)
    qids = data.numpy(resolved.task.query_id)
    if qids.dtype.kind not in "iu" or plan.ids.dtype.kind not in "iu":
        raise LeaderboardError(f"{path}: only integer query and candidate ids can be registered")
    if plan.kind == "per_query":
        cand_labels = plan.ids
        q_labels = plan.ids[plan.sets[np.arange(len(qids)), plan.correct]]
    else:
        cand_labels, q_labels = plan.labels, plan.query_labels
    q_order = np.argsort(qids, kind="stable")
    c_order = np.argsort(plan.ids, kind="stable")
    key = AnswerKey(
        qids[q_order].astype(np.int64), np.asarray(q_labels)[q_order].astype(np.int64),
        plan.ids[c_order].astype(np.int64), np.asarray(cand_labels)[c_order].astype(np.int64),
    )
    if len(key.query_ids) and (key.query_ids[1:] == key.query_ids[:-1]).any():
        raise LeaderboardError(f"{path}: split {split!r} repeats a query id")
    return SplitKey(data.builder, data.config, split, data.fingerprint,
                    data.manifest.fingerprint, resolved.task.name, resolved.target.name,
                    resolved.rule.name, key)
