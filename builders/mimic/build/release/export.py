"""`symile-bench export DIR --format symile-mimic --out DIR2`: a MIMIC dataset directory (an
import of the release, or a build of our `mimic` builder) written in the release's layout, so the
release's own training and evaluation code reads it (`layout.py` has every name and shape).

Rows are streamed a few at a time into memory-mapped `.npy` files; each retrieval split is the
release's: its queries first (label 1, in split order), then each query's 9 negatives (label 0,
`label_hadm_id` = the query's hadm_id), copied from the query rows already written. Everything
goes to a temporary directory renamed to DIR2 at the end (`writer.release_tree`).

From a `mimic` build (see docs/releases.md for where this departs from the release): CXRs are
decoded, resized so the smaller edge is 320 and centre-cropped to 320 (the release crops train
at random; this export is deterministic), repeated to 3 channels and ImageNet-normalised; ECGs
get the release's leading axis; missing labs get the train mean percentile (written to
labs_means.json); the CSVs hold the columns our build keeps.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
from PIL import Image

from builders.mimic.build.media import release_cxr
from builders.mimic.build.release.arrays import to_numpy
from builders.mimic.build.release.layout import (
    CANDIDATES,
    CSV_HEADER,
    CXR_SIZE,
    DATA_CSV,
    LAB_COLUMNS,
    LABS_MEANS,
    N_LABS,
    SPLIT_SOURCE,
    TRAIN,
    VAL,
    VAL_RETRIEVAL,
    csv_name,
)
from builders.mimic.build.release.writer import ReleaseWriter, release_tree
from symile_bench.errors import DatasetDirError
from symile_bench.manifest import Manifest, read_manifest
from symile_bench.media_struct import media_bytes
from symile_bench.progress import progress_bar
from symile_bench.storage import as_store

BATCH_ROWS = 16
LABELS = ["label_hadm_id", "label"]


def export_symile_mimic(source: Path, dest: Path) -> Path:
    """Write the dataset directory `source` as a Symile-MIMIC release tree at `dest`."""
    manifest = read_manifest(source)
    if manifest.builder not in ("symile-mimic", "mimic"):
        raise DatasetDirError(
            f"{source}: built by {manifest.builder!r}; --format symile-mimic exports a "
            "directory built by `mimic` or imported with `import symile-mimic`"
        )
    variant = next(iter(manifest.variants))
    splits = manifest.variants[variant].splits
    missing = [s for s in SPLIT_SOURCE if s not in splits]
    if missing:
        raise DatasetDirError(f"{source}: no {', '.join(missing)} split to export")
    imported = manifest.builder == "symile-mimic"
    if manifest.config.get("candidates", CANDIDATES) != CANDIDATES:
        raise DatasetDirError(
            f"{source}: built with --candidates {manifest.config['candidates']}; the release's "
            f"retrieval sets have {CANDIDATES} candidates per query: rebuild with --candidates "
            f"{CANDIDATES}"
        )
    queries = {ours: splits[ours].rows for ours in SPLIT_SOURCE}
    rows = {
        TRAIN: queries["train"],
        VAL: queries["validation"],
        VAL_RETRIEVAL: queries["validation"] * CANDIDATES,
        "test": queries["test"] * CANDIDATES,
    }
    export = _Export(source, manifest, variant, imported)
    if not imported:
        export.fill = _train_means(export)
    with progress_bar() as progress, release_tree(dest, rows) as writer:
        bar = progress.add_task("export symile-mimic", total=sum(queries.values()), unit="rows")
        for ours, release in SPLIT_SOURCE.items():
            written = export.split(writer, ours, release, lambda n: progress.advance(bar, n))
            if release != TRAIN:
                writer.fill_negatives(release, written.positions())
            written.write_csvs(writer, export.headers)
        if imported:
            for name in (DATA_CSV, LABS_MEANS):
                (writer.root / name).write_bytes((source / "release" / name).read_bytes())
        else:
            everything = [r for s in (TRAIN, VAL, "test") for r in export.cohort[s]]
            writer.write_csv(DATA_CSV, CSV_HEADER, iter(everything))
            means = {
                f"{i}_percentile": float(m) for i, m in zip(LAB_COLUMNS, export.fill, strict=True)
            }
            writer.write_labs_means(means)
    return dest


@dataclass
class _Written:
    """What one split wrote: its queries' hadm_ids, candidate sets and CSV rows."""

    release: str
    hadm_id: list[int] = field(default_factory=list)
    candidates: list[np.ndarray] = field(default_factory=list)
    csv: list[dict[str, str]] = field(default_factory=list)

    def positions(self) -> np.ndarray:
        """Candidate sets as query positions, each set's own admission first."""
        ids = np.asarray(self.hadm_id, dtype=np.int64)
        sets = np.concatenate(self.candidates)
        order = np.argsort(ids)
        pos = np.minimum(np.searchsorted(ids[order], sets), len(ids) - 1)
        if (ids[order][pos] != sets).any():
            raise DatasetDirError(
                f"a candidate of the {self.release} split is not one of its admissions"
            )
        positions = order[pos]
        own = positions == np.arange(len(ids))[:, None]
        if (own.sum(axis=1) != 1).any():
            raise DatasetDirError(
                f"a {self.release} candidate set does not hold its own admission once"
            )
        rest = positions[~own].reshape(len(ids), -1)
        return np.concatenate([np.arange(len(ids))[:, None], rest], axis=1)

    def write_csvs(self, writer: ReleaseWriter, headers: dict[str, list[str]]) -> None:
        rows = [dict(r) for r in self.csv]
        if self.release == TRAIN:
            writer.write_csv(csv_name(TRAIN), headers[TRAIN], _cells(rows, headers[TRAIN]))
            return
        for r, h in zip(rows, self.hadm_id, strict=True):
            r.update({"label_hadm_id": str(h), "label": "1"})
        negatives = []
        for q, sets in enumerate(self.positions()):
            for j in sets[1:]:
                negatives.append({**rows[j], "label_hadm_id": str(self.hadm_id[q]), "label": "0"})
        header = headers[self.release]
        writer.write_csv(csv_name(self.release), header, _cells(rows + negatives, header))
        if self.release == VAL_RETRIEVAL:
            writer.write_csv(csv_name(VAL), headers[VAL], _cells(rows, headers[VAL]))


