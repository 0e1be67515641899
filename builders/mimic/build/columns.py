"""Arrow columns as the per-admission numpy arrays the cohort selectors compute with."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["NULL", "TS", "fill", "int64", "seconds"]

TS = pa.timestamp("s")
NULL: np.ndarray = np.array(None, dtype=object)
"""``None`` as a 0-d object array: what ``np.where`` makes of ``None``, in a type its stubs take."""


def seconds(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """timestamp[s] (no nulls) as int64 seconds."""
    return np.asarray(column.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def int64(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.int64)


def fill(has: np.ndarray, values: np.ndarray, fill: Any, dtype: Any) -> np.ndarray:
    """A per-admission array: `values` where `has`, else `fill`."""
    out = np.full(has.size, fill, dtype=dtype)
    out[has] = values
    return out
