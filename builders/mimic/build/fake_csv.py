"""Writing tables as the PhysioNet releases ship them: CSV (gzipped where they are), quoted
only where needed, with a fixed gzip header time so the same seed writes the same bytes."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from builders.mimic.build import synth
from builders.mimic.build.columns import NULL

__all__ = ["gzip_writer", "lab_columns", "strings", "timestamps", "write_csv"]


@contextmanager
def gzip_writer(path: Path, level: int) -> Iterator[gzip.GzipFile]:
    """A gzip writer with a fixed header time, so the same seed writes the same bytes."""
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(
            filename=path.name, mode="wb", compresslevel=level, fileobj=raw, mtime=0
        ) as handle,
    ):
        yield handle


def write_csv(
    path: Path,
    columns: dict[str, pa.Array],
    header: tuple[str, ...],
    level: int = 6,
    append_to: Any = None,
) -> None:
    table = pa.table({name: columns[name] for name in header})
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    if append_to is not None:
        pacsv.write_csv(table, append_to, write_options=options)
        return
    with gzip_writer(path, level) if path.suffix == ".gz" else open(path, "wb") as handle:
        handle.write((",".join(header) + "\n").encode())
        pacsv.write_csv(table, handle, write_options=options)


def timestamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return pa.array(
        np.asarray(seconds, dtype=np.int64).astype("datetime64[s]"),
        pa.timestamp("s"),
        mask=None if valid is None else ~valid,
    )


def strings(values: np.ndarray | list[Any] | str, n: int | None = None) -> pa.Array:
    return pa.array(values if n is None else [values] * n, pa.string())


def lab_columns(chunk: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, pa.Array]:
    n = chunk["itemid"].size
    value = chunk["valuenum"]
    empty = np.isnan(value)
    mean, sd = synth.lab_distribution(chunk["itemid"])
    value_text = pc.cast(pa.array(value, mask=empty), pa.string())
    value_text = pc.if_else(pa.array(empty), "___", value_text)
    flag = np.where(~empty & (np.abs(value - mean) > 2 * sd), "abnormal", NULL)
    comments = np.full(n, None, dtype=object)
    notes = rng.random(n)
    comments[notes < 0.01] = "Verified by repeat analysis, see note."
    comments[notes < 0.002] = 'Hemolyzed, "repeat" requested.\nResult may be affected.'
    return {
        "labevent_id": pa.array(chunk["labevent_id"]),
        "subject_id": pa.array(chunk["subject_id"]),
        "hadm_id": pa.array(chunk["hadm_id"], mask=chunk["hadm_id"] < 0),
        "specimen_id": pa.array(rng.integers(1, 99_999_999, n)),
        "itemid": pa.array(chunk["itemid"]),
        "order_provider_id": pa.nulls(n, pa.string()),
        "charttime": timestamps(chunk["time"]),
        "storetime": timestamps(chunk["time"] + rng.integers(10, 300, n) * 60),
        "value": value_text,
        "valuenum": pa.array(value, mask=empty),
        "valueuom": strings("mg/dL", n),
        "ref_range_lower": pa.array(np.round(mean - 2 * sd, 1)),
        "ref_range_upper": pa.array(np.round(mean + 2 * sd, 1)),
        "flag": pa.array(flag, pa.string()),
        "priority": pa.array(np.where(rng.random(n) < 0.3, "STAT", "ROUTINE")),
        "comments": pa.array(comments, pa.string()),
    }
