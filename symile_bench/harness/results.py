"""The ``results.json`` schema (pydantic), versioned by ``schema_version``, with load and save.

One file describes one model scored on one task of one dataset build (named by fingerprint).
``rows`` hold one value each, keyed by separate fields — ``split``, ``condition`` (e.g. a
missingness variant; ``None`` = the default/complete condition), ``language`` (``None`` = all
queries pooled) and ``metric`` (``top1``, ``top5``, ``top10``, ``mrr``) — never by a packed
string. Each row carries its interval, SE, n and bootstrap settings (and, by default, the release-
style 10-sample mean ± SE); predictions: per (split, condition) query ids, ranks, top-k ids.

Versioning: ``schema_version`` is an integer, currently 1. A reader refuses versions it does not
know (``load_results`` names the file, the version found and the versions supported). Any change
that removes, renames or re-types a field, or changes a field's meaning, bumps it. Optional fields
added within v1 (absent = ``None``): ``dataset.split``, ``dataset.split_fingerprint`` (the split
scored), ``task.candidates.rule`` (the candidate option, e.g. ``per-class``),
``task.missing_protocol`` (the version of ``docs/missing_modality_protocol.md`` naming the
``condition`` rows), ``model.trained_on`` (the training data, for the train-time protocol) and
``protocol`` (``default``/``release``: how the rows were computed, ``protocols.py``; absent =
``default``). A file on a blind split (``build --blind``) sets ``dataset.blind`` to true, has no
``rows`` and predictions without ``ranks`` (only the leaderboard, holding the answer key, can score
it); ``blind`` and ``ranks`` are omitted from the JSON when unset, so other files are unchanged.
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from symile_bench.atomic import write_text_atomic
from symile_bench.errors import ResultsFileError
from symile_bench.tasks import ReferenceLevel

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (1,)
RESULTS_FILENAME = "results.json"
_INDENT_MAX_PREDICTIONS = 10_000

_PACKAGES = ("symile-bench", "numpy", "pandas", "pyarrow", "pydantic", "datasets", "torch", "scipy")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=False)


class DatasetRef(_Strict):
    """Which dataset build the results were computed on."""

    name: str = Field(min_length=1)
    fingerprint: str = Field(min_length=1, description="manifest fingerprint of the build")
    config: str | None = Field(default=None, description="dataset config/variant, e.g. 'w2'")
    builder_version: str | None = None
    split: str | None = Field(default=None, description="the split scored, e.g. 'test'")
    split_fingerprint: str | None = Field(
        default=None, description="manifest fingerprint of that split (what results compare on)"
    )
    blind: bool | None = Field(
        default=None,
        description="True: the split's answers are withheld (`build --blind`), so "
        "the file holds predictions without ranks and no rows; only the leaderboard scores it",
    )

    @model_serializer(mode="wrap")
    def _omit_unset_blind(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.blind is None:  # files on ordinary splits stay as they were before `blind`
            data.pop("blind", None)
        return data


class TrainingRef(_Strict):
    """The data a model was trained on (the train-time missing-modality protocol plots accuracy
    against ``complete_fraction``)."""

    config: str = Field(min_length=1, description="dataset config, e.g. 'missing0.5'")
    split: str = Field(default="train", min_length=1)
    fingerprint: str | None = Field(default=None, description="that split's fingerprint")
    rows: int = Field(ge=0)
    complete_fraction: float = Field(
        ge=0, le=1, description="fraction of those rows with every modality observed"
    )


class ModelRef(_Strict):
    name: str = Field(min_length=1)
    scoring: str = Field(min_length=1, description="'mip', 'pairwise' or a registered scorer")
    metadata: dict[str, Any] = Field(default_factory=dict)
    trained_on: TrainingRef | None = None


class CandidateSet(_Strict):
    """What a query ranks."""

    kind: Literal["shared", "per_query"] = Field(
        description="shared: one pool for every query, correct by label; per_query: a "
        "separate list per query with the correct ones marked"
    )
    size: int = Field(ge=1, description="candidates per query")
    correct_when: str = Field(
        min_length=1, description="e.g. 'candidate label == query label (image class)'"
    )
    description: str = ""
    rule: str | None = Field(
        default=None, description="the task's candidate option, e.g. 'all', 'per-class'"
    )


class TaskSpec(_Strict):
    name: str = Field(min_length=1, description="e.g. 'xor', 'm3', 'mimic'")
    query_modalities: list[str] = Field(min_length=1)
    target_modality: str = Field(min_length=1)
    candidates: CandidateSet
    missing_protocol: str | None = Field(
        default=None, description="version of the missing-modality protocol, e.g. 'v1'"
    )
    chance_label: str | None = Field(
        default=None,
        description="the dataset's declared top-1 chance for this target, e.g. '1/32' (absent "
        "for a target other than the declared one: the rows' `chance` is always there)",
    )
    references: list[ReferenceLevel] = Field(
        default_factory=list,
        description="levels the dataset declares for comparison, e.g. M3's pairwise ceiling 1/w",
    )


class BootstrapSettings(_Strict):
    method: str = Field(min_length=1, description="'percentile'")
    resamples: int = Field(ge=1)
    seed: int
    confidence: float = Field(gt=0, lt=1)


class PaperStyle(_Strict):
    """The release's "mean over 10 bootstrap samples ± SE" (SE of that mean)."""

    mean: float
    se: float = Field(ge=0)
    samples: int = Field(ge=2)
    seed: int


