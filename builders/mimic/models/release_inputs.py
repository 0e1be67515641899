"""A batch of a MIMIC dataset directory as the tensors the release's encoders read, exactly as
the release's ``process_and_save_tensors.py`` makes them (docs/releases.md, "The released
checkpoint", says where this is exact and where not).

Two kinds of directory hold the same modalities in two forms:

- an import of the release (``import symile-mimic``): ``cxr`` is the release's
  ``(3, 320, 320)`` float32 array as released (already resized, cropped and normalised), used
  as is;
- a build of ours (``build mimic``): ``cxr`` is a PNG of the MIMIC-CXR-JPG image after the
  release's ``Resize`` and val/test ``CenterCrop`` (``build/media.py``), so only ``ToTensor``
  and ``Normalize`` remain (``media.release_cxr``).

Both store ``ecg`` as the release's min-max scaled ``(5000, 12)`` record and labs as
``labs_percentile`` (missing labs hold the train mean percentile, as the release's
``labs_means.json`` fills them) and ``labs_missing`` (True = missing). The release's
missingness bit is the opposite (``get_labs``: 1 = observed, 0 = missing), so the labs input is
``[percentiles, 1 - labs_missing]``: feeding ``labs_missing`` as stored would tell the encoder
that every observed lab is missing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from builders.mimic.build.media import release_cxr
from symile_bench.harness.models import ModelError
from symile_bench.media_struct import media_bytes

ECG_SHAPE = (5000, 12)
N_LABS = 50
LABS_COLUMNS = ("labs_percentile", "labs_missing")
RELEASE_CXR_SIZE = 320


def _values(batch: Sequence[Any]) -> np.ndarray:
    numpy = getattr(batch, "numpy", None)
    return np.asarray(numpy() if callable(numpy) else list(batch))


def ecg_input(batch: Sequence[Any]) -> np.ndarray:
    """``(n, 1, 5000, 12)`` float32: the stored record with the release's channel axis."""
    x = _values(batch)
    if x.shape[1:] != ECG_SHAPE or x.dtype.kind not in "fiu":
        raise ModelError(
            f"ecg: the release's ECG encoder reads (5000, 12) records scaled to [-1, 1], got "
            f"items of shape {x.shape[1:]} ({x.dtype}); evaluate a Symile-MIMIC directory"
        )
    return np.ascontiguousarray(x[:, None], dtype=np.float32)


def labs_input(batch: Sequence[Any]) -> np.ndarray:
    """``(n, 100)`` float32: the 50 percentiles, then the release's 50 missingness bits (1 =
    observed) from ``labs_missing`` (True = missing)."""
    columns = getattr(batch, "columns", LABS_COLUMNS)
    if tuple(columns) != LABS_COLUMNS:
        raise ModelError(
            f"labs: expected the columns {LABS_COLUMNS} (percentiles, then True = missing), got "
            f"{tuple(columns)}"
        )
    x = _values(batch).astype(np.float32, copy=False)
    if x.ndim != 2 or x.shape[1] != 2 * N_LABS:
        raise ModelError(
            f"labs: the release's labs encoder reads {N_LABS} percentiles and {N_LABS} "
            f"missingness bits (100 inputs), got {x.shape[1:]}"
        )
    missing = x[:, N_LABS:]
    if ((missing != 0) & (missing != 1)).any():
        raise ModelError("labs: labs_missing must hold 0/1 (True = missing)")
    return np.concatenate([x[:, :N_LABS], 1 - missing], axis=1)


def cxr_input(batch: Sequence[Any], size: int = RELEASE_CXR_SIZE) -> np.ndarray:
    """``(n, 3, size, size)`` float32, ImageNet-normalised: an import's arrays as released, or a
    build's images through the release's transform."""
    values = _values(batch)
    if values.dtype.kind in "fiu":  # an import of the release: arrays as released
        if values.shape[1:] != (3, size, size):
            raise ModelError(
                f"cxr: the arrays are {values.shape[1:]} but the release's CXR encoder reads "
                f"(3, {size}, {size}) (--model-arg cxr_size={size}; the release's is "
                f"{RELEASE_CXR_SIZE})"
            )
        return np.ascontiguousarray(values, dtype=np.float32)
    raw_of = getattr(batch, "raw", None)  # a harness batch: stored bytes, not decoded images
    raw = raw_of() if callable(raw_of) else list(batch)
    out = np.empty((len(raw), 3, size, size), dtype=np.float32)
    for i, item in enumerate(raw):
        if isinstance(item, Image.Image):
            out[i] = release_cxr(item, size)
            continue
        data = media_bytes(item)
        if data is None:
            raise ModelError("cxr: an image has neither bytes nor a readable path")
        with Image.open(io.BytesIO(data)) as image:
            out[i] = release_cxr(image, size)
    return out
