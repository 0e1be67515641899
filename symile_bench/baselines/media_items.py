"""The distinct media of one modality of a dataset directory, each once, in a fixed order.

A frozen encoder's vector of a clip or an image depends on that medium alone, so `embed`
computes one per distinct medium and every row that shows it shares it. What "distinct" means
follows what the dataset stores:

* pooled builds: every item of every pool the splits read (``DIR/pools``), keyed by the pool's
  key, the task's ``id_column`` (``audio_id`` / ``image_id``);
* inline builds whose task names an ``id_column``: the first row of each distinct id over every
  config and split, keyed by that id;
* otherwise (the imported releases, whose rows carry no ids; a blind build, whose test split
  withholds them): each medium's ``sha256``, over the bytes every present row holds.

The order (configs and splits in manifest order, then first occurrence; pools by name, then
pool order) is the same on every run, which is what lets an interrupted `embed` continue
where it stopped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa

from symile_bench.errors import ConfigError
from symile_bench.harness.batch import ModalityBatch
from symile_bench.harness.distinct import distinct_rows
from symile_bench.harness.splitdata import SplitData, open_split
from symile_bench.harness.tasks import declared_task
from symile_bench.manifest import Manifest, read_manifest
from symile_bench.media_struct import media_bytes
from symile_bench.pooled import open_pool
from symile_bench.tasks import ModalitySpec

DIGEST = "sha256"  # the key column of media that have no id
SCAN_ROWS = 1_024  # rows read at a time while hashing


def digest(item: Any) -> str | None:
    """The sha256 of a stored medium's bytes (a ``{"bytes", "path"}`` cell); None if absent."""
    data = media_bytes(item)
    return None if data is None else hashlib.sha256(data).hexdigest()


@dataclass
class Source:
    """Rows of one table (a split's rows, or a pool) holding a modality's media column."""

    table: pa.Table | Callable[[np.ndarray], pa.Table]
    features: datasets.Features
    column: str

    def items(self, modality: str, rows: np.ndarray) -> list[Any]:
        """The decoded media of ``rows`` (audio dicts, PIL images), as a model gets them."""
        table = (
            self.table(rows)
            if callable(self.table)
            else self.table.select([self.column]).take(pa.array(rows, type=pa.int64()))
        )
        batch = ModalityBatch.from_rows(
            modality, table, self.features, (self.column,), (), np.asarray(rows)
        )
        return list(batch)


@dataclass
class Media:
    """The distinct media: ``keys[i]`` names item i, found at ``rows[i]`` of
    ``sources[where[i]]``."""

    modality: str
    key: str
    keys: list[Any] = field(default_factory=list)
    where: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)

    def add_source(self, source: Source) -> int:
        self.sources.append(source)
        return len(self.sources) - 1

    def items(self, start: int, stop: int) -> list[Any]:
        """Decoded media of items ``start`` .. ``stop - 1``, in order."""
        where = np.asarray(self.where[start:stop])
        rows = np.asarray(self.rows[start:stop], dtype=np.int64)
        out: list[Any] = [None] * len(where)
        for s in np.unique(where):
            at = np.flatnonzero(where == s)
            for i, item in zip(at, self.sources[s].items(self.modality, rows[at]), strict=True):
                out[i] = item
        return out

    def keys_digest(self) -> str:
        """A digest of every key in order: a resumed run must list the same media."""
        h = hashlib.sha256()
        for k in self.keys:
            h.update(repr(k).encode() + b"\n")
        return h.hexdigest()


def modality_spec(manifest: Manifest, modality: str, where: Path) -> ModalitySpec:
    """The dataset's declared modality ``modality``: a stored image or audio column."""
    specs = {m.name: m for m in declared_task(manifest).modalities}
    if modality not in specs:
        raise ConfigError(
            f"{where}: its task has no modality {modality!r} (it has: {', '.join(specs)})"
        )
    spec = specs[modality]
    if spec.kind not in ("audio", "image") or len(spec.columns) != 1:
        raise ConfigError(
            f"{where}: modality {modality!r} is {spec.kind}, not one stored audio or image "
            "column; `embed` runs the paper's frozen audio and image encoders"
        )
    return spec


