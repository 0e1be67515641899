"""Paired comparison of two results files (``symile-bench compare A.json B.json``).

A paired bootstrap needs both models' outcomes on the very same queries, so both files must
carry per-query predictions, name the same split fingerprint and the same task (query and
target modalities, candidate rule and size). Queries are matched by id, not by position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness.bootstrap import PairedBootstrapResult, paired_bootstrap
from symile_bench.harness.metrics import check_metric, outcomes
from symile_bench.harness.results import Predictions, Results


@dataclass(frozen=True)
class Comparison:
    split: str
    condition: str | None
    metric: str
    result: PairedBootstrapResult


def _fingerprint(r: Results) -> str:
    return r.dataset.split_fingerprint or r.dataset.fingerprint


def _check_comparable(a: Results, b: Results, names: tuple[str, str]) -> None:
    for r, name in zip((a, b), names, strict=True):
        if not r.predictions:
            raise HarnessInputError(
                f"{name} has no per-query predictions; a paired comparison needs them (re-run "
                "`symile-bench evaluate` with --predictions)"
            )
        if r.dataset.blind:
            raise HarnessInputError(
                f"{name} is on a blind split: its predictions have no ranks (the answers are "
                "withheld), so only the leaderboard can score it"
            )
    if _fingerprint(a) != _fingerprint(b):
        raise HarnessInputError(
            f"{names[0]} and {names[1]} were computed on different data (fingerprints "
            f"{_fingerprint(a)[:16]}… and {_fingerprint(b)[:16]}…); evaluate both on the same "
            "dataset split"
        )
    ta, tb = a.task, b.task
    key_a = (
        ta.query_modalities,
        ta.target_modality,
        ta.candidates.kind,
        ta.candidates.size,
        ta.candidates.rule,
    )
    key_b = (
        tb.query_modalities,
        tb.target_modality,
        tb.candidates.kind,
        tb.candidates.size,
        tb.candidates.rule,
    )
    if key_a != key_b:
        raise HarnessInputError(
            f"{names[0]} and {names[1]} score different tasks ({'+'.join(ta.query_modalities)} -> "
            f"{ta.target_modality}, {ta.candidates.rule or ta.candidates.kind} "
            f"{ta.candidates.size} vs {'+'.join(tb.query_modalities)} -> {tb.target_modality}, "
            f"{tb.candidates.rule or tb.candidates.kind} {tb.candidates.size})"
        )


def _aligned_ranks(
    pa_: Predictions, pb: Predictions, names: tuple[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    ra = np.asarray(pa_.ranks, dtype=np.int64)
    rb = np.asarray(pb.ranks, dtype=np.int64)
    if pa_.query_ids == pb.query_ids:
        return ra, rb
    index = {q: i for i, q in enumerate(pb.query_ids)}
    if len(index) != len(pb.query_ids) or set(index) != set(pa_.query_ids):
        raise HarnessInputError(
            f"{names[0]} and {names[1]} predict different queries for split {pa_.split!r} "
            f"condition {pa_.condition!r}; a paired comparison needs the same queries"
        )
    return ra, rb[[index[q] for q in pa_.query_ids]]


def compare_results(
    a: Results,
    b: Results,
    *,
    metrics: Sequence[str] = ("top1",),
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    names: tuple[str, str] = ("A", "B"),
) -> list[Comparison]:
    """Paired bootstrap of ``a − b`` per shared (split, condition) and metric."""
    _check_comparable(a, b, names)
    metrics = [check_metric(m) for m in metrics]
    by_key = {(p.split, p.condition): p for p in b.predictions}
    out = []
    for pa_ in a.predictions:
        pb = by_key.get((pa_.split, pa_.condition))
        if pb is None:
            continue
        ra, rb = _aligned_ranks(pa_, pb, names)
        for metric in metrics:
            res = paired_bootstrap(
                outcomes(ra, metric),
                outcomes(rb, metric),
                resamples=resamples,
                confidence=confidence,
                seed=seed,
            )
            out.append(Comparison(pa_.split, pa_.condition, metric, res))
    if not out:
        raise HarnessInputError(
            f"{names[0]} and {names[1]} share no (split, condition) with predictions"
        )
    return out
