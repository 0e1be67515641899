"""`m3-csv`: import the release code's CSVs (`generate_data.py`: train.csv, val.csv,
test.csv) with the Common Voice and ImageNet trees their paths point into.

`prepare` reads every CSV once before anything is written: the columns, every media path
(relative, inside its root after symlinks, an existing file) and the classes of the test
split. Shards then stream the CSV rows and copy each clip and image's bytes as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from builders.mimic.sources import resolve_under, stream_table
from builders.release_m3.base import (
    RECORDED,
    ReleaseConfig,
    ReleaseM3Builder,
    SourceFile,
    checking,
)
from builders.release_m3.schema import (
    SCHEMA,
    SPLITS,
    release_config_name,
    words_of,
)
from symile_bench.builder import ShardTask, TaskContext, split_tasks
from symile_bench.errors import SourceError
from symile_bench.media_struct import media_array
from symile_bench.storage import as_store

TYPES = {
    "lang": pa.string(),
    "audio_path": pa.string(),
    "audio_filename": pa.string(),
    "cls": pa.string(),
    "image_path": pa.string(),
    "cls_id": pa.int64(),
    "target_text": pa.string(),
    "text": pa.string(),
}
BATCH_ROWS = 64


class CsvM3Config(ReleaseConfig):
    csv_dir: Path = Field(description="Folder holding the release's train.csv, val.csv, test.csv.")
    common_voice: Path = Field(
        description="Root the CSVs' audio_path (cv/<lang>/clips/<clip>.mp3) is relative to."
    )
    imagenet: Path = Field(
        description="Root the CSVs' image_path (ILSVRC/Data/CLS-LOC/train/<synset>/<file>.JPEG) "
        "is relative to."
    )
    translations: Path | None = Field(
        None, description="The release's translations.json (recorded with its sha256)."
    )
    name: str | None = Field(
        None,
        description="Config name of the import (default: the release's name for its w and the "
        "size its train rows are closest to, e.g. symile-m3-5-xs).",
    )
    shard_rows: int = Field(1_000, ge=1, description="Rows per shard file (at most).")
    translations_sha256: str | None = Field(None, json_schema_extra=RECORDED)

    @field_validator("csv_dir", "common_voice", "imagenet", "translations")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str | None) -> str | None:
        """It names a folder of the dataset directory: letters, digits, '.', '_', '-'."""
        if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value):
            raise ValueError("use letters, digits, '.', '_' and '-' only, e.g. symile-m3-5-xs")
        return value

    def media_roots(self) -> dict[str, Path]:
        return {"audio_path": self.common_voice, "image_path": self.imagenet}


class CsvM3Builder(ReleaseM3Builder[CsvM3Config]):
    name = "m3-csv"
    description = (
        "Import the Symile-M3 release CSVs (generate_data.py) with their Common Voice and "
        "ImageNet trees (scored with the release's task)."
    )
    Config = CsvM3Config
    source_field = "csv_dir"

    def prepare(self, config: CsvM3Config, warn: Callable[[str], None]) -> CsvM3Config:
        """Check every CSV, media path and file; record the CSVs with their sha256."""
        translations = config.translations
        if translations is not None and not translations.is_file():
            raise SourceError(f"--translations {translations}: no such file")
        csvs = _split_csvs(config.csv_dir)
        files, classes, first_text = [], np.zeros(0, np.int64), None
        with checking(sum(p.stat().st_size for p in csvs.values()), "bytes") as advance:
            for split, path in csvs.items():
                rows = 0
                for batch in stream_table(path, TYPES):
                    _check_rows(path, rows, batch, config.media_roots())
                    if split == "test":
                        classes = np.union1d(classes, pc.unique(batch["cls_id"]).to_numpy())
                        first_text = first_text or (batch["text"][0].as_py() if batch else None)
                    rows += len(batch)
                sha = as_store(path.parent).sha256(path.name)
                files.append(SourceFile(split=split, file=path.name, rows=rows, sha256=sha))
                advance(path.stat().st_size)
        if not len(classes):
            raise SourceError(f"{csvs['test']}: the test split has no rows; nothing to score")
        n_words = words_of(config.name or "", first_text)
        train_rows = next(f.rows for f in files if f.split == "train")
        return config.model_copy(
            update={
                "variant": config.name or release_config_name(n_words, train_rows),
                "files": tuple(files),
                "n_classes": len(classes),
                "n_words": n_words,
                "translations_sha256": translations
                and as_store(translations.parent).sha256(translations.name),
            }
        )

    def plan(self, config: CsvM3Config) -> list[ShardTask]:
        return [
            task
            for f in config.files
            for task in split_tasks(config.variant, f.split, f.rows, config.shard_rows)
        ]

    def run(
        self, config: CsvM3Config, task: ShardTask, ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        """Rows [start, stop) of the split's CSV, with the media files' bytes. The CSV is
        parsed from its start (pyarrow, fast) up to the shard's rows: its text is small next
        to the media it names, which are read only for the shard's own rows."""
        path = config.csv_dir / config.split_files(task.split)[0].file
        seen = 0
        for batch in stream_table(path, TYPES):
            lo, hi = max(task.start - seen, 0), min(task.stop - seen, len(batch))
            seen += len(batch)
            if lo < hi:
                for at in range(lo, hi, BATCH_ROWS):
                    yield _release_batch(batch.slice(at, min(BATCH_ROWS, hi - at)), config)
            if seen >= task.stop:
                return