def _splits(path: Path, manifest: Manifest) -> Iterator[SplitData]:
    for config, record in manifest.variants.items():
        for split in record.splits:
            yield open_split(path, config, split)


def _ids_everywhere(manifest: Manifest, spec: ModalitySpec) -> bool:
    """Whether every split shows the id column (a blind split withholds it)."""
    if spec.id_column is None:
        return False
    return all(
        spec.id_column not in (split.withheld or ())
        for record in manifest.variants.values()
        for split in record.splits.values()
    )


def list_media(
    path: Path, modality: str, track: Callable[[str, int, str], Callable[[int], None]] | None = None
) -> Media:
    """The distinct media of ``modality`` in the dataset at ``path`` (module docstring);
    ``track`` shows progress while media are hashed (the one slow case)."""
    manifest = read_manifest(path)
    spec = modality_spec(manifest, modality, path)
    column = spec.columns[0]
    if _ids_everywhere(manifest, spec) and spec.pool is not None and manifest.pools:
        return _pool_media(path, manifest, spec, column)
    if _ids_everywhere(manifest, spec):
        return _id_media(path, manifest, spec, column)
    advance = track("hash media", total_rows(manifest), "rows") if track else None
    return _digest_media(path, manifest, spec, column, advance)


def _pool_media(path: Path, manifest: Manifest, spec: ModalitySpec, column: str) -> Media:
    assert spec.pool is not None and spec.id_column is not None
    names = sorted(
        {
            split.pool_name(spec.pool)
            for record in manifest.variants.values()
            for split in record.splits.values()
        }
    )
    media = Media(spec.name, spec.id_column)
    seen: set[Any] = set()
    for name in names:
        pool = open_pool(path, manifest, name)
        source = media.add_source(Source(pool.table, pool.features, column))
        for row, key in enumerate(pool.table.column(pool.record.key).to_pylist()):
            if key is not None and key not in seen:
                seen.add(key)
                media.keys.append(key)
                media.where.append(source)
                media.rows.append(row)
    return media


def _split_source(split: SplitData, column: str) -> Source:
    return Source(lambda rows: split.take([column], rows), split.features, column)


def _id_media(path: Path, manifest: Manifest, spec: ModalitySpec, column: str) -> Media:
    assert spec.id_column is not None
    media = Media(spec.name, spec.id_column)
    seen: set[Any] = set()
    for split in _splits(path, manifest):
        groups = distinct_rows(split, spec, split.row_index)
        if groups is None or not len(groups.items):
            continue
        ids = split.table.column(spec.id_column).take(pa.array(groups.items)).to_pylist()
        source = media.add_source(_split_source(split, column))
        for row, key in zip(groups.items.tolist(), ids, strict=True):
            if key not in seen:
                seen.add(key)
                media.keys.append(key)
                media.where.append(source)
                media.rows.append(row)
    return media


def _digest_media(
    path: Path,
    manifest: Manifest,
    spec: ModalitySpec,
    column: str,
    advance: Callable[[int], None] | None,
) -> Media:
    media = Media(spec.name, DIGEST)
    seen: set[str] = set()
    for split in _splits(path, manifest):
        missing = split.mask(spec.missing_column)
        source = media.add_source(_split_source(split, column))
        for start in range(0, len(split), SCAN_ROWS):
            rows = split.row_index[start : start + SCAN_ROWS]
            cells = split.take([column], rows).column(column).to_pylist()
            for row, cell, absent in zip(rows.tolist(), cells, missing[rows], strict=True):
                key = None if absent else digest(cell)
                if key is not None and key not in seen:
                    seen.add(key)
                    media.keys.append(key)
                    media.where.append(source)
                    media.rows.append(row)
            if advance is not None:
                advance(len(rows))
    return media


def total_rows(manifest: Manifest) -> int:
    """Rows over every config and split (what hashing every medium reads)."""
    return sum(s.rows for r in manifest.variants.values() for s in r.splits.values())
