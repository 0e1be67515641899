"""`manifest.json`: what was built, from which config, and the hash of every file.

The manifest is written last, so its presence means the build completed. Fingerprints let
results and leaderboard entries name exactly the data they were computed on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from symile_bench.errors import DatasetDirError
from symile_bench.hashing import sha256_json
from symile_bench.storage import Store, as_store
from symile_bench.tasks import RetrievalTask

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1


class FileRecord(BaseModel):
    file: str
    rows: int
    sha256: str
    bytes: int | None = None  # the file's size (the card's num_bytes); absent in old manifests


class SplitRecord(BaseModel):
    rows: int
    shards: list[FileRecord]
    fingerprint: str
    # A blind split (`build --blind`): these answer columns are null in every row; the answers
    # are in the operator's answer-key file. Absent (None) for an ordinary split.
    withheld: list[str] | None = None
    # Pooled storage: the published pool this split's ids refer to in place of a pool the
    # task names (`ModalitySpec.pool`), e.g. a blind test split's own re-keyed image pool.
    # Absent (None): the task's pools.
    pool_overrides: dict[str, str] | None = None

    def pool_name(self, pool: str) -> str:
        """The published pool that holds this split's items of the task's pool `pool`."""
        return (self.pool_overrides or {}).get(pool, pool)


class PoolRecord(BaseModel):
    """A table of distinct media (pooled storage: each clip or image stored once) that rows
    refer to by `key`; published with the dataset as a config of its own, so
    `datasets.load_dataset(DIR, NAME)` reads it too."""

    key: str
    features: dict[str, Any]
    files: list[FileRecord]
    rows: int
    fingerprint: str


class VariantRecord(BaseModel):
    features: dict[str, Any]
    splits: dict[str, SplitRecord]


class Manifest(BaseModel):
    schema_version: int = SCHEMA_VERSION
    builder: str
    builder_version: str
    builder_class: str
    toolkit_version: str
    config: dict[str, Any]
    seed: int
    variants: dict[str, VariantRecord]
    resources: list[FileRecord] = []
    # The builder's retrieval tasks (`DatasetBuilder.tasks`): how the harness scores this
    # directory. Not part of any fingerprint: they describe the data, they are not the data.
    tasks: list[RetrievalTask] = []
    # What tells this build apart from other builds of its builder (`DatasetBuilder.label`),
    # e.g. M3's "w5-en.el.hi.ja.uk"; like the tasks, not part of any fingerprint.
    label: str = ""
    # Published pools (pooled storage), by name. Their files are among `resources` unless the
    # pool was written after the build (a blind split's own pool). Empty for inline storage.
    pools: dict[str, PoolRecord] = {}
    fingerprint: str

    def all_files(self) -> list[FileRecord]:
        files = list(self.resources)
        known = {f.file for f in files}
        files.extend(f for p in self.pools.values() for f in p.files if f.file not in known)
        for variant in self.variants.values():
            for split in variant.splits.values():
                files.extend(split.shards)
        return files

    def split(self, variant: str, split: str) -> SplitRecord:
        if variant not in self.variants:
            known = ", ".join(self.variants)
            raise DatasetDirError(f"config '{variant}' is not in this dataset; it has: {known}")
        splits = self.variants[variant].splits
        if split not in splits:
            raise DatasetDirError(
                f"split '{split}' is not in config '{variant}'; it has: {', '.join(splits)}"
            )
        return splits[split]


def split_fingerprint(
    builder: str,
    builder_version: str,
    variant: str,
    split: str,
    features: dict[str, Any],
    shards: list[FileRecord],
    pools: dict[str, str] | None = None,
) -> str:
    """Depends only on what determines the split's content, not on sibling variants. Rows
    that refer to pooled media depend on those pools too (`pools`: name -> fingerprint); for
    inline storage there are none, and the fingerprint is what it always was."""
    content: dict[str, Any] = {
        "builder": builder,
        "builder_version": builder_version,
        "variant": variant,
        "split": split,
        "features": features,
        "shards": [s.sha256 for s in shards],
    }
    if pools:
        content["pools"] = pools
    return sha256_json(content)


def pool_fingerprint(name: str, key: str, features: dict[str, Any], files: list[FileRecord]) -> str:
    """Names the pool's content: its key, features and the hash of every file."""
    return sha256_json(
        {"pool": name, "key": key, "features": features, "files": [f.sha256 for f in files]}
    )


def dataset_fingerprint(config: dict, seed: int, variants: dict[str, VariantRecord]) -> str:
    """sha256 over the canonical config and every shard hash (docs/architecture.md,
    "Fingerprints")."""
    return sha256_json(
        {
            "config": config,
            "seed": seed,
            "splits": {
                v: {s: r.fingerprint for s, r in rec.splits.items()} for v, rec in variants.items()
            },
        }
    )


def read_manifest(out_dir: Store | Path) -> Manifest:
    store = as_store(out_dir)
    path = store.path(MANIFEST_NAME)
    if not store.is_file(MANIFEST_NAME):
        raise DatasetDirError(
            f"{path} not found: {out_dir} is not a complete symile-bench dataset "
            "(build it with `symile-bench build`, or rerun an interrupted build to finish it)"
        )
    try:
        return Manifest.model_validate(json.loads(store.read_text(MANIFEST_NAME)))
    except (json.JSONDecodeError, ValidationError) as exc:
        first = str(exc).splitlines()[0]
        raise DatasetDirError(
            f"{path} is not a valid manifest ({first}); rebuild the dataset"
        ) from None


def write_manifest(out_dir: Store | Path, manifest: Manifest) -> None:
    # Keys of features a build does not use (a blind split's `withheld`, pooled storage's
    # `pools` and `pool_overrides`) are left out, so manifests of ordinary inline builds stay
    # byte-identical to those written before those features existed.
    ordinary: dict[str, Any] = {}
    for variant, rec in manifest.variants.items():
        splits = {
            s: {k for k in ("withheld", "pool_overrides") if getattr(r, k) is None}
            for s, r in rec.splits.items()
        }
        if any(splits.values()):
            ordinary[variant] = {"splits": {s: ks for s, ks in splits.items() if ks}}
    exclude: dict[str, Any] = {"variants": ordinary} if ordinary else {}
    if not manifest.pools:
        exclude["pools"] = True
    text = manifest.model_dump_json(indent=2, exclude=exclude or None)
    as_store(out_dir).write_text(MANIFEST_NAME, text + "\n")
