"""What the two Symile-M3 importers share: the config facts `prepare` records about the
release, the features, the task, the blind release and the card.

An importer is a builder whose source is a release (docs/architecture.md): its `prepare`
checks every source file and records in the config (fields that are no CLI option) which
files were read with their sha256 and rows, the config name and the classes present, so the
manifest carries the provenance and `plan` stays pure.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from builders.m3.build.release.schema import LICENSE, RELEASE_ID, RELEASE_SPLITS, release_features
from builders.m3.build.task import m3_task
from symile_bench.builder import BuilderConfig, DatasetBuilder
from symile_bench.tasks import RetrievalTask

if TYPE_CHECKING:  # imported where used: `symile-bench --help` imports this module
    import datasets
    import pyarrow as pa

RECORDED: JsonDict = {"cli": False}  # recorded by `prepare`, no CLI option (BuilderConfig)


class SourceFile(BaseModel):
    """One file of the release that the import read: our split name, its path relative to
    the release root, its rows and sha256."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    split: str
    file: str
    rows: int
    sha256: str


class ReleaseConfig(BuilderConfig):
    """Facts `prepare` records (none is an option): see the module docstring."""

    release: str = Field(RELEASE_ID, json_schema_extra=RECORDED)
    variant: str = Field("", json_schema_extra=RECORDED)
    files: tuple[SourceFile, ...] = Field((), json_schema_extra=RECORDED)
    n_classes: int = Field(0, ge=0, json_schema_extra=RECORDED)
    n_words: int = Field(0, ge=0, json_schema_extra=RECORDED)

    def split_files(self, split: str) -> list[SourceFile]:
        return [f for f in self.files if f.split == split]


C = TypeVar("C", bound=ReleaseConfig)


@contextmanager
def checking(total: int, unit: str) -> Iterator[Callable[[int], None]]:
    """A progress bar for `prepare`'s pass over the release, which takes about as long as the
    import itself. `prepare` is not told `--quiet`, so the bar shows on a terminal only."""
    from symile_bench.progress import progress_bar

    with progress_bar(quiet=not sys.stderr.isatty()) as progress:
        bar = progress.add_task("check release", total=total, unit=unit)
        yield lambda n: progress.advance(bar, n)


class ReleaseM3Builder(DatasetBuilder[C]):
    """Shared by `hf-m3` and `m3-csv`; subclasses read their source in `prepare` and `run`."""

    version = "1.0.0"
    license = LICENSE

    def variants(self, config: C) -> list[str]:
        return [config.variant or "default"]

    def features(self, config: C, variant: str) -> datasets.Features:
        return release_features()

    def tasks(self, config: C) -> list[RetrievalTask]:
        """The release's evaluation: every test image is a candidate, any image of the
        query's class counts; chance is 1 / the classes present in the test split."""
        if not config.n_classes:
            return []
        return [m3_task(config.n_classes, config.n_words)]

    def label(self, config: C) -> str:
        """The release's config name, so results on it never mix with our builds'."""
        return f"release-{config.variant}"

    def answer_columns(self, config: C) -> list[str]:
        return ["cls", "cls_id", "target_text"]

    def blind_table(self, config: C, table: pa.Table) -> pa.Table:
        """Also drop the image file names (ImageNet's start with the synset id)."""
        from symile_bench.media_struct import without_paths

        table = super().blind_table(config, table)
        index = table.schema.get_field_index("image")
        scrubbed = without_paths(table.column(index).combine_chunks())
        return table.set_column(index, table.schema.field(index), scrubbed)

    def card_variables(self, config: C, manifest: Mapping[str, Any]) -> dict[str, str]:
        rows = ["| split (release name) | file | rows | sha256 |", "|---|---|---|---|"]
        rows += [
            f"| {f.split} ({RELEASE_SPLITS[f.split]}) | `{f.file}` | {f.rows:,} | `{f.sha256}` |"
            for f in config.files
        ]
        return {
            "release": config.release,
            "release_config": config.variant,
            "n_classes": str(config.n_classes),
            "n_words": str(config.n_words),
            "files_table": "\n".join(rows),
        }
