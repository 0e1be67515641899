"""The task of one evaluation, resolved from what the dataset directory declares.

A dataset's tasks are declared by its builder and written into ``manifest.json``
(``symile_bench.tasks``); the harness reads them from there and nowhere else, so it names no
dataset. Any modality can be the target (``--target``): the queries are then all the others,
and the candidate rule and correctness stay the task's.
"""

from __future__ import annotations

from dataclasses import dataclass

from symile_bench.errors import HarnessInputError
from symile_bench.harness.candidates import CandidatePlan, CandidateRule, rule_from_spec
from symile_bench.harness.results import CandidateSet, TaskSpec
from symile_bench.manifest import Manifest
from symile_bench.tasks import ModalitySpec, RetrievalTask


def declared_task(manifest: Manifest, name: str | None = None, where: str = "") -> RetrievalTask:
    """The task named ``name`` (default: the first) that the build declared."""
    place = f"{where}: " if where else ""
    if not manifest.tasks:
        raise HarnessInputError(
            f"{place}the dataset's manifest.json declares no retrieval task (builder "
            f"{manifest.builder!r} {manifest.builder_version} defines none, or the directory "
            "was built by a symile-bench older than 0.2); rebuild it with this version"
        )
    if name is None:
        return manifest.tasks[0]
    for task in manifest.tasks:
        if task.name == name:
            return task
    known = ", ".join(t.name for t in manifest.tasks)
    raise HarnessInputError(f"{place}--task {name!r} is not declared by this dataset ({known})")


def _modality(task: RetrievalTask, name: str, option: str) -> ModalitySpec:
    found = task.modality(name)
    if found is None:
        known = ", ".join(m.name for m in task.modalities)
        raise HarnessInputError(
            f"{option} {name!r} is not a modality of task {task.name!r} (it has: {known})"
        )
    return found


@dataclass(frozen=True)
class ResolvedTask:
    """A declared task with the target and candidate rule of one evaluation chosen."""

    task: RetrievalTask
    query: tuple[ModalitySpec, ...]
    target: ModalitySpec
    rule: CandidateRule

    @classmethod
    def of(
        cls, task: RetrievalTask, target: str | None = None, candidates: str | None = None
    ) -> ResolvedTask:
        tgt = _modality(task, target or task.target, "--target")
        rules = {r.name: r for r in task.candidates}
        name = candidates or task.candidates[0].name
        if name not in rules:
            raise HarnessInputError(
                f"--candidates {name!r} is not offered by task {task.name!r} (use: "
                f"{', '.join(rules)})"
            )
        query = tuple(m for m in task.modalities if m.name != tgt.name)
        return cls(task, query, tgt, rule_from_spec(rules[name]))

    @property
    def query_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.query)

    def spec(self, plan: CandidatePlan, missing_protocol: str | None = None) -> TaskSpec:
        declared = self.target.name == self.task.target
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
            # the declared levels hold for the declared target (any of its rules)
            chance_label=self.task.chance_label if declared else None,
            references=list(self.task.references) if declared else [],
        )


def resolve(
    manifest: Manifest,
    *,
    task: str | None = None,
    target: str | None = None,
    candidates: str | None = None,
    where: str = "",
) -> ResolvedTask:
    """The declared task (``task``, default the first) with ``target`` and ``candidates``."""
    return ResolvedTask.of(declared_task(manifest, task, where), target, candidates)
