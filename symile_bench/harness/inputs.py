"""Checks of what a caller passes to the scorers and rankers, so that bad input is one error
naming the argument (not a broadcast failure deep in a block) and the hot path can assume
contiguous, finite arrays of one float dtype."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

from symile_bench.errors import HarnessInputError
from symile_bench.executors import available_cores

BACKENDS = ("numpy", "torch")


def check_embeddings(
    queries: Sequence[np.ndarray] | np.ndarray,
    candidates: np.ndarray,
    scorer: str,
    one_dimension: bool,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Queries and candidates as C-contiguous arrays of one float dtype, rows aligned, finite;
    ``one_dimension``: the scorer needs every embedding to have the same size."""
    if isinstance(queries, np.ndarray) and queries.ndim == 2:
        queries = [queries]
    if not isinstance(queries, Sequence) or isinstance(queries, str) or not len(queries):
        raise HarnessInputError(
            "queries must be a list with one [N, d] embedding array per query modality"
        )
    arrays = [np.asarray(q) for q in queries] + [np.asarray(candidates)]
    if any(a.dtype.kind not in "fiub" for a in arrays):
        raise HarnessInputError("embeddings must be numeric arrays (float32 or float64)")
    dtype = np.result_type(*[a.dtype for a in arrays])
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    *qs, c = [np.ascontiguousarray(a, dtype=dtype) for a in arrays]
    for i, q in enumerate(qs):
        _check_query(i, q, qs[0], scorer, one_dimension)
    if c.ndim != 2:
        raise HarnessInputError(f"candidates must be 2-D [M, d], got shape {c.shape}")
    if one_dimension and c.shape[1] != qs[0].shape[1]:
        raise HarnessInputError(
            f"candidates have dimension {c.shape[1]} but queries have {qs[0].shape[1]}"
        )
    if not np.isfinite(c).all():
        raise HarnessInputError("candidates contain NaN or infinite values")
    return qs, c


def _check_query(i: int, q: np.ndarray, first: np.ndarray, scorer: str, one_dim: bool) -> None:
    if q.ndim != 2:
        raise HarnessInputError(f"queries[{i}] must be 2-D [N, d], got shape {q.shape}")
    if len(q) != len(first):
        raise HarnessInputError(
            f"queries[{i}] has {len(q)} rows but queries[0] has {len(first)}: the query "
            "modalities must be aligned row by row"
        )
    if one_dim and q.shape[1] != first.shape[1]:
        raise HarnessInputError(
            f"queries[{i}] has dimension {q.shape[1]} but queries[0] has {first.shape[1]}: "
            f"scorer {scorer!r} needs one embedding size"
        )
    if not np.isfinite(q).all():
        raise HarnessInputError(f"queries[{i}] contains NaN or infinite values")


def check_top_k(top_k: int) -> int:
    if not isinstance(top_k, (int, np.integer)) or top_k < 0:
        raise HarnessInputError(f"top_k must be a non-negative integer, got {top_k!r}")
    return int(top_k)


def check_budget(memory_budget: int) -> int:
    if not isinstance(memory_budget, (int, np.integer)) or memory_budget < 1024:
        raise HarnessInputError(
            f"memory_budget must be an integer number of bytes >= 1024, got {memory_budget!r}"
        )
    return int(memory_budget)


def check_tie_seed(tie_seed: int) -> int:
    if not isinstance(tie_seed, (int, np.integer)):
        raise HarnessInputError(f"tie_seed must be an integer, got {tie_seed!r}")
    return int(tie_seed)


def check_threads(threads: int | None) -> int:
    if threads is None:
        return available_cores()
    if not isinstance(threads, (int, np.integer)) or threads < 1:
        raise HarnessInputError(f"threads must be a positive integer, got {threads!r}")
    return int(threads)


def check_backend(backend: str, device: str | None) -> None:
    if backend not in BACKENDS:
        raise HarnessInputError(f"unknown backend {backend!r}: use 'numpy' or 'torch'")
    if backend == "numpy" and device not in (None, "cpu"):
        raise HarnessInputError(
            f"device {device!r} needs backend='torch' (the numpy backend runs on the cpu)"
        )


def as_int_vector(x: Any, name: str, n: int) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1 or len(a) != n:
        raise HarnessInputError(f"{name} must be a 1-D array of length {n}, got shape {a.shape}")
    if a.dtype.kind not in "iub":
        raise HarnessInputError(f"{name} must hold integers, got dtype {a.dtype}")
    return a.astype(np.int64)


def check_block(s: Any, shape: tuple[int, int], scorer: str, xp: ModuleType) -> None:
    """A block a scorer function returned (numpy or torch) has the expected shape and only
    finite scores: anything else would silently corrupt ranks."""
    if tuple(s.shape) != shape:
        raise HarnessInputError(
            f"scorer {scorer!r}: score returned shape {tuple(s.shape)}, expected {shape}"
        )
    if not bool(xp.isfinite(s).all()):
        raise HarnessInputError(f"scorer {scorer!r} returned NaN or inf scores")
