"""Run a builder into a dataset directory: plan, resume, execute, then card and manifest.

Before anything is written, `preflight` checks that the builder can finish (its card template,
card, croissant and manifest render on a dry run of the plan). Order of commits:
`.symile-build.json` (what is being built) first; each pool and shard is moved into place when
complete and recorded under `.symile-progress/` (`build_dir`); the card (`README.md`) and
`croissant.json`, then `manifest.json`, the marker of a complete build, last. A killed build
therefore leaves only complete files plus a record of them, and the same command resumes it;
a different config is refused rather than mixed in; a second build into the same directory at
the same time is refused at start. A start that fails before its first file leaves the
directory as it was. The directory may be a local path or any fsspec URL (`storage.Store`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from symile_bench.build_dir import (
    SPEC_NAME,
    build_lock,
    build_spec,
    check_out_path,
    forget,
    has_committed_files,
    load_progress,
    prepare_out_dir,
    record,
    release_lock_file,
)
from symile_bench.build_manifest import assemble_manifest
from symile_bench.build_worker import WorkItem, execute
from symile_bench.builder import (
    BuilderConfig,
    DatasetBuilder,
    ResourceTask,
    ShardTask,
    TaskContext,
)
from symile_bench.cards import CARD_NAME
from symile_bench.croissant import CROISSANT_NAME
from symile_bench.errors import BuildInterrupted, ConfigError, DiskFullError
from symile_bench.executors import Executor
from symile_bench.manifest import FileRecord, Manifest, write_manifest
from symile_bench.preflight import preflight
from symile_bench.progress import progress_bar
from symile_bench.shards import is_complete
from symile_bench.storage import Store, as_store

Task = TypeVar("Task", ShardTask, ResourceTask)


def parse_config(builder: DatasetBuilder[Any], options: dict[str, Any]) -> BuilderConfig:
    """Validate options into the builder's Config; errors name the CLI option at fault."""
    from symile_bench.options import parse_options

    return parse_options(builder.Config, options)


