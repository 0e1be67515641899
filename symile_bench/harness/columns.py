"""Arrow columns as numpy arrays without a Python loop per row.

Fixed-shape nested lists (XOR's int8 vectors, MIMIC's ECG ``Array2D`` 5000 x 12 and its 50 labs)
are flattened level by level and reshaped: converting them row by row through Python lists
would cost seconds per thousand ECGs.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from symile_bench.errors import HarnessInputError


def _single(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(array, pa.ChunkedArray):
        if array.num_chunks == 1:
            return array.chunk(0)
        if array.num_chunks == 0:
            return pa.array([], type=array.type)
        return pa.concat_arrays(array.chunks)
    return array


def column_to_numpy(array: pa.Array | pa.ChunkedArray, name: str) -> np.ndarray:
    """``[rows, *shape]`` from a column of equal-shape (nested) lists of numbers, or ``[rows]``
    from a column of scalars. ``name`` (the column) is used in error messages."""
    arr = _single(array)
    if isinstance(arr.type, pa.ExtensionType):
        arr = arr.storage
    shape = [len(arr)]
    while (
        pa.types.is_list(arr.type)
        or pa.types.is_large_list(arr.type)
        or (pa.types.is_fixed_size_list(arr.type))
    ):
        if arr.null_count:
            first = int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0])
            raise HarnessInputError(
                f"column {name!r} is null in row {first} (a missing value); pass it as missing "
                "or evaluate a split where it is present"
            )
        if pa.types.is_fixed_size_list(arr.type):
            width = arr.type.list_size
        else:
            lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
            widths = np.unique(lengths)
            if len(widths) > 1:
                raise HarnessInputError(
                    f"column {name!r} holds lists of different lengths ({widths.min()}.."
                    f"{widths.max()}); it cannot be read as one array"
                )
            width = int(widths[0]) if len(widths) else 0
        shape.append(width)
        arr = arr.flatten()
    if arr.null_count:
        raise HarnessInputError(f"column {name!r} contains null values; it cannot be an array")
    values = arr.to_numpy(zero_copy_only=False)
    return values.reshape(shape)