def _cells(rows: list[dict[str, str]], header: list[str]) -> Iterator[list[str]]:
    return ([r.get(c, "") for c in header] for r in rows)


class _Export:
    """Reading one source directory, in the release's terms."""

    def __init__(self, source: Path, manifest: Manifest, variant: str, imported: bool) -> None:
        self.store, self.manifest, self.variant = as_store(source), manifest, variant
        self.imported = imported
        self.fill = np.zeros(N_LABS, dtype=np.float32)
        self.cohort: dict[str, list[list[str]]] = {}
        if imported:
            self.headers = json.loads((source / "release" / "csv_columns.json").read_text())
        else:
            labeled = [*CSV_HEADER, *LABELS]
            self.headers = {
                TRAIN: CSV_HEADER,
                VAL: labeled,
                VAL_RETRIEVAL: labeled,
                "test": labeled,
            }

    def batches(self, split: str) -> Iterator[pa.RecordBatch]:
        for shard in self.manifest.split(self.variant, split).shards:
            yield from self.store.read_table(shard.file).to_batches(max_chunksize=BATCH_ROWS)

    def split(
        self, writer: ReleaseWriter, ours: str, release: str, advance: Callable[[int], None]
    ) -> _Written:
        """Stream split `ours` into the release split `release` (its query rows; val_retrieval
        also fills val), keeping what its negatives and CSVs need."""
        written = _Written(release)
        start = 0
        for batch in self.batches(ours):
            n = batch.num_rows
            for name, block in self.arrays(batch).items():
                writer.array(release, name)[start : start + n] = block
                if release == VAL_RETRIEVAL:
                    writer.array(VAL, name)[start : start + n] = block
            hadm = batch.column("hadm_id").to_numpy(zero_copy_only=False)
            written.hadm_id += [int(h) for h in hadm]
            if release != TRAIN:
                written.candidates.append(
                    to_numpy(batch.column("candidates"), (CANDIDATES,), "int64")
                )
            written.csv += self.csv_rows(batch)
            start += n
            advance(n)
        self.cohort[VAL if release == VAL_RETRIEVAL else release] = [
            [r.get(c, "") for c in CSV_HEADER] for r in written.csv
        ]
        return written

    def arrays(self, batch: pa.RecordBatch) -> dict[str, np.ndarray]:
        """One batch as the release's arrays (dtype and per-row shape of `layout.FIELDS`)."""
        missing = to_numpy(batch.column("labs_missing"), (N_LABS,), "bool")
        pcts = to_numpy(batch.column("labs_percentile"), (N_LABS,), "float32")
        if not self.imported:
            pcts = np.where(missing, self.fill[None, :], pcts).astype(np.float32)
        if self.imported:
            cxr = to_numpy(batch.column("cxr"), (3, CXR_SIZE, CXR_SIZE), "float32")
        else:
            cxr = np.stack([_cxr(media_bytes(c)) for c in batch.column("cxr").to_pylist()])
        return {
            "cxr": cxr,
            "ecg": to_numpy(batch.column("ecg"), (5000, 12), "float32")[:, None],
            "labs_percentiles": pcts,
            "labs_missingness": (~missing).astype(np.int64),
            "hadm_id": batch.column("hadm_id").to_numpy(zero_copy_only=False).astype(np.int64),
        }

    def csv_rows(self, batch: pa.RecordBatch) -> list[dict[str, str]]:
        if self.imported:
            return [json.loads(text) for text in batch.column("csv").to_pylist()]
        cols = batch.to_pydict()
        out = []
        for i in range(batch.num_rows):
            miss = cols["labs_missing"][i]
            row = {
                "subject_id": str(cols["subject_id"][i]),
                "hadm_id": str(cols["hadm_id"][i]),
                "ecg_path": cols["ecg_path"][i],
                "cxr_path": cols["cxr_path"][i],
            }
            for k, lab in enumerate(LAB_COLUMNS):
                row[lab] = "" if miss[k] else repr(cols["labs_value"][i][k])
                row[f"{lab}_percentile"] = "" if miss[k] else repr(cols["labs_percentile"][i][k])
            out.append(row)
        return out


def _train_means(export: _Export) -> np.ndarray:
    """The train mean percentile of each lab over observed values (the release's
    labs_means.json), which fills missing labs in every split."""
    total, count = np.zeros(N_LABS), np.zeros(N_LABS)
    for batch in export.batches("train"):
        missing = to_numpy(batch.column("labs_missing"), (N_LABS,), "bool")
        pcts = to_numpy(batch.column("labs_percentile"), (N_LABS,), "float64")
        total += np.where(missing, 0.0, pcts).sum(axis=0)
        count += (~missing).sum(axis=0)
    means = np.where(count > 0, total / np.maximum(count, 1), math.nan)
    return means.astype(np.float32)


def _cxr(data: bytes | None) -> np.ndarray:
    """A stored CXR as the release's tensor: smaller edge 320, centre crop 320, 3 channels,
    ImageNet-normalised float32 (process_and_save_tensors.py `get_cxr`, crop made central)."""
    if data is None:
        raise DatasetDirError("a row has no CXR; the release needs one per admission")
    with Image.open(io.BytesIO(data)) as opened:
        return release_cxr(opened, CXR_SIZE)
