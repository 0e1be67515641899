"""Server-side checks of a submitted ``results.json``: parse it strictly, match it to a
registered benchmark, and re-score its per-query predictions against the stored answer key.

The verified score is the server's own: top-1 from the submitted top-k ids (the ranks in the
file are checked, never trusted; results on a blind split carry ids only, no ranks or rows)
and a percentile-bootstrap interval recomputed with the harness' ``bootstrap_mean``. A claimed
top-1 that differs from it is rejected with both numbers.
Results without predictions for the benchmark's split can only be stored as "reported".
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from symile_bench.harness.bootstrap import bootstrap_mean
from symile_bench.harness.results import SUPPORTED_SCHEMA_VERSIONS, Predictions, Results
from symile_bench.leaderboard.answerkey import AnswerKey
from symile_bench.leaderboard.errors import SubmissionRejected

TOLERANCE = 1e-9
RESAMPLES = 1000
SEED = 0


@dataclass(frozen=True)
class Verdict:
    status: str  # "verified" or "reported"
    top1: float
    ci_low: float
    ci_high: float
    n: int
    claimed_top1: float | None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_submission(body: bytes) -> Results:
    """Strict JSON (no NaN/Infinity) of a supported schema version, validated by the Results
    model; every failure is a 400/422 naming the field."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as e:
        raise SubmissionRejected(f"the body is not valid JSON ({e})", 400) from None
    if not isinstance(data, dict):
        raise SubmissionRejected("the body must be a JSON object (a results.json file)", 400)
    found = data.get("schema_version")
    if isinstance(found, bool) or found not in SUPPORTED_SCHEMA_VERSIONS:
        supported = ", ".join(map(str, SUPPORTED_SCHEMA_VERSIONS))
        raise SubmissionRejected(
            f"schema_version {found!r} is not supported (this server reads {supported})", 422
        )
    try:
        return Results.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise SubmissionRejected(f"invalid field {loc}: {err['msg']}", 422) from None


def claimed_fingerprint(results: Results) -> str:
    return results.dataset.split_fingerprint or results.dataset.fingerprint


def _claimed_top1(results: Results, split: str) -> Any:
    for row in results.rows:
        if row.key == (split, None, None, "top1"):
            return row
    return None


def _predictions(results: Results, split: str) -> Predictions | None:
    return next((p for p in results.predictions if (p.split, p.condition) == (split, None)), None)


def first_correct(key: AnswerKey, p: Predictions) -> np.ndarray:
    """Position (1-based) of the first correct id in each query's top-k, k + 1 when none, in
    the key's query order; rejects anything that is not one prediction per registered query."""
    n = len(key.query_ids)
    if len(p.query_ids) != n:
        raise SubmissionRejected(
            f"predictions for split {p.split!r} hold {len(p.query_ids)} queries but the "
            f"benchmark has {n}"
        )
    if p.k < 1 or any(len(t) != p.k for t in p.top_k):
        raise SubmissionRejected(f"every top_k list must hold exactly k={p.k} >= 1 candidate ids")
    try:
        qids = np.asarray(p.query_ids, dtype=np.int64)
        top = np.asarray(p.top_k, dtype=np.int64).reshape(n, p.k)
    except (ValueError, TypeError, OverflowError):
        raise SubmissionRejected("query ids and candidate ids must be integers") from None
    order = np.argsort(qids, kind="stable")
    if not np.array_equal(qids[order], key.query_ids):
        missing = np.setdiff1d(key.query_ids, qids)
        detail = (
            f"query id {missing[0]} is missing"
            if len(missing)
            else "a query id is unknown or repeated"
        )
        raise SubmissionRejected(f"predictions must hold each registered query once: {detail}")
    top = top[order]
    pos = np.minimum(np.searchsorted(key.candidate_ids, top), len(key.candidate_ids) - 1)
    unknown = key.candidate_ids[pos] != top
    if unknown.any():
        bad = top[unknown][0]
        raise SubmissionRejected(
            f"candidate id {bad} is out of range: the benchmark's candidates are "
            f"{len(key.candidate_ids)} ids from {key.candidate_ids[0]} to {key.candidate_ids[-1]}"
        )
    correct = key.plan().is_correct(np.arange(n), top)
    first = np.where(correct.any(axis=1), np.argmax(correct, axis=1) + 1, p.k + 1)
    if p.ranks is None:  # a blind split's predictions: ids only, nothing claimed to check
        return first
    stored = np.minimum(np.asarray(p.ranks, dtype=np.int64)[order], p.k + 1)
    if (stored != first).any():
        i = int(np.flatnonzero(stored != first)[0])
        raise SubmissionRejected(
            f"query {key.query_ids[i]}: the stored rank disagrees with its top-{p.k} ids"
        )
    return first


def verify(results: Results, key: AnswerKey, split: str) -> Verdict:
    """The entry to store: verified from predictions, else reported from the file's own row."""
    row = _claimed_top1(results, split)
    p = _predictions(results, split)
    if p is None:
        if row is None:
            raise SubmissionRejected(f"the results have no pooled top1 row for split {split!r}")
        return Verdict("reported", row.value, row.ci_low, row.ci_high, row.n, row.value)
    outcomes = (first_correct(key, p) <= 1).astype(np.float64)
    boot = bootstrap_mean(outcomes, resamples=RESAMPLES, seed=SEED)
    if row is not None and not math.isclose(row.value, boot.value, abs_tol=TOLERANCE):
        raise SubmissionRejected(
            f"claimed top1 {row.value} disagrees with the verified top1 {boot.value} "
            f"re-scored from the predictions"
        )
    return Verdict(
        "verified",
        boot.value,
        boot.ci_low,
        boot.ci_high,
        boot.n,
        None if row is None else row.value,
    )
