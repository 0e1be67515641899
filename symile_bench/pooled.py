"""Pooled storage read back: rows that hold a medium's id, joined with the pool that holds it.

A pooled build stores each distinct clip or image once, in a published pool (manifest
`pools`), and its rows hold the id (`ModalitySpec.id_column`). Readers join lazily: the pool
tables stay memory-mapped, an id is found through one hash index per pool, and only the rows
asked for are taken, so loading a split of ten million rows costs its row table and the index,
never a copy of the media. `symile_bench.pooled_dataset` attaches the join to the
`datasets.Dataset` that `symile_bench.load` returns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pandas as pd
import pyarrow as pa

from symile_bench.errors import DatasetDirError
from symile_bench.manifest import Manifest, PoolRecord
from symile_bench.storage import Store, as_store
from symile_bench.tasks import ModalitySpec


def pooled_modalities(manifest: Manifest) -> list[ModalitySpec]:
    """Every modality the manifest's tasks store in a pool, once per (pool, id column)."""
    found: dict[tuple[str, str], ModalitySpec] = {}
    for task in manifest.tasks:
        for spec in task.modalities:
            if spec.pool is not None and spec.id_column is not None:
                found.setdefault((spec.pool, spec.id_column), spec)
    return list(found.values())


@dataclass(eq=False)
class Pool:
    """One published pool: its memory-mapped table and an index from key to position.

    A pool is read-only, so a copy is the pool itself and a pickle names it (location, name,
    record) instead of holding its media: a `datasets` fingerprint hashes it in microseconds
    and a DataLoader worker reopens it memory-mapped, whatever the pool's size."""

    name: str
    record: PoolRecord = field(repr=False)
    table: pa.Table = field(repr=False)
    location: str

    def __deepcopy__(self, memo: dict[int, Any]) -> Pool:
        return self

    def __reduce__(self) -> tuple[Any, tuple[str, str, str]]:
        return _open_pool, (self.location, self.name, self.record.model_dump_json())

    @cached_property
    def features(self) -> datasets.Features:
        return datasets.Features.from_dict(self.record.features)

    @cached_property
    def index(self) -> pd.Index:
        keys = self.table.column(self.record.key).to_pandas()
        index = pd.Index(keys)
        if not index.is_unique:
            raise DatasetDirError(
                f"pool {self.name!r}: key column {self.record.key!r} repeats a value; "
                "rebuild the dataset"
            )
        return index

    def positions(self, keys: pa.Array | pa.ChunkedArray | np.ndarray, where: str) -> np.ndarray:
        """The pool row of each key (-1 for a null key: a missing medium). A key the pool
        does not hold is an error naming `where` (the split that refers to it)."""
        values = keys if isinstance(keys, np.ndarray) else keys.to_numpy(zero_copy_only=False)
        found = np.asarray(self.index.get_indexer(values), dtype=np.int64)
        absent = (found < 0) & ~pd.isna(values)
        if absent.any():
            first = values[np.flatnonzero(absent)[0]]
            raise DatasetDirError(
                f"{where}: {int(absent.sum())} ids are not in pool {self.name!r} "
                f"(e.g. {first!r}); the directory is incomplete or mixed, rebuild it"
            )
        return found

    def take(
        self, keys: pa.Array | pa.ChunkedArray, columns: Sequence[str], where: str
    ) -> pa.Table:
        """`columns` of the pool at each key, in the keys' order (null for a null key)."""
        found = self.positions(keys, where)
        return self.table.select(list(columns)).take(pa.array(found, mask=found < 0))

    @cached_property
    def dataset(self) -> datasets.Dataset:
        """The pool as a `datasets.Dataset` (decodes media by its features), memory-mapped."""
        return datasets.Dataset(self.table, info=datasets.DatasetInfo(features=self.features))


def open_pool(directory: Store | Path, manifest: Manifest, name: str) -> Pool:
    """Memory-map the files of the published pool `name`, once per process: `load` of every
    split, each shard of an export and the harness all join on the same pools, and a size-l
    pool is 1,043 files (its index ~300K keys). A pool's fingerprint names its content, so a
    cached one is the pool the manifest describes."""
    if name not in manifest.pools:
        raise DatasetDirError(
            f"{directory}: the manifest names no pool {name!r} (it has: "
            f"{', '.join(manifest.pools) or 'none'}); rebuild the dataset"
        )
    record = manifest.pools[name]
    return _open_pool(str(as_store(directory)), name, record.model_dump_json())


@lru_cache(maxsize=16)
def _open_pool(location: str, name: str, record_json: str) -> Pool:
    store = as_store(location)
    record = PoolRecord.model_validate_json(record_json)
    tables = [store.read_table(f.file) for f in record.files]
    features = datasets.Features.from_dict(record.features)
    table = pa.concat_tables(tables) if tables else features.arrow_schema.empty_table()
    return Pool(name, record, table, location)


def media_joins(
    directory: Path | Store, manifest: Manifest, variant: str, split: str, columns: list[str]
) -> list[tuple[ModalitySpec, Pool]]:
    """The pooled modalities of a split whose rows (`columns`) hold ids but not the media,
    each with the pool that holds its media for this split."""
    record = manifest.split(variant, split)
    joins = []
    for spec in pooled_modalities(manifest):
        if spec.id_column in columns and spec.columns[0] not in columns:
            assert spec.pool is not None  # pooled_modalities keeps pooled ones only
            joins.append((spec, open_pool(directory, manifest, record.pool_name(spec.pool))))
    return joins


def inline_features(manifest: Manifest, variant: str) -> datasets.Features:
    """The features of a split with its pooled media inline (after the row columns)."""
    features = datasets.Features.from_dict(manifest.variants[variant].features)
    for spec in pooled_modalities(manifest):
        if spec.id_column in features and spec.columns[0] not in features:
            assert spec.pool is not None
            pooled = datasets.Features.from_dict(manifest.pools[spec.pool].features)
            features.update({c: pooled[c] for c in spec.columns})
    return features


def inline_batches(
    directory: Path | Store,
    manifest: Manifest,
    variant: str,
    split: str,
    table: pa.Table,
    batch_rows: int = 256,
) -> Iterator[pa.RecordBatch]:
    """A shard's rows with their pooled media inline, `batch_rows` at a time: what an export
    for the Hub writes, in memory bounded by one batch whatever the pools' size."""
    joins = media_joins(directory, manifest, variant, split, table.column_names)
    where = f"{directory} config {variant!r} split {split!r}"
    for batch in table.to_batches(max_chunksize=batch_rows):
        columns = dict(zip(batch.schema.names, batch.columns, strict=True))
        for spec, pool in joins:
            assert spec.id_column is not None
            media = pool.take(batch.column(spec.id_column), spec.columns, where)
            columns.update({c: media.column(c).combine_chunks() for c in spec.columns})
        yield pa.RecordBatch.from_pydict(columns)
