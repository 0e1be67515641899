"""Reading the Symile-M3 release CSVs for `m3-csv`: every row checked once (`scan`, in
`prepare`), then each shard's rows with the bytes of the media they name (`shard_batches`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builders.m3.build.release.base import SourceFile, checking
from builders.m3.build.release.schema import SPLITS, release_schema
from symile_bench.builder import ShardTask
from symile_bench.errors import SourceError
from symile_bench.media_struct import media_array
from symile_bench.source_tables import resolve_under, stream_table
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


def scan(
    csv_dir: Path, roots: dict[str, Path]
) -> tuple[list[SourceFile], np.ndarray, str | None, Path]:
    """Check every CSV of ``csv_dir`` (columns, values, media paths under ``roots``: path
    column -> root); return its files with their rows and sha256, the classes of the test
    split, its first text, and the test CSV's path."""
    csvs = _split_csvs(csv_dir)
    files, classes, first_text = [], np.zeros(0, np.int64), None
    with checking(sum(p.stat().st_size for p in csvs.values()), "bytes") as advance:
        for split, path in csvs.items():
            rows = 0
            for batch in stream_table(path, TYPES):
                _check_rows(path, rows, batch, roots)
                if split == "test":
                    classes = np.union1d(classes, pc.unique(batch["cls_id"]).to_numpy())
                    first_text = first_text or (batch["text"][0].as_py() if batch else None)
                rows += len(batch)
            sha = as_store(path.parent).sha256(path.name)
            files.append(SourceFile(split=split, file=path.name, rows=rows, sha256=sha))
            advance(path.stat().st_size)
    return files, classes, first_text, csvs["test"]


def shard_batches(path: Path, roots: dict[str, Path], task: ShardTask) -> Iterator[pa.RecordBatch]:
    """Rows [start, stop) of the CSV at ``path``, with the media files' bytes. The CSV is
    parsed from its start (pyarrow, fast) up to the shard's rows: its text is small next
    to the media it names, which are read only for the shard's own rows."""
    seen = 0
    for batch in stream_table(path, TYPES):
        lo, hi = max(task.start - seen, 0), min(task.stop - seen, len(batch))
        seen += len(batch)
        if lo < hi:
            for at in range(lo, hi, BATCH_ROWS):
                yield _release_batch(batch.slice(at, min(BATCH_ROWS, hi - at)), roots)
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


def _release_batch(rows: pa.RecordBatch, roots: dict[str, Path]) -> pa.RecordBatch:
    def media(column: str) -> pa.StructArray:
        files = resolve_under(roots[column], rows[column], column)
        return media_array([f.read_bytes() for f in files], [f.name for f in files])

    columns = {
        "lang": rows["lang"],
        "audio": media("audio_path"),
        "image": media("image_path"),
        **{name: rows[name] for name in ("text", "cls", "cls_id", "target_text")},
    }
    schema = release_schema()
    return pa.RecordBatch.from_arrays([columns[n] for n in schema.names], schema=schema)
