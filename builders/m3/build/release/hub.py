"""`hf-m3`: import a local copy of the Hub release `arsaporta/symile-m3` (one config).

Every Parquet part of the config becomes one Arrow shard, streamed in small record batches
(memory does not grow with the rows), the media bytes copied as they are (the Common Voice
MP3s and ImageNet JPEGs are never decoded or re-encoded).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from builders.m3.build.release.base import ReleaseConfig, ReleaseM3Builder, SourceFile, checking
from builders.m3.build.release.schema import release_schema, words_of
from symile_bench.builder import ShardTask, TaskContext
from symile_bench.errors import SourceError

if TYPE_CHECKING:  # imported where used: `symile-bench --help` imports this module
    import pyarrow as pa

BATCH_ROWS = 64  # media rows are ~100 kB each: a batch stays a few MB


class HfM3Config(ReleaseConfig):
    repo_dir: Path = Field(
        description="Local copy of the Hub repo arsaporta/symile-m3 (holding "
        "<config>/<split>-NNNNN-of-MMMMM.parquet)."
    )
    config: str | None = Field(
        None,
        description="Release config to import, e.g. symile-m3-5-xs (needed when the copy "
        "holds more than one).",
    )

    @field_validator("repo_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()


class HfM3Builder(ReleaseM3Builder[HfM3Config]):
    name = "hf-m3"
    description = (
        "Import one config of the Symile-M3 release from a local copy of the Hub repo "
        "arsaporta/symile-m3 (scored with the release's task)."
    )
    Config = HfM3Config
    source_field = "repo_dir"

    def prepare(self, config: HfM3Config, warn: Callable[[str], None]) -> HfM3Config:
        """Check every part (release columns, every page decodable) and record it with its
        sha256, before anything is written: a damaged part never leaves half an import. The
        decoding pass follows the hashing one, so it mostly reads from the page cache."""
        import numpy as np
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        from builders.m3.build.release.hub_layout import choose_config, open_checked, split_files
        from symile_bench.storage import as_store

        repo = config.repo_dir
        variant = choose_config(repo, config.config)
        store = as_store(repo)
        # first the footers (columns, types, rows) of every part; then one pass per part, its
        # reader dropped before the next: a reader keeps what it read until it is freed, so
        # readers held for all parts made the peak grow with the release (32 MB a part)
        parts = {
            path: (split, open_checked(path).metadata.num_rows)
            for split, paths in split_files(repo, variant).items()
            for path in paths
        }
        files, classes, first_text = [], np.zeros(0, np.int64), None
        with checking(sum(rows for _, rows in parts.values()), "rows") as advance:
            for path, (split, rows) in parts.items():
                relative = path.relative_to(repo).as_posix()
                sha256 = store.sha256(relative)
                files.append(SourceFile(split=split, file=relative, rows=rows, sha256=sha256))
                with _reading(path), pq.ParquetFile(path) as handle:
                    for batch in handle.iter_batches(batch_size=BATCH_ROWS):
                        advance(batch.num_rows)
                        if split == "test" and len(batch):
                            ids = pc.unique(batch["cls_id"]).to_numpy()
                            classes = np.union1d(classes, ids)
                            first_text = first_text or batch["text"][0].as_py()
        if not len(classes):
            raise SourceError(f"{repo / variant}: the test split has no rows; nothing to score")
        return config.model_copy(
            update={
                "config": variant,
                "variant": variant,
                "files": tuple(files),
                "n_classes": len(classes),
                "n_words": words_of(variant, first_text),
            }
        )

    def plan(self, config: HfM3Config) -> list[ShardTask]:
        """One shard per Parquet part, in the release's order."""
        tasks = []
        for split in dict.fromkeys(f.split for f in config.files):
            files, start = config.split_files(split), 0
            for i, part in enumerate(files):
                tasks.append(
                    ShardTask(config.variant, split, i, len(files), start, start + part.rows)
                )
                start += part.rows
        return tasks

    def run(
        self, config: HfM3Config, task: ShardTask, ctx: TaskContext
    ) -> Iterator[pa.RecordBatch]:
        import pyarrow.parquet as pq

        path = config.repo_dir / config.split_files(task.split)[task.index].file
        with _reading(path), pq.ParquetFile(path) as handle:
            yield from handle.iter_batches(batch_size=BATCH_ROWS, columns=release_schema().names)


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A damaged file's read error becomes one line naming it."""
    import pyarrow as pa

    try:
        yield
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(
            f"{path}: cannot read it ({exc}); it is truncated or corrupt: download it again"
        ) from None
