"""Blind test splits (`build --blind`): the test shards rewritten without their answers.

Core's part of a blind release, run between the shards and the manifest (so no finished build
ever shows its test answers): each config's test shards are rewritten by the builder's
`blind_table` (its `answer_columns` null in every row; same features, so `datasets.load_dataset`
reads the directory as before), the split gets new shard hashes, a new fingerprint and
`withheld` in the manifest, and the pools (`DIR/pools/`, which hold every image with its class)
are removed. The answers themselves are computed and written by the leaderboard's answer-key
code before this runs; the CLI composes the two (`symile_bench.cli_blind`), so building never
depends on scoring. The same command gives the same bytes; a rerun rebuilds the full test
shards first, since their answers are not in the directory any more.
"""

from __future__ import annotations

from symile_bench.builder import BuilderConfig, DatasetBuilder
from symile_bench.errors import ConfigError
from symile_bench.manifest import (
    Manifest,
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
    variants = dict(manifest.variants)
    for variant, record in manifest.variants.items():
        schema = hf_schema(builder.features(config, variant))
        files = []
        for shard in record.splits[split].shards:
            table = builder.blind_table(config, store.read_table(shard.file))
            files.append(write_shard(store, shard.file, table.to_batches(), schema))
        blind = SplitRecord(
            rows=sum(f.rows for f in files),
            shards=files,
            fingerprint=split_fingerprint(
                builder.name, builder.version, variant, split, record.features, files
            ),
            withheld=columns,
        )
        splits = {s: blind if s == split else r for s, r in record.splits.items()}
        variants[variant] = record.model_copy(update={"splits": splits})
    fingerprint = dataset_fingerprint(manifest.config, manifest.seed, variants)
    store.remove("pools")
    return manifest.model_copy(
        update={"variants": variants, "resources": [], "fingerprint": fingerprint}
    )
