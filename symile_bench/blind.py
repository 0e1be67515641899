"""`build --blind --answer-key FILE`: publish a test split without its answers.

After the shards are built, and before the manifest is written (so no finished build ever
shows its test answers):

1. for each config, the leaderboard answer key of the full test split is computed with the
   harness' own task and candidate plan (the task's default target and rule);
2. each test shard is rewritten by the builder's `blind_table` (its `answer_columns` null in
   every row; same features, so `datasets.load_dataset` reads the directory as before) and the
   split gets new shard hashes, a new fingerprint and `withheld` in the manifest;
3. the keys, named by the *blind* split fingerprints (what results on the published data
   name), go to FILE, one JSON document written atomically, outside the dataset directory.

Pools (`DIR/pools/`) are removed: they hold every image with its class and are only needed to
build. The same command gives the same bytes (shards, manifest, key file); a rerun rebuilds
the full test shards first, since their answers are not in the directory any more.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

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


def check_blind_request(
    builder: DatasetBuilder, config: BuilderConfig, store: Store, answer_key: Path
) -> None:
    """Refuse before any work: a builder without answer columns, or a key file that would be
    published with the data."""
    if not builder.answer_columns(config):  # a builder may raise ConfigError with its reason
        raise ConfigError(
            f"--blind: builder {builder.name!r} declares no answer columns "
            "(DatasetBuilder.answer_columns), so it cannot be built blind"
        )
    if answer_key.is_dir():
        raise ConfigError(f"--answer-key {answer_key} is a directory; give a file path")
    if store.local is not None:
        out, key = store.local.resolve(), answer_key.resolve()
        if key == out or out in key.parents:
            raise ConfigError(
                f"--answer-key {answer_key} is inside --out {store}: the answers would be "
                "published with the data; write the key file outside the dataset directory"
            )


def blind_split(
    builder: DatasetBuilder,
    config: BuilderConfig,
    store: Store,
    manifest: Manifest,
    answer_key: Path,
    split: str = BLIND_SPLIT,
) -> Manifest:
    """Steps 1-3 of the module docstring on a complete build whose `manifest` is not yet
    written; returns the manifest of the blind directory."""
    from symile_bench.harness.splitdata import split_from_store
    from symile_bench.leaderboard.answerkey import answer_key_file_text, answer_key_from_split

    columns = list(builder.answer_columns(config))
    keys, variants = [], dict(manifest.variants)
    for variant, record in manifest.variants.items():
        if split not in record.splits:
            raise ConfigError(f"--blind: config {variant!r} has no {split!r} split to withhold")
        full = split_from_store(store, manifest, variant, split)
        if not len(full):
            raise ConfigError(f"--blind: the {split!r} split of config {variant!r} has no rows")
        key = answer_key_from_split(full)
        del full  # drop the memory maps before the shards are replaced
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
        keys.append((key, blind.fingerprint))
    fingerprint = dataset_fingerprint(manifest.config, manifest.seed, variants)
    text = answer_key_file_text(
        [replace(k, fingerprint=f, dataset_fingerprint=fingerprint) for k, f in keys],
        builder.version,
    )
    target = answer_key.resolve()
    Store(target.parent).write_text(target.name, text)
    store.remove("pools")
    return manifest.model_copy(
        update={"variants": variants, "resources": [], "fingerprint": fingerprint}
    )
