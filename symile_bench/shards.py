"""Arrow IPC shards carrying Hugging Face feature metadata, committed atomically.

Shards use the Arrow streaming format (what `datasets` itself writes), so both
`datasets.load_dataset(DIR)` and `Dataset.from_file` read them without conversion.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import datasets
import pyarrow as pa

from symile_bench.manifest import FileRecord
from symile_bench.storage import Store, as_store


def hf_schema(features: datasets.Features) -> pa.Schema:
    """The Arrow schema with the `huggingface` metadata that restores Audio/Image/ClassLabel."""
    return features.arrow_schema


def write_shard(
    out: Store | Path, relative: str, batches: Iterable[pa.RecordBatch], schema: pa.Schema
) -> FileRecord:
    """Write batches to `out/relative` via a temp file; hash the bytes as they are written."""
    rows = 0
    with as_store(out).atomic_writer(relative) as handle:
        with pa.ipc.new_stream(handle, schema) as writer:
            for batch in batches:
                if batch.schema.names != schema.names:
                    raise ValueError(f"{relative}: columns {batch.schema.names} != {schema.names}")
                if not batch.schema.equals(schema, check_metadata=False):
                    batch = batch.cast(schema.remove_metadata())
                writer.write_batch(batch)
                rows += batch.num_rows
        digest, size = handle.hexdigest(), handle.written
    return FileRecord(file=relative, rows=rows, sha256=digest, bytes=size)


def is_complete(out: Store | Path, record: FileRecord) -> bool:
    """True when the committed file exists and still has the recorded hash."""
    store = as_store(out)
    return store.is_file(record.file) and store.sha256(record.file) == record.sha256
