"""Symile-MIMIC featurisers (numpy + Pillow): the stored ECG, labs and CXR as fixed-size arrays.

- ECG: the stored (5000, 12) record (already min-max scaled to [−1, 1]). ``small``: mean over
  blocks of ``ECG_STEP`` samples, leads first, ``[12, 500]`` (50 Hz keeps every wave of a beat;
  a QRS complex lasts about 0.1 s). ``paper``: the full record as a one-channel image
  ``[1, 5000, 12]``, the release's ECG input.
- Labs: the 50 percentiles and the 50 missingness bits, ``[100]`` (the release's input).
- CXR: grey, centre square crop, resized (box filter) to ``side × side``, in [0, 1]. The builder
  stores train images uncropped (so that random crops stay possible) and val/test centre-cropped
  to a square; cropping every split the same way here keeps train and test images aligned
  (features are cached once per split, so there is no per-epoch random crop).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from symile_bench.harness.batch import ModalityBatch, media_bytes

ECG_SAMPLES, ECG_LEADS = 5000, 12
ECG_STEP = 10
N_LAB_INPUTS = 100
SIDES = {"small": 64, "paper": 320}


def _hidden(batch: Any) -> bool:
    return bool(getattr(batch, "is_hidden", False))


def _values(batch: ModalityBatch | Sequence[Any]) -> np.ndarray:
    """Numeric items as one array (a harness batch, or a plain list of arrays / dicts)."""
    if hasattr(batch, "numpy"):
        return np.asarray(batch.numpy(), dtype=np.float32)
    items = list(batch)
    if items and isinstance(items[0], dict):  # labs: {"labs_percentile": ..., "labs_missing": ...}
        return np.stack(
            [
                np.concatenate([np.asarray(v, np.float32).reshape(-1) for v in item.values()])
                for item in items
            ]
        )
    return np.asarray(items, dtype=np.float32)


def ecg_features(batch: ModalityBatch | Sequence[Any], arch: str) -> np.ndarray:
    """``small``: ``[n, 12, 500]`` block means; ``paper``: ``[n, 1, 5000, 12]``."""
    if _hidden(batch):
        shape = (
            (ECG_LEADS, ECG_SAMPLES // ECG_STEP) if arch == "small" else (1, ECG_SAMPLES, ECG_LEADS)
        )
        return np.zeros((len(batch), *shape), np.float32)
    x = _values(batch)
    if x.shape[1:] != (ECG_SAMPLES, ECG_LEADS):
        raise ValueError(f"ecg: expected (n, {ECG_SAMPLES}, {ECG_LEADS}) records, got {x.shape}")
    if arch == "paper":
        return np.ascontiguousarray(x[:, None])
    blocks = x.reshape(len(x), ECG_SAMPLES // ECG_STEP, ECG_STEP, ECG_LEADS).mean(axis=2)
    return np.ascontiguousarray(blocks.transpose(0, 2, 1))


def labs_features(batch: ModalityBatch | Sequence[Any]) -> np.ndarray:
    """``[n, 100]``: 50 percentiles then 50 missingness bits (as stored)."""
    if _hidden(batch):
        return np.zeros((len(batch), N_LAB_INPUTS), np.float32)
    x = _values(batch)
    if x.shape[1:] != (N_LAB_INPUTS,):
        raise ValueError(
            f"labs: expected {N_LAB_INPUTS} inputs (50 percentiles + 50 "
            f"missingness bits), got {x.shape[1:]}"
        )
    return x


def cxr_image(image: Image.Image, side: int) -> np.ndarray:
    """``[side, side]`` grey pixels in [0, 1] of the centre square crop."""
    square = ImageOps.fit(
        image.convert("L"), (side, side), Image.Resampling.BOX, centering=(0.5, 0.5)
    )
    return np.asarray(square, dtype=np.float32) / 255.0


def cxr_features(batch: ModalityBatch | Sequence[Any], arch: str) -> np.ndarray:
    """``[n, 1, side, side]`` (missing items: zeros). Items are stored bytes, or images a
    ``datasets`` row already decoded."""
    side = SIDES[arch]
    items = (
        [None] * len(batch)
        if _hidden(batch)
        else (batch.raw() if hasattr(batch, "raw") else list(batch))
    )
    out = np.zeros((len(items), 1, side, side), np.float32)
    for i, item in enumerate(items):
        if isinstance(item, Image.Image):
            out[i, 0] = cxr_image(item, side)
        elif (data := media_bytes(item)) is not None:
            with Image.open(io.BytesIO(data)) as image:
                out[i, 0] = cxr_image(image, side)
    return out
