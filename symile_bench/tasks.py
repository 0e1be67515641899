"""Retrieval tasks as data: what a builder declares about how its datasets are scored.

A dataset is declared once, by its builder (``DatasetBuilder.tasks(config)``), and the build
writes the declaration into ``manifest.json``. The harness learns everything about scoring a
dataset directory from there — modalities and their kinds, the default target, the candidate
rules, the chance level, how result rows are grouped — so a third-party builder is scored
without any edit to the harness, and a directory scored years later is scored as declared
when it was built.

A candidate rule is named by ``kind`` (a rule registered in the harness: ``binary-vectors``,
``split-rows``, ``stored-sets``, or a third party's) and configured by ``params``; ``name`` is
what ``evaluate --candidates`` selects.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

ROW = "row"  # the pseudo-column "row index in the split" (query ids, embedding keys)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModalitySpec(_Frozen):
    """One modality of a task. ``columns``: what a model's ``encode`` gets (several columns:
    one dict per row). ``meta``: side columns a batch exposes for oracles and debugging (hidden
    with the modality). ``missing_column``: the bool column marking rows where it is missing.
    ``id_column``: the column naming each distinct medium (rows with one id show the same
    medium, so the harness encodes it once). ``pool``: the published pool (manifest ``pools``)
    that holds ``columns``, joined on ``id_column``: the rows hold only the id."""

    name: str = Field(min_length=1)
    kind: str = Field(
        min_length=1, description="what the values are: vector, audio, image, text, signal, ..."
    )
    columns: tuple[str, ...] = Field(min_length=1)
    meta: tuple[str, ...] = ()
    missing_column: str | None = None
    id_column: str | None = None
    pool: str | None = None

    @model_validator(mode="after")
    def _pool_has_key(self) -> ModalitySpec:
        if self.pool is not None and self.id_column is None:
            raise ValueError(f"modality {self.name!r} is pooled but names no id_column")
        return self


class CandidateRuleSpec(_Frozen):
    """What each query ranks and which candidates are correct (see ``harness.candidates``)."""

    name: str = Field(min_length=1, description="the value of `evaluate --candidates`")
    kind: str = Field(min_length=1, description="a candidate rule registered in the harness")
    params: dict[str, Any] = Field(default_factory=dict)


class ReferenceLevel(_Frozen):
    """A level a reader compares results with, besides chance (M3: CLIP's ceiling 1/w)."""

    name: str = Field(min_length=1)
    value: float = Field(ge=0, le=1)
    label: str = Field(min_length=1, description="how a table or plot names it, e.g. '1/w = 0.2'")
    metric: str = "top1"


class RetrievalTask(_Frozen):
    """One zero-shot retrieval task. The first candidate rule is the default; ``chance`` is
    the top-1 of a random ranking under the default target and rule (``chance_label`` how a
    reader writes it, e.g. "1/32"). Results rows carry the chance of their own queries,
    computed from the candidate sets, for any target and rule."""

    name: str = Field(min_length=1)
    description: str = ""
    modalities: tuple[ModalitySpec, ...] = Field(min_length=2)
    target: str = Field(min_length=1)
    candidates: tuple[CandidateRuleSpec, ...] = Field(min_length=1)
    query_id: str = ROW
    group_by: str | None = Field(
        default=None, description="extra result rows per value of this column (M3: language)"
    )
    chance: float = Field(gt=0, le=1)
    chance_label: str = Field(min_length=1)
    references: tuple[ReferenceLevel, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> RetrievalTask:
        names = [m.name for m in self.modalities]
        if len(set(names)) != len(names):
            raise ValueError(f"task {self.name!r} repeats a modality name: {names}")
        if self.target not in names:
            raise ValueError(f"task {self.name!r}: target {self.target!r} is not one of {names}")
        rules = [r.name for r in self.candidates]
        if len(set(rules)) != len(rules):
            raise ValueError(f"task {self.name!r} repeats a candidate rule name: {rules}")
        return self

    def without_pools(self) -> RetrievalTask:
        """The task of the same data with every medium inline (an export of a pooled build)."""
        inline = tuple(m.model_copy(update={"pool": None}) for m in self.modalities)
        return self.model_copy(update={"modalities": inline})

    def modality(self, name: str) -> ModalitySpec | None:
        return next((m for m in self.modalities if m.name == name), None)
