"""`m3-csv`: import the release code's CSVs (`generate_data.py`: train.csv, val.csv,
test.csv) with the Common Voice and ImageNet trees their paths point into.

`prepare` reads every CSV once before anything is written: the columns, every media path
(relative, inside its root after symlinks, an existing file) and the classes of the test
split. Shards then stream the CSV rows and copy each clip and image's bytes as they are
(`csv_rows`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from builders.m3.build.release.base import RECORDED, ReleaseConfig, ReleaseM3Builder
from builders.m3.build.release.schema import release_config_name, words_of
from symile_bench.builder import ShardTask, TaskContext, split_tasks
from symile_bench.errors import SourceError

if TYPE_CHECKING:  # imported where used: `symile-bench --help` imports this module
    import pyarrow as pa


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
        from builders.m3.build.release.csv_rows import scan
        from symile_bench.storage import as_store

        translations = config.translations
        if translations is not None and not translations.is_file():
            raise SourceError(f"--translations {translations}: no such file")
        files, classes, first_text, test_csv = scan(config.csv_dir, config.media_roots())
        if not len(classes):
            raise SourceError(f"{test_csv}: the test split has no rows; nothing to score")
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
        from builders.m3.build.release.csv_rows import shard_batches

        path = config.csv_dir / config.split_files(task.split)[0].file
        return shard_batches(path, config.media_roots(), task)