def check_seed(seed: object) -> int:
    """Seeds feed `numpy.random.SeedSequence`, which takes non-negative integers only."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"--seed must be a non-negative integer, got {seed!r}")
    return seed


class FinishStep(Protocol):
    """Work between the last shard and the manifest (the CLI's blind release): `check`
    refuses a request before any work starts; the call returns the manifest to write."""

    def check(self, builder: DatasetBuilder[Any], config: BuilderConfig, store: Store) -> None: ...

    def __call__(
        self,
        builder: DatasetBuilder[Any],
        config: BuilderConfig,
        store: Store,
        manifest: Manifest,
    ) -> Manifest: ...


@dataclass
class BuildResult:
    out_dir: Store
    manifest: Manifest | None  # None after a partial (`--shards`) build: run `finalize`
    built: int
    skipped: int


def parse_shard_range(text: str) -> tuple[int, int]:
    """`START:END` (END exclusive, either side may be empty) -> (start, end or -1)."""
    start, sep, end = text.partition(":")
    try:
        if not sep:
            raise ValueError
        lo = int(start) if start.strip() else 0
        hi = int(end) if end.strip() else -1
    except ValueError:
        raise ConfigError(f"--shards {text!r}: use START:END, e.g. 0:10 (END exclusive)") from None
    if lo < 0 or (hi != -1 and hi <= lo):
        raise ConfigError(f"--shards {text!r}: need 0 <= START < END")
    return lo, hi


def _select(shards: list[ShardTask], shard_range: tuple[int, int]) -> list[ShardTask]:
    lo, hi = shard_range
    hi = len(shards) if hi == -1 else hi
    if lo >= len(shards):
        raise ConfigError(
            f"--shards {lo}:{hi}: this build has only {len(shards)} shards "
            f"(indices 0..{len(shards) - 1})"
        )
    return shards[lo:hi]


def build(
    builder: DatasetBuilder[Any],
    config: BuilderConfig,
    out_dir: Path | str | Store,
    *,
    seed: int = 0,
    executor: Executor,
    overwrite: bool = False,
    quiet: bool = False,
    warn: Callable[[str], None] = print,
    shard_range: tuple[int, int] | None = None,
    finish_step: FinishStep | None = None,
) -> BuildResult:
    """Build (or resume) `builder` with `config` into `out_dir` (a path or fsspec URL).

    With `shard_range`, only those shard indices (positions in the plan) are built, after any
    missing resource; the manifest is left to `finalize`, so independent jobs (a SLURM array)
    can each build a range into one shared directory (they share the directory's lock).

    `finish_step` runs between the last shard and the manifest (the CLI's blind release,
    `symile_bench.cli_blind`); its `check` runs first, before anything is written.
    """
    store = as_store(out_dir)
    check_seed(seed)
    if finish_step is not None:
        if shard_range is not None:
            raise ConfigError(
                "--blind applies when the manifest is written: build the "
                "--shards ranges without it, then run `symile-bench finalize OUT "
                "--blind --answer-key FILE`"
            )
        finish_step.check(builder, config, store)
    config = builder.prepare(config, warn)
    preflight(builder, config)  # a builder that could not finish fails before its first file
    spec = build_spec(builder, config, seed)
    check_out_path(store)
    created = not store.exists()
    with build_lock(store, shared=shard_range is not None):
        prepare_out_dir(store, spec, overwrite)
        if shard_range is None:  # a lone build owns the directory; parallel range jobs do not
            store.remove_temps()
        store.write_text(SPEC_NAME, json.dumps(spec, indent=2) + "\n")
        try:
            result = _Run(builder, config, seed, store, executor, quiet).all(
                shard_range, finish_step
            )
        except KeyboardInterrupt:
            _after_failure(store, created)
            kept = len(load_progress(store))
            raise BuildInterrupted(
                f"interrupted: {kept} complete file(s) kept in {store}; rerun the same command "
                "to resume"
            ) from None
        except BaseException:
            _after_failure(store, created)
            raise
    if result.manifest is not None:
        release_lock_file(store)
    return result


def _after_failure(store: Store, created: bool) -> None:
    """A start that committed nothing leaves the directory as it was before it."""
    if not has_committed_files(store):
        forget(store, created)


class _Run:
    """One invocation of `build`: which tasks are still to do, and doing them."""

    def __init__(
        self,
        builder: DatasetBuilder[Any],
        config: BuilderConfig,
        seed: int,
        store: Store,
        executor: Executor,
        quiet: bool,
    ) -> None:
        self.builder, self.config, self.seed, self.store = builder, config, seed, store
        self.executor, self.quiet = executor, quiet
        self.done = load_progress(store)
        self.records: dict[str, FileRecord] = {}

    def pending(self, tasks: Sequence[Task]) -> list[Task]:
        """Tasks still to run; those whose committed file re-hashes correctly are kept."""
        todo = []
        for task in tasks:
            rec = self.done.get(task.file)
            if rec is not None and is_complete(self.store, rec):
                self.records[task.file] = rec
            else:
                todo.append(task)
        return todo

    def all(
        self, shard_range: tuple[int, int] | None, finish_step: FinishStep | None
    ) -> BuildResult:
        builder, config, store = self.builder, self.config, self.store
        resources = builder.resources(config)
        todo_resources = self.pending(resources)
        with progress_bar(self.quiet) as progress:
            self.progress = progress
            stages = sorted({t.stage for t in todo_resources})
            for stage in stages:
                label = "resources" if len(stages) == 1 else f"resources (stage {stage})"
                self.phase(label, [t for t in todo_resources if t.stage == stage], "items")
            # Shards are planned once every resource exists: a builder may size them from one
            # (MIMIC's split sizes come from its cohort).
            shards = builder.plan_with_resources(config, TaskContext(seed=self.seed, store=store))
            selected = shards if shard_range is None else _select(shards, shard_range)
            todo_shards = self.pending(selected)
            self.phase(builder.name, todo_shards, "rows")
        skipped = len(resources) - len(todo_resources) + len(selected) - len(todo_shards)
        built = len(self.records) - skipped
        if shard_range is not None:
            return BuildResult(store, None, built, skipped)
        manifest = finish(
            builder, config, self.seed, store, resources, shards, self.records, finish_step
        )
        return BuildResult(store, manifest, built, skipped)

    def phase(self, label: str, tasks: Sequence[ShardTask | ResourceTask], unit: str) -> None:
        if not tasks:
            return

        def size(task: ShardTask | ResourceTask) -> int:
            return task.rows or 1

        bar = self.progress.add_task(label, total=sum(size(t) for t in tasks), unit=unit)
        by_file = {t.file: t for t in tasks}
        cfg = self.config.model_dump(mode="json")
        phase = uuid.uuid4().hex
        items = [
            WorkItem(self.builder.import_path(), cfg, self.seed, str(self.store), t, phase)
            for t in tasks
        ]
        try:
            for rec in self.executor.map_unordered(execute, items):
                self.records[rec.file] = rec
                record(self.store, rec)
                self.progress.advance(bar, size(by_file[rec.file]))
        except DiskFullError as exc:
            raise DiskFullError(f"{exc}; {self.remaining_bytes(tasks)}") from None

    def remaining_bytes(self, tasks: Sequence[ShardTask | ResourceTask]) -> str:
        """An estimate of what the rest of the phase needs, from the files already written."""
        sizes = [
            self.store.size(rec.file)
            for rec in self.records.values()
            if self.store.is_file(rec.file)
        ]
        left = sum(1 for t in tasks if t.file not in self.records)
        if not sizes:
            return f"{left} file(s) of this phase are still to write"
        return (
            f"the {left} file(s) still to write need about {left * sum(sizes) // len(sizes):,} "
            "bytes"
        )


def finish(
    builder: DatasetBuilder[Any],
    config: BuilderConfig,
    seed: int,
    store: Store,
    resources: list[ResourceTask],
    shards: list[ShardTask],
    records: dict[str, FileRecord],
    finish_step: FinishStep | None = None,
) -> Manifest:
    """`finish_step` (a blind release), the card and `croissant.json`, then `manifest.json`,
    the marker of a complete build, and last the in-progress files are dropped. A build
    stopped before the manifest is one `verify` refuses and the same command finishes."""
    manifest = assemble_manifest(builder, config, seed, shards, resources, records)
    if finish_step is not None:
        manifest = finish_step(builder, config, store, manifest)
    store.write_text(CARD_NAME, builder.render_card(config, manifest))
    store.write_text(CROISSANT_NAME, builder.render_croissant(manifest))
    write_manifest(store, manifest)
    forget(store, created=False)
    return manifest
