"""Run a builder into a dataset directory: plan, resume, execute, then manifest and card.

Order of commits: `.symile-build.json` (what is being built) first; each pool and shard is
moved into place when complete and recorded under `.symile-progress/` (one small record per
file: object stores cannot append); `manifest.json` and the card last. A killed build
therefore leaves only complete files plus a record of them, and the same command resumes it;
a different config is refused rather than mixed in. The directory may be a local path or any
fsspec URL (`storage.Store`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

import symile_bench
from symile_bench.builder import (
    BuilderConfig,
    DatasetBuilder,
    ResourceTask,
    ShardTask,
    TaskContext,
    instantiate,
    iter_batches,
)
from symile_bench.errors import ConfigError, DatasetDirError
from symile_bench.executors import Executor
from symile_bench.manifest import (
    MANIFEST_NAME,
    FileRecord,
    Manifest,
    SplitRecord,
    VariantRecord,
    dataset_fingerprint,
    read_manifest,
    split_fingerprint,
    write_manifest,
)
from symile_bench.progress import progress_bar
from symile_bench.shards import hf_schema, is_complete, write_shard
from symile_bench.storage import Store, as_store

SPEC_NAME = ".symile-build.json"
PROGRESS_DIR = ".symile-progress"
OWNED = ("data", "pools", MANIFEST_NAME, "README.md", SPEC_NAME, PROGRESS_DIR)


def parse_config(builder: DatasetBuilder, options: dict[str, Any]) -> BuilderConfig:
    """Validate options into the builder's Config; errors name the CLI option at fault."""
    try:
        return builder.Config(**options)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            option = "--" + "-".join(str(p) for p in err["loc"][:1]).replace("_", "-")
            message = err["msg"].removeprefix("Value error, ")
            got = err.get("input")
            if str(got) not in message:
                message += f" (got {got!r})"
            problems.append(f"{option}: {message}")
        raise ConfigError("; ".join(problems)) from None


class FinishStep(Protocol):
    """Work between the last shard and the manifest (the CLI's blind release): `check`
    refuses a request before any work starts; the call returns the manifest to write."""

    def check(self, builder: DatasetBuilder, config: BuilderConfig, store: Store) -> None: ...

    def __call__(
        self, builder: DatasetBuilder, config: BuilderConfig, store: Store, manifest: Manifest
    ) -> Manifest: ...


@dataclass(frozen=True)
class WorkItem:
    """Everything a worker process needs; small and picklable."""

    builder_class: str
    config: dict[str, Any]
    seed: int
    out_dir: str
    task: ShardTask | ResourceTask


_WORKER_BUILDERS: dict[str, DatasetBuilder] = {}


def execute(item: WorkItem) -> FileRecord:
    """Run one task and commit its file (runs in a worker process or in-process)."""
    builder = _WORKER_BUILDERS.get(item.builder_class)
    if builder is None:
        builder = _WORKER_BUILDERS[item.builder_class] = instantiate(item.builder_class)
    config = builder.Config(**item.config)
    store = Store(item.out_dir)
    ctx = TaskContext(seed=item.seed, store=store)
    task = item.task
    if isinstance(task, ResourceTask):
        table = builder.build_resource(config, task, ctx)
        return write_shard(store, task.file, table.to_batches(), table.schema)
    schema = hf_schema(builder.features(config, task.variant))
    record = write_shard(store, task.file, iter_batches(builder.run(config, task, ctx)), schema)
    if record.rows != task.rows:
        raise RuntimeError(
            f"{builder.name} wrote {record.rows} rows to {task.file}, planned {task.rows}"
        )
    return record


def _spec(builder: DatasetBuilder, config: BuilderConfig, seed: int) -> dict[str, Any]:
    return {
        "builder": builder.name,
        "builder_version": builder.version,
        "config": config.model_dump(mode="json"),
        "seed": seed,
    }


def _describe_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    diffs = []
    for key in ("builder", "builder_version", "seed"):
        if old.get(key) != new[key]:
            diffs.append(f"{key.replace('_', '-')} {old.get(key)!r} -> {new[key]!r}")
    old_cfg, new_cfg = old.get("config", {}), new["config"]
    for key in sorted(set(old_cfg) | set(new_cfg)):
        if old_cfg.get(key) != new_cfg.get(key):
            diffs.append(f"--{key.replace('_', '-')} {old_cfg.get(key)!r} -> {new_cfg.get(key)!r}")
    return ", ".join(diffs)


def _existing_spec(store: Store) -> dict[str, Any] | None:
    if store.is_file(SPEC_NAME):
        return json.loads(store.read_text(SPEC_NAME))
    if store.is_file(MANIFEST_NAME):
        m = read_manifest(store)
        return {
            "builder": m.builder,
            "builder_version": m.builder_version,
            "config": m.config,
            "seed": m.seed,
        }
    return None