def _split_csvs(csv_dir: Path) -> dict[str, Path]:
    """Our split name -> its CSV; a missing one is a one-line error listing those present."""
    if not csv_dir.is_dir():
        raise SourceError(f"{csv_dir} is not a directory; give the folder of train/val/test.csv")
    found = {ours: csv_dir / f"{theirs}.csv" for theirs, ours in SPLITS.items()}
    missing = [p.name for p in found.values() if not p.is_file()]
    if missing:
        present = [p.name for p in found.values() if p.is_file()]
        raise SourceError(
            f"{csv_dir}: {', '.join(missing)} missing (has {', '.join(present) or 'none'}); "
            "the release's CSVs are train.csv, val.csv and test.csv"
        )
    return found


def _check_rows(path: Path, first: int, batch: pa.RecordBatch, roots: dict[str, Path]) -> None:
    """Every value present; every media path relative, inside its root after symlinks, and
    an existing file. Errors name the CSV, the line (header = line 1) and the path."""

    def line(i: int) -> str:
        return f"{path}, line {first + i + 2}"

    for name in TYPES:
        column = batch[name]
        if column.null_count:
            i = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise SourceError(f"{line(i)}: column {name!r} is empty; restore the row as written")
    for column, root in roots.items():
        values = batch[column]
        try:
            resolve_under(root, values, f"{path}, column {column}")
        except SourceError:
            for i, value in enumerate(values.to_pylist()):
                resolve_under(root, [value], f"{line(i)}, column {column}")
        real_root = root.resolve()
        unique = pc.unique(values).to_pylist()
        for value, target in zip(unique, resolve_under(root, unique, column), strict=True):
            real = target.resolve()
            if not real.is_relative_to(real_root) or not real.is_file():
                i = values.to_pylist().index(value)
                problem = (
                    "leaves " + str(root) + " through a symlink"
                    if not real.is_relative_to(real_root)
                    else "is not a file there"
                )
                raise SourceError(
                    f"{line(i)}, column {column}: {value!r} {problem}; restore the media tree "
                    "as the CSVs name it (or pass the right --common-voice / --imagenet)"
                )


def _release_batch(rows: pa.RecordBatch, config: CsvM3Config) -> pa.RecordBatch:
    def media(column: str) -> pa.StructArray:
        files = resolve_under(config.media_roots()[column], rows[column], column)
        return media_array([f.read_bytes() for f in files], [f.name for f in files])

    columns = {
        "lang": rows["lang"],
        "audio": media("audio_path"),
        "image": media("image_path"),
        **{name: rows[name] for name in ("text", "cls", "cls_id", "target_text")},
    }
    return pa.RecordBatch.from_arrays([columns[n] for n in SCHEMA.names], schema=SCHEMA)