class ResultRow(_Strict):
    split: str = Field(min_length=1)
    condition: str | None = None
    language: str | None = None
    metric: str = Field(min_length=1)
    value: float
    ci_low: float
    ci_high: float
    se: float = Field(ge=0)
    n: int = Field(ge=1)
    chance: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="the metric's expected value under a random ranking of these queries' "
        "candidates (from their candidate counts); what a reader compares the value with",
    )
    bootstrap: BootstrapSettings
    paper_style: PaperStyle | None = None

    @model_validator(mode="after")
    def _interval_ordered(self) -> ResultRow:
        if self.ci_low > self.ci_high:
            raise ValueError(f"ci_low {self.ci_low} is above ci_high {self.ci_high}")
        return self

    @property
    def key(self) -> tuple[str, str | None, str | None, str]:
        return (self.split, self.condition, self.language, self.metric)


class Predictions(_Strict):
    """Per-query predictions of one (split, condition), stored column-wise."""

    split: str = Field(min_length=1)
    condition: str | None = None
    k: int = Field(ge=0, description="top-k length")
    query_ids: list[int | str]
    ranks: list[int] | None = Field(
        default=None, description="rank of the first correct candidate; absent on a blind split"
    )
    top_k: list[list[int | str]]

    @field_validator("ranks")
    @classmethod
    def _ranks_positive(cls, v: list[int] | None) -> list[int] | None:
        if v and min(v) < 1:
            raise ValueError("ranks are 1-based")
        return v

    @model_validator(mode="after")
    def _aligned(self) -> Predictions:
        n = len(self.query_ids)
        n_ranks = n if self.ranks is None else len(self.ranks)
        if n_ranks != n or len(self.top_k) != n:
            raise ValueError(
                f"query_ids, ranks and top_k must have equal lengths, got {n}, "
                f"{n_ranks}, {len(self.top_k)}"
            )
        if any(len(t) > self.k for t in self.top_k):
            raise ValueError(f"a top_k entry is longer than k={self.k}")
        return self

    @model_serializer(mode="wrap")
    def _omit_unset_ranks(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.ranks is None:
            data.pop("ranks", None)
        return data


class RunSettings(_Strict):
    device: str = "cpu"
    backend: str = "numpy"
    batch_size: int | None = Field(default=None, ge=1)
    memory_budget: int | None = Field(default=None, ge=1, description="bytes per score block")
    tie_seed: int = 0
    python: str = Field(default_factory=lambda: platform.python_version())
    platform: str = Field(default_factory=lambda: platform.platform())
    packages: dict[str, str] = Field(default_factory=lambda: package_versions())


class Results(_Strict):
    schema_version: int = SCHEMA_VERSION
    toolkit_version: str = Field(default_factory=lambda: toolkit_version())
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    dataset: DatasetRef
    model: ModelRef
    task: TaskSpec
    rows: list[ResultRow] = Field(description="at least one, except on a blind split (none)")
    predictions: list[Predictions] = Field(default_factory=list)
    run: RunSettings = Field(default_factory=RunSettings)
    protocol: Literal["default", "release"] | None = None  # how rows were computed; None: default

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, v: int) -> int:
        if v not in SUPPORTED_SCHEMA_VERSIONS:
            raise ValueError(f"schema_version {v} is not supported (supported: {_versions_text()})")
        return v

    @model_validator(mode="after")
    def _blind_or_scored(self) -> Results:
        if self.dataset.blind:
            if self.rows:
                raise ValueError(
                    "results on a blind split (dataset.blind) cannot hold rows: "
                    "its answers are withheld"
                )
            if not self.predictions:
                raise ValueError("results on a blind split (dataset.blind) need predictions")
            return self
        if not self.rows:
            raise ValueError(
                "rows must hold at least one row (only results on a blind split, "
                "dataset.blind, have none)"
            )
        for i, p in enumerate(self.predictions):
            if p.ranks is None:
                raise ValueError(
                    f"predictions[{i}] has no ranks (only results on a blind "
                    "split, dataset.blind, omit them)"
                )
        return self

    @model_validator(mode="after")
    def _unique_keys(self) -> Results:
        seen: set[tuple[str, str | None, str | None, str]] = set()
        for i, row in enumerate(self.rows):
            if row.key in seen:
                raise ValueError(
                    f"rows[{i}] repeats (split, condition, language, metric) = {row.key}"
                )
            seen.add(row.key)
        pseen: set[tuple[str, str | None]] = set()
        for i, p in enumerate(self.predictions):
            if (p.split, p.condition) in pseen:
                raise ValueError(f"predictions[{i}] repeats (split, condition)")
            pseen.add((p.split, p.condition))
        return self

    def row(
        self,
        metric: str,
        *,
        split: str = "test",
        condition: str | None = None,
        language: str | None = None,
    ) -> ResultRow:
        """The row with exactly these keys (KeyError if absent)."""
        for r in self.rows:
            if r.key == (split, condition, language, metric):
                return r
        raise KeyError((split, condition, language, metric))


