"""One shard of the Symile-MIMIC release import: its query rows read from the release's arrays
(memory-mapped) in small batches, with each query's retrieval set and its CSV row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from builders.mimic.build.release.arrays import fixed_shape_array
from builders.mimic.build.release.layout import SPLIT_SOURCE, read_rows
from builders.mimic.build.release.source import ReleaseSource
from symile_bench.builder import ShardTask

BATCH_ROWS = 16  # rows read and converted at a time: bounds memory (a CXR is 1.2 MB)


def shard_batches(release: Path, task: ShardTask, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The rows of ``task`` from the release at ``release``, in ``schema``."""
    source = ReleaseSource.open(release, SPLIT_SOURCE[task.split])
    for start in range(task.start, task.stop, BATCH_ROWS):
        stop = min(task.stop, start + BATCH_ROWS)
        yield _batch(source, np.arange(start, stop), schema)


def _batch(source: ReleaseSource, queries: np.ndarray, schema: pa.Schema) -> pa.RecordBatch:
    """Rows `queries` (indices into the split's queries) as one Arrow batch."""
    rows = source.query_rows[queries]
    ecg = read_rows(source.arrays["ecg"], rows)[:, 0]  # (n, 1, 5000, 12) -> (n, 5000, 12)
    observed = read_rows(source.arrays["labs_missingness"], rows)
    columns: dict[str, pa.Array] = {
        "hadm_id": pa.array(source.hadm_id[rows]),
        "ecg": fixed_shape_array(ecg, schema.field("ecg").type),
        "labs_percentile": fixed_shape_array(
            read_rows(source.arrays["labs_percentiles"], rows),
            schema.field("labs_percentile").type,
        ),
        "labs_missing": fixed_shape_array(observed == 0, schema.field("labs_missing").type),
        "cxr": fixed_shape_array(read_rows(source.arrays["cxr"], rows), schema.field("cxr").type),
        "candidates": _candidates(source, queries, schema.field("candidates").type),
        "csv": pa.array(
            [
                json.dumps(dict(zip(source.header, row, strict=True)))
                for row in source.csv_rows(rows)
            ],
            pa.string(),
        ),
    }
    return pa.RecordBatch.from_pydict(columns, schema=schema)


def _candidates(source: ReleaseSource, queries: np.ndarray, kind: pa.DataType) -> pa.Array:
    if source.members is None:  # train: no retrieval sets, as in mimic builds
        return pa.nulls(len(queries), kind)
    return fixed_shape_array(source.hadm_id[source.members[queries]], kind)
