"""`symile-bench finalize DIR`: finish a build made of `--shards` jobs.

Every pool and shard the plan names must be present and intact; files without a progress
record (written by a job killed before it could record them) are accepted after a row count
check, since a file under its final name was renamed into place only when complete. Then the
card, croissant and, last, the manifest are written as a lone build would write them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from symile_bench.build import FinishStep, finish
from symile_bench.build_dir import SPEC_NAME, build_lock, load_progress, release_lock_file
from symile_bench.builder import ResourceTask, ShardTask, TaskContext
from symile_bench.errors import DatasetDirError
from symile_bench.manifest import MANIFEST_NAME, FileRecord, Manifest, read_manifest
from symile_bench.preflight import preflight
from symile_bench.registry import get_builder
from symile_bench.shards import is_complete
from symile_bench.storage import Store, as_store


def finalize(out_dir: Path | str | Store, finish_step: FinishStep | None = None) -> Manifest:
    """Check a `--shards` build and write its manifest and card (`finish_step` as in
    `build`: `finalize --blind`)."""
    store = as_store(out_dir)
    if not store.is_file(SPEC_NAME):
        return _already_finalized(store, finish_step)
    with build_lock(store, shared=False):
        manifest = _finalize_started(store, finish_step)
    release_lock_file(store)
    return manifest


def _already_finalized(store: Store, finish_step: FinishStep | None) -> Manifest:
    if not store.is_file(MANIFEST_NAME):
        raise DatasetDirError(f"{store.path(SPEC_NAME)} not found: {store} holds no started build")
    manifest = read_manifest(store)
    blind = any(r.withheld for v in manifest.variants.values() for r in v.splits.values())
    if finish_step is not None and not blind:
        raise DatasetDirError(
            f"{store} is already finalized without --blind; rerun "
            "its build command with --blind --answer-key FILE"
        )
    return manifest


def _finalize_started(store: Store, finish_step: FinishStep | None) -> Manifest:
    spec: dict[str, Any] = json.loads(store.read_text(SPEC_NAME))
    builder = get_builder(spec["builder"])
    if builder.version != spec["builder_version"]:
        raise DatasetDirError(
            f"{store} was started with {builder.name} {spec['builder_version']}, installed is "
            f"{builder.version}; finish it with the same version"
        )
    config, seed = builder.Config(**spec["config"]), spec["seed"]
    preflight(builder, config)
    if finish_step is not None:
        finish_step.check(builder, config, store)
    resources = builder.resources(config)
    found = _Collected(store)
    found.collect(resources)
    if found.missing:
        raise DatasetDirError(
            f"{len(found.missing)} pool file(s) missing or damaged in {store}, first "
            f"{found.missing[0]}; rerun any `--shards` job (it rebuilds missing pools)"
        )
    shards = builder.plan_with_resources(config, TaskContext(seed=seed, store=store))
    found.collect(shards)
    if found.missing:
        first = found.missing[0]
        index = next(i for i, t in enumerate(shards) if first.startswith(t.file))
        raise DatasetDirError(
            f"{len(found.missing)} of {len(shards)} shards missing or damaged in {store}, first "
            f"{first} (shard index {index}); build them with the same command and "
            f"--shards {index}:{index + 1} (or the range holding them), then finalize again"
        )
    store.remove_temps()
    return finish(builder, config, seed, store, resources, shards, found.records, finish_step)


class _Collected:
    """The committed file of each task, and the tasks whose file is missing or damaged."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.done = load_progress(store)
        self.records: dict[str, FileRecord] = {}
        self.missing: list[str] = []

    def collect(self, tasks: list[ShardTask] | list[ResourceTask]) -> None:
        store = self.store
        for task in tasks:
            rec = self.done.get(task.file)
            if rec is not None and is_complete(store, rec):
                self.records[task.file] = rec
            elif rec is None and store.is_file(task.file):
                rows = store.read_table(task.file).num_rows
                if isinstance(task, ShardTask) and rows != task.rows:
                    self.missing.append(f"{task.file} (has {rows} rows, planned {task.rows})")
                    continue
                self.records[task.file] = FileRecord(
                    file=task.file,
                    rows=rows,
                    sha256=store.sha256(task.file),
                    bytes=store.size(task.file),
                )
            else:
                self.missing.append(task.file)
