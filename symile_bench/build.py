"""Run a builder into a dataset directory: plan, resume, execute, then manifest and card.

Order of commits: `.symile-build.json` (what is being built) first; each pool and shard is
renamed into place when complete and recorded in `.symile-progress.jsonl`; `manifest.json` and
the card last. A killed build therefore leaves only complete files plus a record of them, and
the same command resumes it; a different config is refused rather than mixed in.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import symile_bench
from symile_bench.atomic import remove_stale_temps, write_text_atomic
from symile_bench.builder import (
    BuilderConfig,
    DatasetBuilder,
    ResourceTask,
    ShardTask,
    TaskContext,
    instantiate,
    iter_batches,
)
from symile_bench.cards import write_card
from symile_bench.errors import ConfigError, DatasetDirError
from symile_bench.executors import Executor
from symile_bench.hashing import sha256_file
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
from symile_bench.shards import hf_schema, is_complete, read_table, write_shard

SPEC_NAME = ".symile-build.json"
PROGRESS_NAME = ".symile-progress.jsonl"
OWNED = ("data", "pools", MANIFEST_NAME, "README.md", SPEC_NAME, PROGRESS_NAME)


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
    out_dir = Path(item.out_dir)
    ctx = TaskContext(seed=item.seed, out_dir=out_dir)
    task = item.task
    if isinstance(task, ResourceTask):
        table = builder.build_resource(config, task, ctx)
        return write_shard(out_dir, task.file, table.to_batches(), table.schema)
    schema = hf_schema(builder.features(config, task.variant))
    record = write_shard(out_dir, task.file, iter_batches(builder.run(config, task, ctx)), schema)
    if record.rows != task.rows:
        raise RuntimeError(f"{builder.name} wrote {record.rows} rows to {task.file}, "
                           f"planned {task.rows}")
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


def _existing_spec(out_dir: Path) -> dict[str, Any] | None:
    if (out_dir / SPEC_NAME).is_file():
        return json.loads((out_dir / SPEC_NAME).read_text("utf-8"))
    if (out_dir / MANIFEST_NAME).is_file():
        m = read_manifest(out_dir)
        return {"builder": m.builder, "builder_version": m.builder_version,
                "config": m.config, "seed": m.seed}
    return None


def prepare_out_dir(out_dir: Path, spec: dict[str, Any], overwrite: bool) -> None:
    """Refuse to mix configs or clobber unrelated files; clear our own files on --overwrite."""
    if out_dir.exists() and not out_dir.is_dir():
        raise DatasetDirError(f"--out {out_dir} is an existing file; give a directory path")
    if not out_dir.exists():
        out_dir.mkdir(parents=True, exist_ok=True)  # parallel `--shards` jobs may race here
        return
    old = _existing_spec(out_dir)
    if old is None:
        if any(out_dir.iterdir()):
            raise DatasetDirError(
                f"--out {out_dir} is a non-empty directory that is not a symile-bench dataset; "
                "choose an empty or new directory"
            )
        return
    if old == spec:
        return
    if not overwrite:
        raise DatasetDirError(
            f"{out_dir} holds a build with a different config ({_describe_difference(old, spec)}); "
            "use another --out, or pass --overwrite to replace it"
        )
    for name in OWNED:
        target = out_dir / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def _load_progress(out_dir: Path) -> dict[str, FileRecord]:
    records: dict[str, FileRecord] = {}
    path = out_dir / PROGRESS_NAME
    if path.is_file():
        for line in path.read_text("utf-8").splitlines():
            try:
                rec = FileRecord.model_validate_json(line)
            except ValidationError:
                continue  # a line cut short by a kill: that file is simply redone
            records[rec.file] = rec
    if (out_dir / MANIFEST_NAME).is_file():
        for rec in read_manifest(out_dir).all_files():
            records.setdefault(rec.file, rec)
    return records


@dataclass
class BuildResult:
    out_dir: Path
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
        raise ConfigError(f"--shards {lo}:{hi}: this build has only {len(shards)} shards "
                          f"(indices 0..{len(shards) - 1})")
    return shards[lo:hi]


def build(
    builder: DatasetBuilder,
    config: BuilderConfig,
    out_dir: Path,
    *,
    seed: int = 0,
    executor: Executor,
    overwrite: bool = False,
    quiet: bool = False,
    warn: Callable[[str], None] = print,
    shard_range: tuple[int, int] | None = None,
) -> BuildResult:
    """Build (or resume) `builder` with `config` into `out_dir`.

    With `shard_range`, only those shard indices (positions in the plan) are built, after any
    missing resource; the manifest is left to `finalize`, so independent jobs (a SLURM array)
    can each build a range into one shared directory.
    """
    config = builder.prepare(config, warn)
    spec = _spec(builder, config, seed)
    prepare_out_dir(out_dir, spec, overwrite)
    if shard_range is None:  # a lone build owns the directory; parallel range jobs do not
        remove_stale_temps(out_dir)
    write_text_atomic(out_dir / SPEC_NAME, json.dumps(spec, indent=2) + "\n")

    resources = builder.resources(config)
    done = _load_progress(out_dir)
    records: dict[str, FileRecord] = {}

    def pending(tasks: list) -> list:
        """Tasks still to run; those whose committed file re-hashes correctly are kept."""
        todo = []
        for task in tasks:
            rec = done.get(task.file)
            if rec is not None and is_complete(out_dir, rec):
                records[task.file] = rec
            else:
                todo.append(task)
        return todo

    todo_resources: list[ResourceTask] = pending(resources)

    def items(tasks: list) -> list[WorkItem]:
        cfg = config.model_dump(mode="json")
        return [WorkItem(builder.import_path(), cfg, seed, str(out_dir), t) for t in tasks]

    stages = sorted({t.stage for t in todo_resources})
    phases = [
        (f"resources (stage {s})" if len(stages) > 1 else "resources",
         [t for t in todo_resources if t.stage == s], "items", lambda t: t.rows or 1)
        for s in stages
    ]
    with progress_bar(quiet) as progress, (out_dir / PROGRESS_NAME).open("a") as log:

        def run_phase(label: str, tasks: list, unit: str, size: Callable) -> None:
            if not tasks:
                return
            bar = progress.add_task(label, total=sum(size(t) for t in tasks), unit=unit)
            by_file = {t.file: t for t in tasks}
            for rec in executor.map_unordered(execute, items(tasks)):
                records[rec.file] = rec
                log.write(rec.model_dump_json() + "\n")
                log.flush()
                progress.advance(bar, size(by_file[rec.file]))

        for phase in phases:
            run_phase(*phase)
        # Shards are planned once every resource exists: a builder may size them from one
        # (MIMIC's split sizes come from its cohort).
        shards = builder.plan_with_resources(config, TaskContext(seed=seed, out_dir=out_dir))
        selected = shards if shard_range is None else _select(shards, shard_range)
        todo_shards: list[ShardTask] = pending(selected)
        run_phase(builder.name, todo_shards, "rows", lambda t: t.rows)
    skipped = len(resources) - len(todo_resources) + len(selected) - len(todo_shards)
    built = len(records) - skipped
    if shard_range is not None:
        return BuildResult(out_dir, None, built, skipped)
    manifest = _finish(builder, config, seed, out_dir, resources, shards, records)
    return BuildResult(out_dir, manifest, built, skipped)


def _finish(
    builder: DatasetBuilder,
    config: BuilderConfig,
    seed: int,
    out_dir: Path,
    resources: list[ResourceTask],
    shards: list[ShardTask],
    records: dict[str, FileRecord],
) -> Manifest:
    """Manifest, then card, then drop the in-progress files: the build is now complete."""
    manifest = _assemble_manifest(builder, config, seed, shards, resources, records)
    write_manifest(out_dir, manifest)
    write_card(out_dir, builder, config, manifest)
    (out_dir / PROGRESS_NAME).unlink(missing_ok=True)
    (out_dir / SPEC_NAME).unlink(missing_ok=True)
    return manifest


def finalize(out_dir: Path) -> Manifest:
    """Check that every pool and shard of a build made of `--shards` jobs is present and
    intact, then write the manifest and card. Files without a progress record (written by a
    job killed before it could record them) are accepted after a row count check: a file
    under its final name was renamed into place only when complete."""
    from symile_bench.registry import get_builder

    spec_path = out_dir / SPEC_NAME
    if not spec_path.is_file():
        if (out_dir / MANIFEST_NAME).is_file():
            return read_manifest(out_dir)
        raise DatasetDirError(f"{spec_path} not found: {out_dir} holds no started build")
    spec = json.loads(spec_path.read_text("utf-8"))
    builder = get_builder(spec["builder"])
    if builder.version != spec["builder_version"]:
        raise DatasetDirError(
            f"{out_dir} was started with {builder.name} {spec['builder_version']}, installed is "
            f"{builder.version}; finish it with the same version"
        )
    config, seed = builder.Config(**spec["config"]), spec["seed"]
    resources = builder.resources(config)
    done = _load_progress(out_dir)
    records: dict[str, FileRecord] = {}
    missing: list[str] = []

    def collect(tasks: list) -> None:
        for task in tasks:
            rec = done.get(task.file)
            path = out_dir / task.file
            if rec is not None and is_complete(out_dir, rec):
                records[task.file] = rec
            elif rec is None and path.is_file():
                rows = read_table(path).num_rows
                if isinstance(task, ShardTask) and rows != task.rows:
                    missing.append(f"{task.file} (has {rows} rows, planned {task.rows})")
                    continue
                records[task.file] = FileRecord(file=task.file, rows=rows,
                                                sha256=sha256_file(path))
            else:
                missing.append(task.file)

    collect(resources)
    if missing:
        raise DatasetDirError(
            f"{len(missing)} pool file(s) missing or damaged in {out_dir}, first {missing[0]}; "
            "rerun any `--shards` job (it rebuilds missing pools)"
        )
    shards = builder.plan_with_resources(config, TaskContext(seed=seed, out_dir=out_dir))
    collect(shards)
    if missing:
        index = next(i for i, t in enumerate(shards) if missing[0].startswith(t.file))
        raise DatasetDirError(
            f"{len(missing)} of {len(shards)} shards missing or damaged in {out_dir}, first "
            f"{missing[0]} (shard index {index}); build them with the same command and "
            f"--shards {index}:{index + 1} (or the range holding them), then finalize again"
        )
    remove_stale_temps(out_dir)
    return _finish(builder, config, seed, out_dir, resources, shards, records)


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
        fingerprint=dataset_fingerprint(cfg, seed, variants),
    )

