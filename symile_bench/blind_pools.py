"""A blind split of a pooled build: its own pool, keyed by ids that carry no answer.

In a pooled build the rows refer to media by id, and an image's id names its class
(`emoji:n01440764-0003`), as does the pool row it points to. Nulling the id, as the inline
blind split does, would leave the rows pointing nowhere; keeping it would give the answers
away. So the blind split gets a pool of its own: the media its rows use, each under a new id
drawn from a seeded permutation (`<pool>-blind-000123`), sorted by that id (a pool built class
by class would otherwise give the class away by position), with only the key and the media
columns (no class column) and no file names. The rows' ids are rewritten to the new ones and
the split's record points the task's pool at the blind one (`SplitRecord.pool_overrides`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import datasets
import numpy as np
import pandas as pd
import pyarrow as pa

from symile_bench.builder import task_rng
from symile_bench.manifest import FileRecord, Manifest, PoolRecord, pool_fingerprint
from symile_bench.media_struct import MEDIA_STRUCT, without_paths
from symile_bench.pooled import open_pool, pooled_modalities
from symile_bench.shards import hf_schema, write_shard
from symile_bench.storage import Store

#: rows per record batch written into a blind pool (bounded memory at any pool size)
BATCH_ROWS = 2_048


def blind_pool_name(pool: str) -> str:
    return f"{pool}-blind"


def answer_pools(manifest: Manifest, answers: Sequence[str]) -> dict[str, tuple[str, list[str]]]:
    """The pools whose key is an answer column: pool -> (key, media columns)."""
    return {
        spec.pool: (spec.id_column, list(spec.columns))
        for spec in pooled_modalities(manifest)
        if spec.pool is not None and spec.id_column is not None and spec.id_column in answers
    }


def new_ids(name: str, keys: pa.ChunkedArray | pa.Array, seed: int) -> pd.Index:
    """The distinct non-null `keys`, in the order of their new ids (`new_id_values`)."""
    distinct = pd.Index(pd.unique(keys.drop_null().to_pandas()))
    order = task_rng(seed, "blind-pool", name).permutation(len(distinct))
    return distinct[np.argsort(order)]


def new_id_values(name: str, count: int) -> list[str]:
    width = max(6, len(str(count)))
    return [f"{blind_pool_name(name)}-{i:0{width}d}" for i in range(count)]


def rekey(keys: pa.ChunkedArray | pa.Array, old: pd.Index, name: str) -> pa.Array:
    """`keys` rewritten to their new ids (nulls stay null: a missing medium)."""
    position = old.get_indexer(keys.to_pandas())
    values = np.asarray(new_id_values(name, len(old)), dtype=object)
    out = np.where(position >= 0, values[np.maximum(position, 0)], None)
    return pa.array(out, pa.string())


def write_blind_pool(
    store: Store, manifest: Manifest, name: str, old: pd.Index, columns: list[str]
) -> PoolRecord:
    """The blind pool of `name`: the media of `old` ids under their new ids, in new-id order,
    streamed from the memory-mapped pool in batches."""
    source = open_pool(store, manifest, name)
    key = source.record.key
    features = datasets.Features(
        {key: datasets.Value("string")}
        | {c: datasets.Features.from_dict(source.record.features)[c] for c in columns}
    )
    positions = source.positions(pa.array(old.to_numpy(), pa.string()), f"{store} pool {name!r}")
    ids = new_id_values(name, len(old))

    def batches() -> Iterator[pa.RecordBatch]:
        for start in range(0, len(ids), BATCH_ROWS):
            rows = source.table.take(pa.array(positions[start : start + BATCH_ROWS]))
            media = {
                c: _scrubbed(rows.column(c).combine_chunks())
                if rows.schema.field(c).type == MEDIA_STRUCT
                else rows.column(c)
                for c in columns
            }
            yield from pa.table(
                {key: pa.array(ids[start : start + BATCH_ROWS], pa.string()), **media}
            ).to_batches()

    blind = blind_pool_name(name)
    record: FileRecord = write_shard(store, f"pools/{blind}.arrow", batches(), hf_schema(features))
    feats = features.to_dict()
    return PoolRecord(
        key=key,
        features=feats,
        files=[record],
        rows=record.rows,
        fingerprint=pool_fingerprint(blind, key, feats, [record]),
    )


def _scrubbed(column: pa.Array) -> pa.Array:
    assert isinstance(column, pa.StructArray)  # MEDIA_STRUCT
    return without_paths(column)
