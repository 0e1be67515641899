"""The ``{bytes, path}`` struct in which Hugging Face ``Image`` and ``Audio`` columns are stored.

It is a storage-format concern shared by every builder that writes media and by the harness
that reads it back, so it lives here, in core, in one place: a builder that built the struct
by hand could drift from ``datasets``' layout (field order, types) and silently change shard
bytes. A missing cell is a null struct, the way ``datasets`` stores a missing image or clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

__all__ = ["MEDIA_STRUCT", "media_array", "media_bytes", "without_paths"]

MEDIA_STRUCT = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
"""Arrow type of an ``Image``/``Audio`` cell: the encoded file, and its name (or null)."""


def media_array(
    data: Sequence[bytes | None], paths: Sequence[str | None] | None = None
) -> pa.StructArray:
    """A column of media cells: ``data[i]`` is the encoded file, ``None`` a missing cell;
    ``paths`` (file names shown to users, e.g. ``en-00007.mp3``) default to null.

    Typed :data:`MEDIA_STRUCT` even when empty, so an empty shard has the same schema.
    """
    if paths is not None and len(paths) != len(data):
        raise ValueError(f"media_array: {len(data)} cells but {len(paths)} paths")
    blobs = pa.array(data, pa.binary())
    names = pa.nulls(len(data), pa.string()) if paths is None else pa.array(paths, pa.string())
    # No validity buffer unless a cell is missing: the shard bytes stay those of a plain column.
    mask = blobs.is_null() if blobs.null_count else None
    return pa.StructArray.from_arrays([blobs, names], fields=list(MEDIA_STRUCT), mask=mask)


def without_paths(column: pa.StructArray) -> pa.StructArray:
    """The same cells with every path null (file names can give an answer away); missing
    cells stay missing."""
    return pa.StructArray.from_arrays(
        [column.field("bytes"), pa.nulls(len(column), pa.string())],
        fields=list(MEDIA_STRUCT),
        mask=column.is_null(),
    )


def media_bytes(cell: Any) -> bytes | None:
    """The encoded bytes of one stored cell (a ``{"bytes", "path"}`` dict as ``to_pylist``
    gives it, or plain bytes); ``None`` for a missing cell.

    A cell whose bytes are null is read from its path, as ``datasets`` does for media that
    were stored by reference.
    """
    if cell is None:
        return None
    if isinstance(cell, dict):
        if cell.get("bytes") is not None:
            return bytes(cell["bytes"])
        if cell.get("path"):
            return Path(cell["path"]).read_bytes()
        return None
    if isinstance(cell, bytes | bytearray):
        return bytes(cell)
    raise TypeError(f"expected a stored media cell, got {type(cell).__name__}")
