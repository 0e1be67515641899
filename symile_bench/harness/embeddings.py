"""Embeddings: precomputed files on disk, one per modality in a directory (``--embeddings DIR``),
and the checks every embedding matrix passes.

File names (``<stem>.npy``, ``<stem>.parquet`` or ``<stem>.safetensors``; exactly one per stem):

* ``<modality>``: one embedding per row of the evaluated split, for the query modalities and
  for a target whose candidates are rows (M3 images, MIMIC CXRs);
* ``<modality>.candidates``: the candidates of a target whose candidates are not rows (XOR: all
  2^d vectors, in the order of their id: the vector read as a binary number);
* ``<modality>.missing``: what the model gives for that modality when it is missing (the
  missing-modality protocol): one vector for every row, or one per row.

Alignment: ``.npy`` files are aligned (row i = row i of the split, or candidate id i). Parquet
files hold a list column ``embedding`` and optionally one key column; safetensors files hold a
tensor ``embedding`` ``[n, d]`` and optionally one 1-D integer key tensor. The key's name says
what it matches: ``row`` (row index in the split), ``candidate`` (candidate id), or any column of
the split (e.g. ``hadm_id`` for MIMIC, ``image_id`` for M3 images: rows sharing an image_id then
share one embedding). Keys must be unique and cover every row asked for; extra keys are ignored.

Every embedding matrix, whichever way it came in (a file here or a model's ``encode``), passes
the same checks (``check_matrix``, ``check_batches``, ``check_dimensions``) and is cast by the
same rule (``common_dtype``): both ways must reject the same bad input with the same clear
message and cast to the same dtype, so the model path and the embeddings path give identical
numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from symile_bench.errors import HarnessInputError, MissingDependencyError
from symile_bench.harness.scorers import get_scorer
from symile_bench.harness.splitdata import column_to_numpy

EXTENSIONS = (".npy", ".parquet", ".safetensors")
VECTOR = "embedding"
CANDIDATE_KEY = "candidate"
MODEL_FILE = "model.json"


@dataclass(frozen=True)
class EmbeddingFile:
    path: Path
    values: np.ndarray  # [n, d]
    key: str | None = None  # None: aligned by position
    keys: np.ndarray | None = None


def find_file(directory: Path, stem: str) -> Path:
    found = [p for ext in EXTENSIONS if (p := directory / f"{stem}{ext}").is_file()]
    if len(found) > 1:
        raise HarnessInputError(
            f"{directory}: both {found[0].name} and {found[1].name} exist; keep one file per "
            f"embedding ({stem})"
        )
    if not found:
        present = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
        raise HarnessInputError(
            f"{directory}: no {stem}.npy, {stem}.parquet or {stem}.safetensors (found: "
            f"{', '.join(present) or 'nothing'}); see docs/evaluation.md for the file names"
        )
    return found[0]


def read_file(path: Path) -> EmbeddingFile:
    """Read and check one embeddings file (finite numbers, 2-D; a 1-D vector is one row)."""
    if path.suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise HarnessInputError(f"{path}: not a readable .npy array ({exc})") from None
        key, keys = None, None
    elif path.suffix == ".parquet":
        key, keys, values = _read_parquet(path)
    elif path.suffix == ".safetensors":
        key, keys, values = _read_safetensors(path)
    else:
        raise HarnessInputError(f"{path}: use .npy, .parquet or .safetensors")
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[None, :]
    return EmbeddingFile(path, check_matrix(values, str(path), ids=keys), key, keys)


def _read_parquet(path: Path) -> tuple[str | None, np.ndarray | None, np.ndarray]:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise HarnessInputError(f"{path}: not a readable Parquet file ({exc})") from None
    if VECTOR not in table.column_names:
        raise HarnessInputError(
            f"{path}: no column {VECTOR!r} (columns: {', '.join(table.column_names)}); store "
            "one list of floats per row in a column named 'embedding'"
        )
    values = column_to_numpy(table.column(VECTOR), f"{path}:{VECTOR}")
    others = [c for c in table.column_names if c != VECTOR]
    if len(others) > 1:
        raise HarnessInputError(
            f"{path}: columns {', '.join(others)} besides 'embedding'; keep at most one key "
            "column (row, candidate, or a column of the split)"
        )
    if not others:
        return None, None, values
    keys = column_to_numpy(table.column(others[0]), f"{path}:{others[0]}")
    return others[0], keys, values


def _read_safetensors(path: Path) -> tuple[str | None, np.ndarray | None, np.ndarray]:
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise MissingDependencyError(
            f"{path}: reading .safetensors needs the safetensors package: "
            "pip install 'symile-bench[safetensors]'"
        ) from None
    try:
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types
        raise HarnessInputError(f"{path}: not a readable safetensors file ({exc})") from None
    if VECTOR not in tensors:
        raise HarnessInputError(
            f"{path}: no tensor {VECTOR!r} (tensors: {', '.join(tensors)}); name the [n, d] "
            "tensor 'embedding'"
        )
    others = [k for k in tensors if k != VECTOR]
    if len(others) > 1:
        raise HarnessInputError(
            f"{path}: tensors {', '.join(others)} besides 'embedding'; keep at most one 1-D "
            "integer key tensor"
        )
    if not others:
        return None, None, tensors[VECTOR]
    return others[0], tensors[others[0]], tensors[VECTOR]


def align(
    emb: EmbeddingFile,
    count: int,
    keys_of: Callable[[str], np.ndarray],
    *,
    broadcast: bool = False,
) -> np.ndarray:
    """The file's embeddings for ``count`` wanted items, in order. Aligned files must have
    ``count`` rows (or one row when ``broadcast``); keyed files are looked up by
    ``keys_of(emb.key)``, the wanted items' values of that key."""
    if emb.key is None:
        if broadcast and len(emb.values) == 1:
            return np.broadcast_to(emb.values, (count, emb.values.shape[1]))
        check_matrix(emb.values, str(emb.path), rows=count)
        return emb.values
    file_keys = np.asarray(emb.keys)
    if file_keys.ndim != 1 or len(file_keys) != len(emb.values):
        raise HarnessInputError(
            f"{emb.path}: key {emb.key!r} must hold one value per embedding ({len(emb.values)})"
        )
    wanted = keys_of(emb.key)
    if wanted.dtype.kind in "iu" and file_keys.dtype.kind not in "iu":
        raise HarnessInputError(f"{emb.path}: key {emb.key!r} must be integers like the split's")
    if wanted.dtype.kind not in "iu":
        wanted, file_keys = wanted.astype(str), file_keys.astype(str)
    order = np.argsort(file_keys, kind="stable")
    sorted_keys = file_keys[order]
    if (sorted_keys[1:] == sorted_keys[:-1]).any():
        dup = sorted_keys[1:][sorted_keys[1:] == sorted_keys[:-1]][0]
        raise HarnessInputError(f"{emb.path}: key {emb.key!r} repeats the value {dup}")
    pos = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
    found = sorted_keys[pos] == wanted
    if not found.all():
        first = wanted[np.flatnonzero(~found)[0]]
        raise HarnessInputError(
            f"{emb.path}: no embedding for {emb.key} {first} ({int((~found).sum())} of "
            f"{count} missing); embed every row of the split"
        )
    return emb.values[order[pos]]


def write_npy(path: Path, values: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.ascontiguousarray(values))
    return path


def write_parquet(
    path: Path, values: np.ndarray, key: str | None = None, keys: np.ndarray | None = None
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = pa.array(np.ascontiguousarray(values).reshape(-1))
    columns = {} if key is None else {key: pa.array(keys)}
    columns[VECTOR] = pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
    pq.write_table(pa.table(columns), path)
    return path


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