def toolkit_version() -> str:
    try:
        return version("symile-bench")
    except PackageNotFoundError:
        return "0+unknown"


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that affect scores (absent ones are omitted)."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def _versions_text() -> str:
    return ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_results(path: str | Path) -> Results:
    """Read and validate a results file; errors name the file and the field at fault."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsFileError(
            f"{path}: no such results file; check the path or run `symile-bench evaluate`"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ResultsFileError(f"{path}: cannot read results file ({e})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ResultsFileError(
            f"{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); restore the "
            "file or re-run `symile-bench evaluate`"
        ) from None
    if not isinstance(data, dict):
        raise ResultsFileError(f"{path}: expected a JSON object at the top level")
    if "schema_version" not in data:
        raise ResultsFileError(
            f"{path}: no schema_version field, so this is not a symile-bench results file"
        )
    found = data["schema_version"]
    if (
        isinstance(found, bool)
        or not isinstance(found, int)
        or found not in SUPPORTED_SCHEMA_VERSIONS
    ):
        newer = isinstance(found, int) and found > max(SUPPORTED_SCHEMA_VERSIONS)
        fix = "upgrade symile-bench" if newer else "re-run `symile-bench evaluate`"
        raise ResultsFileError(
            f"{path}: schema_version {found!r} is not supported (this symile-bench "
            f"{toolkit_version()} reads schema_version {_versions_text()}); {fix}"
        )
    try:
        return Results.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        more = e.error_count() - 1
        extra = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
        raise ResultsFileError(
            f"{path}: invalid field {_loc(first['loc'])}: {first['msg']}{extra}; fix the field "
            "or re-run `symile-bench evaluate`"
        ) from None


def save_results(results: Results, path: str | Path) -> Path:
    """Write ``results`` as JSON atomically (temp file beside ``path``, then rename)."""
    path = Path(path)
    if not isinstance(results, Results):
        raise TypeError("save_results expects a Results object")
    n_pred = sum(len(p.query_ids) for p in results.predictions)
    # indented for reading; compact when per-query predictions would put millions of numbers on
    # their own lines
    text = results.model_dump_json(indent=2 if n_pred <= _INDENT_MAX_PREDICTIONS else None) + "\n"
    write_text_atomic(path, text)
    return path
