"""Blind test splits (`build --blind`): the test shards rewritten without their answers.

Core's part of a blind release, run between the shards and the manifest (so no finished build
ever shows its test answers): each config's test shards are rewritten by the builder's
`blind_table` (its `answer_columns` null in every row; same features, so `datasets.load_dataset`
reads the directory as before), the split gets new shard hashes, a new fingerprint and
`withheld` in the manifest, and the build-time pools (`DIR/pools/`, which hold every image with
its class) are removed. A pooled build keeps its published pools (the other splits' rows refer
to them) and gives the blind split a pool of its own whose ids carry no answer
(`symile_bench.blind_pools`). The answers themselves are computed and written by the
leaderboard's answer-key code before this runs; the CLI composes the two
(`symile_bench.cli_blind`), so building never depends on scoring. The same command gives the
same bytes; a rerun rebuilds the full test shards first, since their answers are not in the
directory any more.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from symile_bench.blind_pools import answer_pools, blind_pool_name, new_ids, rekey, write_blind_pool
from symile_bench.builder import BuilderConfig, DatasetBuilder
from symile_bench.errors import ConfigError
from symile_bench.manifest import (
    Manifest,
    PoolRecord,
    SplitRecord,
    dataset_fingerprint,
    split_fingerprint,
)
from symile_bench.shards import hf_schema, write_shard
from symile_bench.storage import Store

BLIND_SPLIT = "test"


def check_blindable(manifest: Manifest, split: str = BLIND_SPLIT) -> None:
    """Every config has a non-empty `split` to withhold."""
    for variant, record in manifest.variants.items():
        if split not in record.splits:
            raise ConfigError(f"--blind: config {variant!r} has no {split!r} split to withhold")
        if not record.splits[split].rows:
            raise ConfigError(f"--blind: the {split!r} split of config {variant!r} has no rows")


def blind_split(
    builder: DatasetBuilder,
    config: BuilderConfig,
    store: Store,
    manifest: Manifest,
    split: str = BLIND_SPLIT,
) -> Manifest:
    """The module docstring's rewrite on a complete build whose `manifest` is not yet written;
    returns the manifest of the blind directory."""
    check_blindable(manifest, split)
    columns = list(builder.answer_columns(config))
    rekeyed = answer_pools(manifest, columns)
    blind_pools: dict[str, PoolRecord] = {}
    renames: dict[str, pd.Index] = {}
    for pool, (key, media) in rekeyed.items():
        keys = pa.chunked_array(
            [
                store.read_table(shard.file).column(key)
                for record in manifest.variants.values()
                for shard in record.splits[split].shards
            ],
            pa.string(),
        )
        renames[pool] = new_ids(pool, keys, manifest.seed)
        blind_pools[blind_pool_name(pool)] = write_blind_pool(
            store, manifest, pool, renames[pool], media
        )
    keys_of = {pool: key for pool, (key, _) in rekeyed.items()}
    overrides = {pool: blind_pool_name(pool) for pool in rekeyed} or None
    prints = {name: rec.fingerprint for name, rec in manifest.pools.items()}
    prints.update({pool: blind_pools[name].fingerprint for pool, name in (overrides or {}).items()})
    variants = dict(manifest.variants)
    for variant, record in manifest.variants.items():
        schema = hf_schema(builder.features(config, variant))
        files = []
        for shard in record.splits[split].shards:
            table = store.read_table(shard.file)
            blind = builder.blind_table(config, table)
            for pool, key in keys_of.items():
                index = blind.schema.get_field_index(key)
                ids = rekey(table.column(key), renames[pool], pool)
                blind = blind.set_column(index, blind.schema.field(index), ids)
            files.append(write_shard(store, shard.file, blind.to_batches(), schema))
        blind_record = SplitRecord(
            rows=sum(f.rows for f in files),
            shards=files,
            fingerprint=split_fingerprint(
                builder.name,
                builder.version,
                variant,
                split,
                record.features,
                files,
                prints if manifest.pools else None,
            ),
            withheld=[c for c in columns if c not in keys_of.values()],
            pool_overrides=overrides,
        )
        splits = {s: blind_record if s == split else r for s, r in record.splits.items()}
        variants[variant] = record.model_copy(update={"splits": splits})
    fingerprint = dataset_fingerprint(manifest.config, manifest.seed, variants)
    published = {f.file for pool in manifest.pools.values() for f in pool.files}
    if not published:  # build-time tables hold every medium with its class
        store.remove("pools")
    for resource in manifest.resources:
        if resource.file not in published:
            store.remove(resource.file)
    return manifest.model_copy(
        update={
            "variants": variants,
            "resources": [r for r in manifest.resources if r.file in published],
            "pools": {**manifest.pools, **blind_pools},
            "fingerprint": fingerprint,
        }
    )
