"""Zero-shot retrieval tasks, declared as data: modalities (and the columns that hold them), the
default target, the candidate rules, the query id and the grouping of result rows.

A task is looked up by the dataset's builder name (from ``manifest.json``), so a third-party
builder adds its own task through the entry-point group ``symile_bench.tasks`` (an entry point
loads a ``TaskDef``) or ``register_task`` — no dispatch on dataset names anywhere else.

Any modality can be the target (``--target``): the queries are then all the others, and the
candidate rule and correctness stay the task's.
"""

from __future__ import annotations

from dataclasses import dataclass

from symile_bench.harness.candidates import (
    AllBinaryVectors,
    CandidatePlan,
    CandidateRule,
    SplitRows,
    StoredSets,
)
from symile_bench.harness.errors import HarnessInputError
from symile_bench.harness.results import CandidateSet, TaskSpec
from symile_bench.harness.splitdata import ROW
from symile_bench.registry import Registry


@dataclass(frozen=True)
class Modality:
    """``columns``: what ``encode`` gets (several columns: one dict per row, and
    ``batch.numpy()`` concatenates them). ``meta``: side columns a batch exposes as
    ``batch.meta`` (for oracles and debugging; hidden with the modality). ``missing_column``:
    the bool column that marks rows where the modality is missing."""

    name: str
    columns: tuple[str, ...]
    meta: tuple[str, ...] = ()
    missing_column: str | None = None


@dataclass(frozen=True)
class TaskDef:
    name: str
    modalities: tuple[Modality, ...]
    target: str
    candidates: tuple[CandidateRule, ...]  # the first is the default
    query_id: str = ROW  # column whose values identify a query in predictions
    group_by: str | None = None  # extra result rows per value of this column (M3: language)
    description: str = ""

    def modality(self, name: str, option: str = "--target") -> Modality:
        for m in self.modalities:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.modalities)
        raise HarnessInputError(
            f"{option} {name!r} is not a modality of task {self.name!r} (it has: {known})"
        )

    def resolve(self, target: str | None = None, candidates: str | None = None) -> ResolvedTask:
        tgt = self.modality(target or self.target)
        rules = {r.name: r for r in self.candidates}
        name = candidates or self.candidates[0].name
        if name not in rules:
            raise HarnessInputError(
                f"--candidates {name!r} is not offered by task {self.name!r} (use: "
                f"{', '.join(rules)})"
            )
        query = tuple(m for m in self.modalities if m.name != tgt.name)
        return ResolvedTask(self, query, tgt, rules[name])


@dataclass(frozen=True)
class ResolvedTask:
    task: TaskDef
    query: tuple[Modality, ...]
    target: Modality
    rule: CandidateRule

    @property
    def query_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.query)

    def spec(self, plan: CandidatePlan, missing_protocol: str | None = None) -> TaskSpec:
        return TaskSpec(
            name=self.task.name,
            query_modalities=list(self.query_names),
            target_modality=self.target.name,
            candidates=CandidateSet(
                kind=plan.kind,
                size=plan.size,
                correct_when=plan.correct_when,
                description=plan.description,
                rule=self.rule.name,
            ),
            missing_protocol=missing_protocol,
        )


TASKS: Registry[TaskDef] = Registry("task", group="symile_bench.tasks", error=HarnessInputError)


def register_task(task: TaskDef, *, overwrite: bool = False) -> TaskDef:
    """Declare the task of datasets built by the builder named ``task.name``."""
    return TASKS.register(task.name, task, overwrite=overwrite)


def task_for(builder: str) -> TaskDef:
    if builder not in TASKS:
        raise HarnessInputError(
            f"no evaluation task is declared for datasets built by {builder!r} (known: "
            f"{', '.join(TASKS.names())}); declare one with "
            "symile_bench.harness.tasks.register_task or the entry-point group symile_bench.tasks"
        )
    found = TASKS.get(builder)
    if not isinstance(found, TaskDef):
        raise HarnessInputError(f"the task entry point for {builder!r} must load a TaskDef")
    return found


register_task(
    TaskDef(
        name="xor",
        modalities=(Modality("a", ("a",)), Modality("b", ("b",)), Modality("c", ("c",))),
        target="b",
        candidates=(AllBinaryVectors(),),
        description="predict b from (a, c) among all 2^d binary vectors",
    )
)
register_task(
    TaskDef(
        name="m3",
        modalities=(
            Modality(
                "audio", ("audio",), meta=("lang", "audio_id"), missing_column="audio_missing"
            ),
            Modality(
                "image",
                ("image",),
                meta=("cls_id", "synset_id", "image_id"),
                missing_column="image_missing",
            ),
            Modality("text", ("text",), missing_column="text_missing"),
        ),
        target="image",
        candidates=(
            SplitRows("all", "cls_id"),
            SplitRows("per-class", "cls_id", one_per_label=True),
        ),
        group_by="lang",
        description="predict the image's class from (audio, text) among the split's images",
    )
)
register_task(
    TaskDef(
        name="mimic",
        modalities=(
            Modality("ecg", ("ecg",)),
            Modality("labs", ("labs_percentile", "labs_missing")),
            Modality("cxr", ("cxr",)),
        ),
        target="cxr",
        candidates=(StoredSets("stored", "candidates", "hadm_id"),),
        query_id="hadm_id",
        description="find the admission's own chest X-ray among its 10 stored candidates",
    )
)
