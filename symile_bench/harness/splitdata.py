"""One split of one config of a built dataset directory, as the harness reads it.

The dataset directory is the only interface between building and scoring (DESIGN.md), so the
harness sees a split as its memory-mapped Arrow table, its features and the manifest's
fingerprint — nothing from the builder's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa

from symile_bench.dataset_dir import load
from symile_bench.errors import DatasetDirError
from symile_bench.harness.columns import column_to_numpy
from symile_bench.harness.errors import HarnessInputError
from symile_bench.manifest import Manifest, read_manifest
from symile_bench.storage import Store

ROW = "row"  # the pseudo-column "row index in the split" (ids and embedding keys)


@dataclass
class SplitData:
    path: Path
    manifest: Manifest
    config: str
    split: str
    table: pa.Table
    features: datasets.Features

    @property
    def builder(self) -> str:
        return self.manifest.builder

    @property
    def fingerprint(self) -> str:
        """The manifest's fingerprint of this split (what results name)."""
        return self.manifest.split(self.config, self.split).fingerprint

    @property
    def withheld(self) -> frozenset[str]:
        """Answer columns a blind split (`build --blind`) holds as nulls; empty otherwise."""
        return frozenset(self.manifest.split(self.config, self.split).withheld or ())

    def __len__(self) -> int:
        return self.table.num_rows

    def require(self, *names: str) -> None:
        hidden = [n for n in names if n in self.withheld]
        if hidden:
            raise HarnessInputError(
                f"{self.path}: config '{self.config}' split '{self.split}' is blind: column "
                f"{', '.join(repr(h) for h in hidden)} is withheld (its answers are with the "
                "benchmark operator); evaluate the task's default target, without --candidates "
                "rules or embedding keys that need it, and submit the predictions"
            )
        missing = [n for n in names if n != ROW and n not in self.table.column_names]
        if missing:
            have = ", ".join(self.table.column_names)
            raise DatasetDirError(
                f"{self.path}: config '{self.config}' split '{self.split}' has no column "
                f"{', '.join(repr(m) for m in missing)} (it has: {have}); was it built by a "
                "different builder version?"
            )

    def column(self, name: str) -> pa.ChunkedArray:
        self.require(name)
        return self.table.column(name)

    def numpy(self, name: str) -> np.ndarray:
        """A column as one array (``row``: the row indices)."""
        if name == ROW:
            return self.row_index
        return column_to_numpy(self.column(name), name)

    @cached_property
    def row_index(self) -> np.ndarray:
        return np.arange(len(self), dtype=np.int64)

    def mask(self, name: str | None) -> np.ndarray:
        """A bool column (e.g. ``audio_missing``) as an array; all False when ``name`` is None."""
        if name is None or name not in self.table.column_names:
            return np.zeros(len(self), dtype=bool)
        return np.asarray(self.column(name).fill_null(True).to_numpy(), dtype=bool)


def open_split(path: Path, config: str | None, split: str) -> SplitData:
    """Memory-map ``split`` of ``config`` (default: the first config) of a dataset directory."""
    manifest = read_manifest(path)
    variant = config or next(iter(manifest.variants))
    if variant not in manifest.variants:
        raise DatasetDirError(
            f"--config {variant!r} is not in {path}; it has: {', '.join(manifest.variants)}"
        )
    if split not in manifest.variants[variant].splits:
        raise DatasetDirError(
            f"--split {split!r} is not in config '{variant}' of {path}; it has: "
            f"{', '.join(manifest.variants[variant].splits)}"
        )
    ds = load(path, config=variant, split=split)
    table = ds.with_format("arrow")[:]
    return SplitData(path, manifest, variant, split, table, ds.features)


def split_from_store(store: Store, manifest: Manifest, variant: str, split: str) -> SplitData:
    """A split read straight from its shards under ``manifest`` (which may not be written yet:
    ``build --blind`` computes the answer key of the full split before blinding it)."""
    record = manifest.split(variant, split)
    features = datasets.Features.from_dict(manifest.variants[variant].features)
    schema = features.arrow_schema
    tables = [store.read_table(s.file) for s in record.shards]
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    return SplitData(Path(store.path()), manifest, variant, split, table, features)