def prepare_out_dir(store: Store, spec: dict[str, Any], overwrite: bool) -> None:
    """Refuse to mix configs or clobber unrelated files; clear our own files on --overwrite."""
    if store.exists() and not store.is_dir():
        raise DatasetDirError(f"--out {store} is an existing file; give a directory path")
    if not store.exists():
        store.mkdir()
        return
    old = _existing_spec(store)
    if old is None:
        if not store.is_empty():
            raise DatasetDirError(
                f"--out {store} is a non-empty directory that is not a symile-bench dataset; "
                "choose an empty or new directory"
            )
        return
    if old == spec:
        return
    if not overwrite:
        raise DatasetDirError(
            f"{store} holds a build with a different config ({_describe_difference(old, spec)}); "
            "use another --out, or pass --overwrite to replace it"
        )
    for name in OWNED:
        store.remove(name)


def _record_name(file: str) -> str:
    return file.replace("/", "__") + ".json"


def _record(store: Store, rec: FileRecord) -> None:
    """Note a committed file; a record cut short by a kill is ignored, and its file redone."""
    store.write_text(f"{PROGRESS_DIR}/{_record_name(rec.file)}", rec.model_dump_json())


def _load_progress(store: Store) -> dict[str, FileRecord]:
    records: dict[str, FileRecord] = {}
    for name in store.list(PROGRESS_DIR):
        try:
            rec = FileRecord.model_validate_json(store.read_text(f"{PROGRESS_DIR}/{name}"))
        except (ValidationError, OSError):
            continue
        records[rec.file] = rec
    if store.is_file(MANIFEST_NAME):
        manifest = read_manifest(store)
        for rec in manifest.resources:
            records.setdefault(rec.file, rec)
        for variant in manifest.variants.values():
            for split in variant.splits.values():
                if split.withheld is None:  # a blind split's shards are rebuilt in full
                    for rec in split.shards:
                        records.setdefault(rec.file, rec)
    return records


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
    builder: DatasetBuilder,
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
    can each build a range into one shared directory.

    `finish_step` runs between the last shard and the manifest (the CLI's blind release,
    `symile_bench.cli_blind`); its `check` runs first, before anything is written.
    """
    store = as_store(out_dir)
    if finish_step is not None:
        if shard_range is not None:
            raise ConfigError(
                "--blind applies when the manifest is written: build the "
                "--shards ranges without it, then run `symile-bench finalize OUT "
                "--blind --answer-key FILE`"
            )
        finish_step.check(builder, config, store)
    config = builder.prepare(config, warn)
    spec = _spec(builder, config, seed)
    prepare_out_dir(store, spec, overwrite)
    if shard_range is None:  # a lone build owns the directory; parallel range jobs do not
        store.remove_temps()
    store.write_text(SPEC_NAME, json.dumps(spec, indent=2) + "\n")

    resources = builder.resources(config)
    done = _load_progress(store)
    records: dict[str, FileRecord] = {}

    def pending(tasks: list) -> list:
        """Tasks still to run; those whose committed file re-hashes correctly are kept."""
        todo = []
        for task in tasks:
            rec = done.get(task.file)
            if rec is not None and is_complete(store, rec):
                records[task.file] = rec
            else:
                todo.append(task)
        return todo

    todo_resources: list[ResourceTask] = pending(resources)

    def items(tasks: list) -> list[WorkItem]:
        cfg = config.model_dump(mode="json")
        return [WorkItem(builder.import_path(), cfg, seed, str(store), t) for t in tasks]

    stages = sorted({t.stage for t in todo_resources})
    phases = [
        (
            f"resources (stage {s})" if len(stages) > 1 else "resources",
            [t for t in todo_resources if t.stage == s],
            "items",
            lambda t: t.rows or 1,
        )
        for s in stages
    ]
    with progress_bar(quiet) as progress:

        def run_phase(label: str, tasks: list, unit: str, size: Callable) -> None:
            if not tasks:
                return
            bar = progress.add_task(label, total=sum(size(t) for t in tasks), unit=unit)
            by_file = {t.file: t for t in tasks}
            for rec in executor.map_unordered(execute, items(tasks)):
                records[rec.file] = rec
                _record(store, rec)
                progress.advance(bar, size(by_file[rec.file]))

        for phase in phases:
            run_phase(*phase)
        # Shards are planned once every resource exists: a builder may size them from one
        # (MIMIC's split sizes come from its cohort).
        shards = builder.plan_with_resources(config, TaskContext(seed=seed, store=store))
        selected = shards if shard_range is None else _select(shards, shard_range)
        todo_shards: list[ShardTask] = pending(selected)
        run_phase(builder.name, todo_shards, "rows", lambda t: t.rows)
    skipped = len(resources) - len(todo_resources) + len(selected) - len(todo_shards)
    built = len(records) - skipped
    if shard_range is not None:
        return BuildResult(store, None, built, skipped)
    manifest = _finish(builder, config, seed, store, resources, shards, records, finish_step)
    return BuildResult(store, manifest, built, skipped)


def _finish(
    builder: DatasetBuilder,
    config: BuilderConfig,
    seed: int,
    store: Store,
    resources: list[ResourceTask],
    shards: list[ShardTask],
    records: dict[str, FileRecord],
    finish_step: FinishStep | None = None,
) -> Manifest:
    """`finish_step` (a blind release), manifest, card, then drop the in-progress files: the
    build is now complete."""
    manifest = _assemble_manifest(builder, config, seed, shards, resources, records)
    if finish_step is not None:
        manifest = finish_step(builder, config, store, manifest)
    write_manifest(store, manifest)
    store.write_text("README.md", builder.render_card(config, manifest))
    store.remove(PROGRESS_DIR)
    store.remove(SPEC_NAME)
    return manifest


def finalize(out_dir: Path | str | Store, finish_step: FinishStep | None = None) -> Manifest:
    """Check that every pool and shard of a build made of `--shards` jobs is present and
    intact, then write the manifest and card. Files without a progress record (written by a
    job killed before it could record them) are accepted after a row count check: a file
    under its final name was renamed into place only when complete. `finish_step` as in
    `build` (`finalize --blind`)."""
    from symile_bench.registry import get_builder

    store = as_store(out_dir)
    if not store.is_file(SPEC_NAME):
        if store.is_file(MANIFEST_NAME):
            manifest = read_manifest(store)
            if finish_step is not None and not any(
                r.withheld for v in manifest.variants.values() for r in v.splits.values()
            ):
                raise DatasetDirError(
                    f"{store} is already finalized without --blind; rerun "
                    "its build command with --blind --answer-key FILE"
                )
            return manifest
        raise DatasetDirError(f"{store.path(SPEC_NAME)} not found: {store} holds no started build")
    spec = json.loads(store.read_text(SPEC_NAME))
    builder = get_builder(spec["builder"])
    if builder.version != spec["builder_version"]:
        raise DatasetDirError(
            f"{store} was started with {builder.name} {spec['builder_version']}, installed is "
            f"{builder.version}; finish it with the same version"
        )
    config, seed = builder.Config(**spec["config"]), spec["seed"]
    if finish_step is not None:
        finish_step.check(builder, config, store)
    resources = builder.resources(config)
    done = _load_progress(store)
    records: dict[str, FileRecord] = {}
    missing: list[str] = []

    def collect(tasks: list) -> None:
        for task in tasks:
            rec = done.get(task.file)
            if rec is not None and is_complete(store, rec):
                records[task.file] = rec
            elif rec is None and store.is_file(task.file):
                rows = store.read_table(task.file).num_rows
                if isinstance(task, ShardTask) and rows != task.rows:
                    missing.append(f"{task.file} (has {rows} rows, planned {task.rows})")
                    continue
                records[task.file] = FileRecord(
                    file=task.file, rows=rows, sha256=store.sha256(task.file)
                )
            else:
                missing.append(task.file)

    collect(resources)
    if missing:
        raise DatasetDirError(
            f"{len(missing)} pool file(s) missing or damaged in {store}, first {missing[0]}; "
            "rerun any `--shards` job (it rebuilds missing pools)"
        )
    shards = builder.plan_with_resources(config, TaskContext(seed=seed, store=store))
    collect(shards)
    if missing:
        index = next(i for i, t in enumerate(shards) if missing[0].startswith(t.file))
        raise DatasetDirError(
            f"{len(missing)} of {len(shards)} shards missing or damaged in {store}, first "
            f"{missing[0]} (shard index {index}); build them with the same command and "
            f"--shards {index}:{index + 1} (or the range holding them), then finalize again"
        )
    store.remove_temps()
    return _finish(builder, config, seed, store, resources, shards, records, finish_step)


def _assemble_manifest(
    builder: DatasetBuilder,
    config: BuilderConfig,
    seed: int,
    shards: list[ShardTask],
    resources: list[ResourceTask],
    records: dict[str, FileRecord],
) -> Manifest:
    variants: dict[str, VariantRecord] = {}
    for variant in builder.variants(config):
        features = builder.features(config, variant).to_dict()
        splits: dict[str, SplitRecord] = {}
        for split in dict.fromkeys(t.split for t in shards if t.variant == variant):
            files = [records[t.file] for t in shards if t.variant == variant and t.split == split]
            splits[split] = SplitRecord(
                rows=sum(f.rows for f in files),
                shards=files,
                fingerprint=split_fingerprint(
                    builder.name, builder.version, variant, split, features, files
                ),
            )
        variants[variant] = VariantRecord(features=features, splits=splits)
    cfg = config.model_dump(mode="json")
    return Manifest(
        builder=builder.name,
        builder_version=builder.version,
        builder_class=builder.import_path(),
        toolkit_version=symile_bench.__version__,
        config=cfg,
        seed=seed,
        variants=variants,
        resources=[records[r.file] for r in resources],
        tasks=builder.tasks(config),
        fingerprint=dataset_fingerprint(cfg, seed, variants),
    )
