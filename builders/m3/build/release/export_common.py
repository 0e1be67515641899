"""What the `hf-m3` and `m3-csv` exports share: which Symile-M3 dataset directory is exported
under which release config name, its rows streamed in the release's columns, and a
destination that appears only when complete (`symile_bench.atomic.atomic_directory`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyarrow as pa

from builders.m3.build.config import M3Config
from builders.m3.build.release.schema import RELEASE_SPLITS, release_config_name, release_schema
from symile_bench.errors import DatasetDirError
from symile_bench.manifest import Manifest, read_manifest
from symile_bench.pooled import inline_batches
from symile_bench.storage import Store

IMPORTERS = ("hf-m3", "m3-csv")
BATCH_ROWS = 64


@dataclass(frozen=True)
class ExportSource:
    """A Symile-M3 dataset directory, seen as the release would hold it."""

    path: Path
    manifest: Manifest
    variant: str  # the config of the directory that is exported
    name: str  # its release config name
    why: str  # how the name was chosen, for the console and the README

    def splits(self) -> dict[str, list[str]]:
        """Release split name -> the shard files of that split, in order."""
        record = self.manifest.variants[self.variant]
        return {RELEASE_SPLITS[s]: [f.file for f in r.shards] for s, r in record.splits.items()}

    @cached_property
    def _split_of(self) -> dict[str, str]:
        """Shard file -> its split (ours), looked up once: size l has 11,000 shards."""
        record = self.manifest.variants[self.variant]
        return {f.file: s for s, r in record.splits.items() for f in r.shards}

    def batches(self, shard: str) -> Iterator[pa.RecordBatch]:
        """The release's columns of one shard, a few rows at a time (memory-mapped; a
        pooled build's media joined from its pools batch by batch)."""
        split = self._split_of[shard]
        store = Store(self.path)
        table = store.read_table(shard)
        schema = release_schema()
        for batch in inline_batches(store, self.manifest, self.variant, split, table, BATCH_ROWS):
            yield pa.RecordBatch.from_arrays(
                [batch.column(name) for name in schema.names], names=schema.names
            ).cast(schema)


def export_source(path: Path, fmt: str) -> ExportSource:
    """The directory's release name: an import keeps its config name; a build of ours takes
    the release's name for its w and the size its train split is closest to."""
    manifest = read_manifest(path)
    variant = next(iter(manifest.variants))  # ours: the complete config; masks are not released
    for split, record in manifest.variants[variant].splits.items():
        if record.withheld:
            raise DatasetDirError(
                f"{path}: the {split} split is blind (its answers are withheld); export the "
                "build made without --blind"
            )
    if manifest.builder in IMPORTERS:
        return ExportSource(path, manifest, variant, variant, "the imported release's config")
    if manifest.builder != "m3":
        raise DatasetDirError(
            f"{path}: export --format {fmt} writes Symile-M3 datasets (builders m3, "
            f"{', '.join(IMPORTERS)}); this one was built by {manifest.builder}"
        )
    config = M3Config(**manifest.config)
    train = manifest.variants[variant].splits.get("train")
    name = release_config_name(config.n_words, train.rows if train else 0)
    why = (
        f"w = {config.n_words} words per text and {train.rows if train else 0:,} train rows "
        f"(closest release size), from the build's '{variant}' config"
    )
    return ExportSource(path, manifest, variant, name, why)
