"""Reading a built dataset directory: load, verify, summarise, export.

The directory (shards + manifest + card) is the only interface between building and scoring,
so everything downstream goes through here.
"""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from symile_bench.builder import instantiate
from symile_bench.cards import CARD_NAME
from symile_bench.completeness import EXPORT_MARKER, Mismatch, completeness
from symile_bench.croissant import CROISSANT_NAME
from symile_bench.errors import DatasetDirError
from symile_bench.manifest import FileRecord, Manifest, read_manifest, write_manifest
from symile_bench.pooled import inline_batches, inline_features
from symile_bench.pooled_dataset import join_pools
from symile_bench.shards import hf_schema
from symile_bench.storage import Store, as_store


def _split_dataset(out_dir: Path, manifest: Manifest, variant: str, split: str) -> datasets.Dataset:
    record = manifest.split(variant, split)
    features = datasets.Features.from_dict(manifest.variants[variant].features)
    parts = []
    for shard in record.shards:
        path = out_dir / shard.file
        if not path.is_file():
            raise DatasetDirError(f"{path} is missing; rerun the build command to restore it")
        try:
            if path.suffix == ".parquet":  # an `export`ed copy
                parts.append(datasets.Dataset.from_parquet(str(path), split=split))
            else:
                parts.append(datasets.Dataset.from_file(str(path), split=split))
        except (pa.ArrowInvalid, OSError) as exc:
            raise DatasetDirError(
                f"{path} is damaged ({exc}); `symile-bench verify {out_dir}` lists every "
                "damaged file, and rerunning the build command rebuilds them"
            ) from None
    if not parts:
        return datasets.Dataset.from_dict({k: [] for k in features}, features=features, split=split)
    joined = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
    return joined.cast(features) if joined.features != features else joined


def load(
    path: str | Path, config: str | None = None, split: str | None = None, *, join: bool = True
) -> datasets.Dataset | datasets.DatasetDict:
    """Memory-map the shards directly (no copy into the HF cache, unlike `load_dataset`).
    A pooled build's rows come with their media joined from the pools on access
    (`symile_bench.pooled_dataset`), so they read like an inline build's; `join=False` gives
    the rows as stored (ids, no media), which is what reading ids or scoring needs."""
    if "://" in str(path):
        raise DatasetDirError(
            f"{path}: symile_bench.load reads local directories; for a remote one use "
            "datasets.load_dataset(URL, CONFIG, storage_options=...) or copy it locally"
        )
    out_dir = Path(path)
    manifest = read_manifest(out_dir)
    variant = config or next(iter(manifest.variants))
    if variant not in manifest.variants:
        raise DatasetDirError(
            f"config '{variant}' is not in {out_dir}; it has: {', '.join(manifest.variants)}"
        )
    if split is not None:
        return _joined(out_dir, manifest, variant, split, join)
    splits = manifest.variants[variant].splits
    return datasets.DatasetDict({s: _joined(out_dir, manifest, variant, s, join) for s in splits})


def _joined(
    out_dir: Path, manifest: Manifest, variant: str, split: str, join: bool
) -> datasets.Dataset:
    rows = _split_dataset(out_dir, manifest, variant, split)
    return join_pools(out_dir, manifest, variant, split, rows) if join else rows


def verify(out_dir: Path | str | Store) -> tuple[Manifest | None, list[Mismatch]]:
    """Check that the directory (local or at an fsspec URL) is complete (`completeness`: its
    manifest, card and croissant whole, no build or export left unfinished) and re-hash every
    file the manifest names. The manifest is None when it is missing or unreadable."""
    store = as_store(out_dir)
    if not store.is_dir():
        raise DatasetDirError(f"{store} is not a directory; give a dataset directory")
    manifest, problems = completeness(store)
    if manifest is None:
        return None, problems
    for rec in manifest.all_files():
        if not store.is_file(rec.file):
            problems.append(Mismatch(rec.file, "missing"))
        elif (actual := store.sha256(rec.file)) != rec.sha256:
            problems.append(
                Mismatch(rec.file, f"sha256 {actual[:12]}… != manifest {rec.sha256[:12]}…")
            )
    return manifest, problems


GROUP_ROWS = 1_000  # rows per Parquet row group of a pooled build's export (~35 MB of media)


def export_parquet(out_dir: Path, dest: Path) -> Manifest:
    """A Hub-ready Parquet copy: one Parquet file per shard, same features, same card.

    Resumable like a build: `dest` gets a marker naming the source first; then the Parquet
    files, each renamed into place only when complete; then the card and croissant, the
    manifest, and last the marker's removal. An export stopped midway (a full disk, a kill)
    is continued by the same command, keeping the files done."""
    manifest = read_manifest(out_dir)
    source, target = as_store(out_dir), as_store(dest)
    marker = json.dumps({"source_fingerprint": manifest.fingerprint}) + "\n"
    resuming = target.is_file(EXPORT_MARKER) and target.read_text(EXPORT_MARKER) == marker
    if not resuming and dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise DatasetDirError(f"--out {dest} exists and is not an empty directory")
    target.write_text(EXPORT_MARKER, marker)
    target.remove_temps()
    variants = manifest.model_copy(deep=True).variants
    for variant, record in variants.items():
        features = inline_features(manifest, variant)
        for name, split in record.splits.items():
            split.shards = [
                _parquet_copy(source, target, shard, manifest, variant, name)
                for shard in split.shards
            ]
            split.pool_overrides = None
        record.features = features.to_dict()
    exported = manifest.model_copy(
        update={
            "variants": variants,
            "resources": [],
            "pools": {},
            "tasks": [task.without_pools() for task in manifest.tasks],
        }
    )
    builder = instantiate(manifest.builder_class)
    card = builder.render_card(builder.Config(**manifest.config), exported, extension="parquet")
    target.write_text(CARD_NAME, card)
    target.write_text(CROISSANT_NAME, builder.render_croissant(exported, extension="parquet"))
    write_manifest(dest, exported)
    target.remove(EXPORT_MARKER)
    return exported


def _parquet_copy(
    source: Store, target: Store, shard: FileRecord, manifest: Manifest, variant: str, split: str
) -> FileRecord:
    """One shard as Parquet, pooled media inline, streamed a batch at a time; a file already
    complete from an earlier attempt is kept."""
    relative = shard.file.removesuffix(".arrow") + ".parquet"
    if target.is_file(relative):
        return FileRecord(
            file=relative,
            rows=shard.rows,
            sha256=target.sha256(relative),
            bytes=target.size(relative),
        )
    table = source.read_table(shard.file)
    with target.atomic_writer(relative) as handle:
        if not manifest.pools:
            pq.write_table(table, handle, compression="zstd")
        else:  # a row group per batch: one batch of media in memory at a time
            schema = hf_schema(inline_features(manifest, variant))
            with pq.ParquetWriter(handle, schema, compression="zstd") as writer:
                for batch in inline_batches(source, manifest, variant, split, table, GROUP_ROWS):
                    writer.write_table(pa.Table.from_batches([batch]).cast(schema))
    return FileRecord(
        file=relative, rows=shard.rows, sha256=handle.hexdigest(), bytes=handle.written
    )
