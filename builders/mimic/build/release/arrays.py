"""numpy blocks of fixed per-row shape as Arrow columns and back, without a Python loop per
value: the release's arrays are (n, ...) blocks, our columns nested lists of the same shape."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def fixed_shape_array(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    """`values` (n, d1, ..., dk) as an array of `kind`: a `datasets` ArrayND extension type
    (storage: nested variable lists) or a fixed-size list (`datasets.List(..., length=d)`)."""
    storage = kind.storage_type if isinstance(kind, pa.ExtensionType) else kind
    array = _nested(np.ascontiguousarray(values), storage)
    if isinstance(kind, pa.ExtensionType):
        return pa.ExtensionArray.from_storage(kind, array)
    return array


def _nested(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    if values.ndim == 1:
        return pa.array(values, type=kind)
    n, width = values.shape[0], values.shape[1]
    inner = _nested(values.reshape(n * width, *values.shape[2:]), kind.value_type)
    if pa.types.is_fixed_size_list(kind):
        return pa.FixedSizeListArray.from_arrays(inner, width)
    offsets = pa.array(np.arange(0, (n + 1) * width, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, inner, type=kind)


def to_numpy(column: pa.ChunkedArray | pa.Array, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """A column of fixed per-row `shape` as one (n, *shape) block (the inverse of
    `fixed_shape_array`; nulls are not allowed)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    blocks = []
    for chunk in chunks:
        if isinstance(chunk, pa.ExtensionArray):
            chunk = chunk.storage
        flat = chunk
        for _ in shape:
            flat = flat.flatten()
        blocks.append(flat.to_numpy(zero_copy_only=False).reshape(len(chunk), *shape))
    if not blocks:
        return np.empty((0, *shape), dtype=dtype)
    return np.concatenate(blocks).astype(dtype, copy=False)
