"""Re-scoring a results file from its per-query predictions (``symile-bench validate``; the
leaderboard's verification uses the same functions).

Two levels:

* ``check_consistency(results)``: every pooled row (``language`` None) of a (split, condition)
  that has predictions equals the metric recomputed from the stored ranks, with the same n
  (under ``--protocol release`` a row is the mean of 10 redrawn samples, which the ranks of the
  whole split do not determine: only n is checked);
* ``rescore(results, dataset_dir)``: against the dataset's answer key (the task's candidate
  plan, rebuilt from the directory): the dataset fingerprints match, every query id exists,
  and each stored rank agrees with the top-k candidate ids (rank r <= k: the r-th id is the
  first correct one; rank > k: no id in the top-k is correct). It returns the top-k metrics
  recomputed from the ids alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symile_bench.errors import ResultsFileError
from symile_bench.harness.metrics import outcomes
from symile_bench.harness.results import Predictions, Results
from symile_bench.harness.splitdata import open_split
from symile_bench.harness.tasks import resolve

TOLERANCE = 1e-9


@dataclass(frozen=True)
class Rescored:
    split: str
    condition: str | None
    n: int
    values: dict[str, float]  # top<k> metrics for k <= the stored top-k length


def _where(p: Predictions) -> str:
    return f"predictions (split {p.split!r}, condition {p.condition!r})"


def check_consistency(results: Results) -> list[str]:
    """Problems found (empty: consistent)."""
    problems = []
    for p in results.predictions:
        if p.ranks is None:  # a blind split's predictions: nothing to be consistent with
            continue
        ranks = np.asarray(p.ranks, dtype=np.int64)
        for row in results.rows:
            if (row.split, row.condition, row.language) != (p.split, p.condition, None):
                continue
            if row.n != len(ranks):
                problems.append(f"row {row.key} has n={row.n} but {_where(p)} has {len(ranks)}")
                continue
            if results.protocol == "release":
                continue
            value = float(outcomes(ranks, row.metric).mean())
            if abs(value - row.value) > TOLERANCE:
                problems.append(f"row {row.key} says {row.value} but {_where(p)} give {value}")
    return problems


def rescore(results: Results, dataset_dir: Path) -> tuple[list[Rescored], list[str]]:
    """Top-k metrics recomputed from the predicted ids and the dataset's answer key, and the
    problems found."""
    if not results.predictions:
        raise ResultsFileError(
            "the results have no per-query predictions to re-score; re-run "
            "`symile-bench evaluate` with --predictions"
        )
    if results.dataset.blind:
        raise ResultsFileError(
            "the results are on a blind split: only the answer key (the "
            "leaderboard that registered it) can re-score them"
        )
    out, problems = [], []
    spec = results.task
    for p in results.predictions:
        split = open_split(dataset_dir, results.dataset.config, p.split)
        expected = results.dataset.split_fingerprint or results.dataset.fingerprint
        if expected not in (split.fingerprint, split.manifest.fingerprint):
            problems.append(
                f"{_where(p)}: computed on a dataset with fingerprint "
                f"{expected[:16]}…, but {dataset_dir} has {split.fingerprint[:16]}…"
            )
            continue
        resolved = resolve(
            split.manifest,
            task=spec.name,
            target=spec.target_modality,
            candidates=spec.candidates.rule,
            where=str(dataset_dir),
        )
        plan = resolved.rule.plan(split, resolved.target)
        ids = split.numpy(resolved.task.query_id)
        order = np.argsort(ids, kind="stable")
        qids = np.asarray(p.query_ids).astype(ids.dtype)
        pos = np.minimum(np.searchsorted(ids[order], qids), len(ids) - 1)
        if not (ids[order][pos] == qids).all():
            bad = qids[np.flatnonzero(ids[order][pos] != qids)[0]]
            problems.append(f"{_where(p)}: query id {bad} is not in split {p.split!r}")
            continue
        queries = order[pos]
        k = p.k
        if any(len(t) != k for t in p.top_k):
            problems.append(f"{_where(p)}: every top_k list must hold k={k} candidate ids")
            continue
        try:
            top = np.asarray(p.top_k).reshape(len(queries), k).astype(plan.ids.dtype)
        except ValueError:
            problems.append(f"{_where(p)}: top_k ids must be {plan.ids.dtype} candidate ids")
            continue
        correct = plan.is_correct(queries, top)
        ranks = np.asarray(p.ranks, dtype=np.int64)
        first = np.where(correct.any(axis=1), np.argmax(correct, axis=1) + 1, k + 1)
        stored = np.minimum(ranks, k + 1)
        bad = np.flatnonzero(first != stored)
        if len(bad):
            i = int(bad[0])
            problems.append(
                f"{_where(p)}: {len(bad)} queries' ranks disagree with their top-{k} ids, e.g. "
                f"query {qids[i]} has rank {ranks[i]} but its first correct id is at "
                f"{'none' if first[i] > k else first[i]}"
            )
        values = {f"top{j}": float((first <= j).mean()) for j in (1, 5, 10) if j <= k}
        out.append(Rescored(p.split, p.condition, len(queries), values))
    return out, problems
