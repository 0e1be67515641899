"""The state of a build in its dataset directory while it runs.

- `.symile-build.json`: what is being built (builder, version, config, seed), written first,
  so a rerun with other settings is refused instead of mixed in;
- `.symile-progress/`: one small record per committed pool or shard (object stores cannot
  append, and concurrent `--shards` jobs must not share a file);
- `.symile-lock`: who is building. A lone build or `finalize` holds it exclusively, `--shards`
  range jobs (meant to run side by side) share it, so a second build into the same directory
  is refused at start naming the holder. The lock is a kernel advisory lock (`flock`), released
  when its process dies, so a lock file left by a killed build is simply taken over.

All three are removed after the card, croissant and manifest are written (the manifest last:
it marks a complete build, and `verify` refuses a directory that still holds the first two).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from pydantic import ValidationError

from symile_bench.builder import BuilderConfig, DatasetBuilder
from symile_bench.cards import CARD_NAME
from symile_bench.croissant import CROISSANT_NAME
from symile_bench.errors import DatasetDirError
from symile_bench.manifest import MANIFEST_NAME, FileRecord, read_manifest
from symile_bench.storage import TMP_PREFIX, Store

SPEC_NAME = ".symile-build.json"
PROGRESS_DIR = ".symile-progress"
LOCK_NAME = ".symile-lock"
OWNED = ("data", "pools", MANIFEST_NAME, CARD_NAME, CROISSANT_NAME, SPEC_NAME, PROGRESS_DIR)


def build_spec(builder: DatasetBuilder[Any], config: BuilderConfig, seed: int) -> dict[str, Any]:
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

    def shown(cfg: dict[str, Any], key: str) -> str:
        # a key a config leaves out is at its default (a builder may omit a field added later
        # while it has its default, so that older builds keep their fingerprints)
        return repr(cfg[key]) if key in cfg else "default"

    for key in sorted(set(old_cfg) | set(new_cfg)):
        if (key in old_cfg, old_cfg.get(key)) != (key in new_cfg, new_cfg.get(key)):
            diffs.append(
                f"--{key.replace('_', '-')} {shown(old_cfg, key)} -> {shown(new_cfg, key)}"
            )
    return ", ".join(diffs)


def _existing_spec(store: Store) -> dict[str, Any] | None:
    if store.is_file(SPEC_NAME):
        spec: dict[str, Any] = json.loads(store.read_text(SPEC_NAME))
        return spec
    if store.is_file(MANIFEST_NAME):
        m = read_manifest(store)
        return {
            "builder": m.builder,
            "builder_version": m.builder_version,
            "config": m.config,
            "seed": m.seed,
        }
    return None


def has_committed_files(store: Store) -> bool:
    """Whether anything of a build is in the directory beyond its start marker."""
    committed = store.list(PROGRESS_DIR) or store.list("data") or store.list("pools")
    return bool(committed) or store.is_file(MANIFEST_NAME)


def check_out_path(store: Store) -> None:
    if store.exists() and not store.is_dir():
        raise DatasetDirError(f"--out {store} is an existing file; give a directory path")


def prepare_out_dir(store: Store, spec: dict[str, Any], overwrite: bool) -> None:
    """Refuse to mix configs or clobber unrelated files; clear our own files on --overwrite.
    A start that committed nothing (it failed before its first file) is not a build to
    protect: other settings simply replace it."""
    check_out_path(store)
    if not store.exists():
        store.mkdir()
        return
    old = _existing_spec(store)
    if old is None:
        # A `--shards` job beside this one may be writing the start marker right now (its
        # lock file and the marker's temp file are all there is): that is our build, not
        # foreign files.
        foreign = [n for n in store.list("") if n != LOCK_NAME and not n.startswith(TMP_PREFIX)]
        if foreign:
            raise DatasetDirError(
                f"--out {store} is a non-empty directory that is not a symile-bench dataset; "
                "choose an empty or new directory"
            )
        return
    if old == spec:
        return
    if not overwrite and has_committed_files(store):
        raise DatasetDirError(
            f"{store} holds a build with a different config ({_describe_difference(old, spec)}); "
            "use another --out, or pass --overwrite to replace it"
        )
    for name in OWNED:
        store.remove(name)


def _record_name(file: str) -> str:
    return file.replace("/", "__") + ".json"


def record(store: Store, rec: FileRecord) -> None:
    """Note a committed file; a record cut short by a kill is ignored, and its file redone."""
    store.write_text(f"{PROGRESS_DIR}/{_record_name(rec.file)}", rec.model_dump_json())


def load_progress(store: Store) -> dict[str, FileRecord]:
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


def forget(store: Store, created: bool) -> None:
    """Undo a start that committed nothing: the directory is left as it was before it."""
    for name in (SPEC_NAME, PROGRESS_DIR):
        store.remove(name)
    if created and store.local is not None:
        for leftover in (store.local / LOCK_NAME, store.local):
            try:
                leftover.unlink() if leftover.name == LOCK_NAME else leftover.rmdir()
            except OSError:  # another process's files arrived meanwhile: leave them
                return


@contextmanager
def build_lock(store: Store, *, shared: bool) -> Iterator[None]:
    """Hold the directory's build lock (local directories; object stores have no locks, and
    builds there rely on `--shards` ranges to divide the work)."""
    if store.local is None:
        yield
        return
    store.mkdir()
    path = store.local / LOCK_NAME
    with open(path, "a+") as handle:
        _acquire(handle, shared, store)
        if not shared:
            handle.truncate(0)
            handle.write(f"{os.getpid()}\n")
            handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(handle: IO[str], shared: bool, store: Store) -> None:
    try:
        fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "a `--shards` job"
        raise DatasetDirError(
            f"{store} is being built by another process (pid {holder}); wait for it to "
            "finish or stop it, then rerun this command (a killed build's lock is released "
            "by the kernel and taken over automatically)"
        ) from None


def release_lock_file(store: Store) -> None:
    """Remove the lock file of a finished build (the lock itself is released on close)."""
    store.remove(LOCK_NAME)
