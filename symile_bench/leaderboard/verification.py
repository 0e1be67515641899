"""Server-side checks of a submitted ``results.json``: parse it strictly, match it to a
registered benchmark, and re-score its per-query predictions against the stored answer key.

The verified score is the server's own: top-1 from the submitted top-k ids (the ranks in the
file are checked, never trusted; results on a blind split carry ids only, no ranks or rows)
and a percentile-bootstrap interval recomputed with the harness' ``bootstrap_mean``, i.e. the
default protocol whatever the file's. A claimed top-1 that differs from it is rejected with both
numbers (a file of ``--protocol release`` claims the mean of 10 redrawn samples, another
statistic, so only its predictions are checked). Results without predictions for the
benchmark's split can only be stored as "reported", with the file's own numbers and protocol.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from symile_bench.harness.bootstrap import bootstrap_mean
from symile_bench.harness.results import SUPPORTED_SCHEMA_VERSIONS, Predictions, Results
from symile_bench.leaderboard import strictjson
from symile_bench.leaderboard.answerkey import AnswerKey
from symile_bench.leaderboard.errors import SubmissionRejected
from symile_bench.leaderboard.strictjson import refuse

TOLERANCE = 1e-9
RESAMPLES = 1000
SEED = 0
MAX_MODEL_NAME = 200  # characters
MAX_METADATA_BYTES = 64 * 1024  # model.metadata as compact JSON


@dataclass(frozen=True)
class Verdict:
    status: str  # "verified" or "reported"
    top1: float
    ci_low: float
    ci_high: float
    n: int
    claimed_top1: float | None
    content_sha256: str  # what a replay repeats, whatever its bytes (see ``verify``)
    protocol: str = "default"  # of the numbers above (``evaluate --protocol``)


def _check_model_limits(data: dict[str, Any]) -> None:
    """The model's free-text fields become table cells: a name over the limit is refused, never
    cut, and the free-form metadata is bounded in size."""
    model = data.get("model")
    if not isinstance(model, dict):
        return  # the schema names what is missing or mistyped
    name = model.get("name")
    if isinstance(name, str) and len(name) > MAX_MODEL_NAME:
        raise refuse(("model", "name"), f"{len(name)} characters; the limit is {MAX_MODEL_NAME}")
    size = len(json.dumps(model.get("metadata"), separators=(",", ":")).encode())
    if size > MAX_METADATA_BYTES:
        raise refuse(
            ("model", "metadata"),
            f"{size} bytes as compact JSON; the limit is {MAX_METADATA_BYTES}",
        )


def parse_submission(body: bytes) -> Results:
    """Strict JSON (``strictjson``: no NaN/Infinity, bounded depth and numbers, valid text) of
    a supported schema version, validated by the Results model; every failure is a 400/422
    naming the field."""
    data = strictjson.loads(body)
    if not isinstance(data, dict):
        raise SubmissionRejected("the body must be a JSON object (a results.json file)", 400)
    found = data.get("schema_version")
    if isinstance(found, bool) or found not in SUPPORTED_SCHEMA_VERSIONS:
        supported = ", ".join(map(str, SUPPORTED_SCHEMA_VERSIONS))
        raise SubmissionRejected(
            f"schema_version {found!r} is not supported (this server reads {supported})", 422
        )
    _check_model_limits(data)
    try:
        return Results.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        raise refuse(err["loc"], err["msg"]) from None


def claimed_fingerprint(results: Results) -> str:
    return results.dataset.split_fingerprint or results.dataset.fingerprint


def _claimed_top1(results: Results, split: str) -> Any:
    for row in results.rows:
        if row.key == (split, None, None, "top1"):
            return row
    return None


def _predictions(results: Results, split: str) -> Predictions | None:
    return next((p for p in results.predictions if (p.split, p.condition) == (split, None)), None)


def in_key_order(key: AnswerKey, p: Predictions) -> tuple[np.ndarray, np.ndarray]:
    """The top-k ids (n, k) in the key's query order and the order that sorted them; rejects
    anything that is not one prediction per registered query over registered candidates."""
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
    return top, order


def first_correct(key: AnswerKey, p: Predictions, top: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Position (1-based) of the first correct id in each query's top-k (``top`` from
    ``in_key_order``), k + 1 when none; a stored rank that disagrees is rejected."""
    n = len(key.query_ids)
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


def _sha256(kind: str, payload: bytes) -> str:
    return hashlib.sha256(kind.encode() + b"\0" + payload).hexdigest()


def _reported_content(results: Results) -> str:
    """What a reported entry stands on: its claimed rows, each as canonical JSON (sorted keys,
    no whitespace), in sorted order, so key order, indentation and row order do not count."""
    rows = sorted(
        json.dumps(r.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        for r in results.rows
    )
    return _sha256("reported", "\n".join(rows).encode())


def verify(results: Results, key: AnswerKey, split: str) -> Verdict:
    """The entry to store: verified from predictions, else reported from the file's own row.
    Its ``content_sha256`` covers exactly what the verdict rests on (for verified entries k and
    the top-k ids in the key's query order), so the same results under another name, token or
    serialisation hash the same."""
    row = _claimed_top1(results, split)
    p = _predictions(results, split)
    if p is None:
        if row is None:
            raise SubmissionRejected(f"the results have no pooled top1 row for split {split!r}")
        return Verdict(
            "reported",
            row.value,
            row.ci_low,
            row.ci_high,
            row.n,
            row.value,
            _reported_content(results),
            results.protocol or "default",
        )
    top, order = in_key_order(key, p)
    outcomes = (first_correct(key, p, top, order) <= 1).astype(np.float64)
    boot = bootstrap_mean(outcomes, resamples=RESAMPLES, seed=SEED)
    checkable = row is not None and results.protocol != "release"  # release: another statistic
    if checkable and row is not None and not math.isclose(row.value, boot.value, abs_tol=TOLERANCE):
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
        _sha256("verified", p.k.to_bytes(8, "little") + top.astype("<i8").tobytes()),
    )
