"""The manifest of a build, assembled from its builder, config and file records.

One function for the two manifests a build makes: the real one, once every file is committed
(`build.finish`), and the dry run from the plan before the first file is written
(`preflight`), so that whatever would fail at the end fails at the start instead.
"""

from __future__ import annotations

from typing import Any

import symile_bench
from symile_bench.builder import BuilderConfig, DatasetBuilder, PoolSpec, ResourceTask, ShardTask
from symile_bench.manifest import (
    FileRecord,
    Manifest,
    PoolRecord,
    SplitRecord,
    VariantRecord,
    dataset_fingerprint,
    pool_fingerprint,
    split_fingerprint,
)


def assemble_manifest(
    builder: DatasetBuilder[Any],
    config: BuilderConfig,
    seed: int,
    shards: list[ShardTask],
    resources: list[ResourceTask],
    records: dict[str, FileRecord],
) -> Manifest:
    """The manifest of a build whose resources and shards committed `records` (keyed by
    file): variants with their splits and fingerprints, pools, tasks, label."""
    pools = {
        p.name: pool_record(p, [records[ResourceTask(r).file] for r in p.resources])
        for p in builder.pools(config)
    }
    pool_prints = {name: rec.fingerprint for name, rec in pools.items()}
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
                    builder.name, builder.version, variant, split, features, files, pool_prints
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
        label=builder.label(config),
        pools=pools,
        fingerprint=dataset_fingerprint(cfg, seed, variants),
    )


def pool_record(pool: PoolSpec, files: list[FileRecord]) -> PoolRecord:
    """The manifest's record of a published pool made of `files`."""
    features = pool.features.to_dict()
    return PoolRecord(
        key=pool.key,
        features=features,
        files=files,
        rows=sum(f.rows for f in files),
        fingerprint=pool_fingerprint(pool.name, pool.key, features, files),
    )
