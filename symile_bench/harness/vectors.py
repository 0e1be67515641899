"""Checks every embedding matrix passes, whichever way it came in (model or file).

Both entry points must reject the same bad input with the same clear message, and must cast
to the same dtype, so the model path and the embeddings path give identical numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.harness.scorers import get_scorer


def check_matrix(values: Any, source: str, rows: int | None = None, ids: Any = None) -> np.ndarray:
    """``values`` as a finite numeric ``[n, d]`` array; ``source`` names the file or the model
    call in errors, ``ids`` (optional, one per row) names the bad row's id."""
    try:
        arr = np.asarray(values)
    except Exception as exc:  # a framework tensor that numpy cannot read
        raise HarnessInputError(
            f"{source}: cannot be read as an array ({type(exc).__name__}: {exc}); return a "
            "numpy array (e.g. tensor.detach().cpu().numpy())"
        ) from None
    if arr.dtype.kind not in "fiub":
        raise HarnessInputError(f"{source}: embeddings must be numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise HarnessInputError(
            f"{source}: embeddings must be 2-D [rows, dimension], got shape {arr.shape}"
        )
    if rows is not None and len(arr) != rows:
        raise HarnessInputError(
            f"{source}: has {len(arr)} rows of embeddings, expected {rows} (one per row of the "
            "split, in its order, or keyed by an id column; see docs/evaluation.md)"
        )
    if arr.shape[1] == 0:
        raise HarnessInputError(f"{source}: embeddings have dimension 0")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr).all(axis=1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            which = f" (id {np.asarray(ids)[i]})" if ids is not None else ""
            raise HarnessInputError(
                f"{source}: {int(bad.sum())} rows contain NaN or inf, first row {i}{which}; "
                "embeddings must be finite"
            )
    return arr


def common_dtype(arrays: Sequence[np.ndarray]) -> np.dtype:
    """float32 unless an input is float64 (integers and bools become float32)."""
    kinds = [a.dtype for a in arrays if a.dtype.kind == "f"]
    return np.result_type(np.float32, *kinds) if kinds else np.dtype(np.float32)


def check_batches(parts: Sequence[np.ndarray], source: str) -> int:
    """The one dimension of a model's batches of one modality (``source`` names the call)."""
    dims = {p.shape[1] for p in parts}
    if len(dims) > 1:
        raise HarnessInputError(
            f"{source}: returned different dimensions across batches "
            f"({', '.join(map(str, sorted(dims)))})"
        )
    return dims.pop()


def check_dimensions(dims: Mapping[str, int], scoring: str) -> None:
    """Every modality's embeddings must have one size for a scorer that says it needs one."""
    if len(set(dims.values())) > 1 and get_scorer(scoring).needs_one_dimension:
        listing = ", ".join(f"{name} {d}" for name, d in dims.items())
        raise HarnessInputError(
            f"embedding dimensions differ ({listing}); scoring {scoring!r} needs one dimension "
            "for every modality"
        )
