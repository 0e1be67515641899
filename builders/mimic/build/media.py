"""Per-row media preprocessing, as the release's tensor step does it.

CXR: `torchvision.transforms.Resize(size)` (smaller edge to `size`, the other
`int(size * long / short)`, PIL bilinear) then, for val/test, `CenterCrop(size)` (offsets
`round((edge - size) / 2)`); train keeps the resized image uncropped so that random crops stay
possible. Stored losslessly as PNG, in the JPG's own mode (MIMIC-CXR-JPG is 8-bit grayscale;
the release's `convert('RGB')` only repeats that channel three times). `release_cxr` is the rest
of the release's `get_cxr` (`ToTensor`, `Normalize` with ImageNet's mean and std): what an
export writes and what the release's checkpoint reads.
ECG: the release's min-max scaling to [-1, 1] of the whole (5000, 12) record.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from builders.mimic.build import ecg as ecg_io
from symile_bench.errors import SourceError

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)[:, None, None]
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)[:, None, None]


def resized_size(width: int, height: int, size: int) -> tuple[int, int]:
    """torchvision's Resize(int) output (width, height)."""
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def center_box(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """torchvision's CenterCrop box (left, top, right, bottom); Python's round, like it."""
    top = round((height - size) / 2.0)
    left = round((width - size) / 2.0)
    return left, top, left + size, top + size


def release_cxr(image: Image.Image, size: int) -> np.ndarray:
    """(3, size, size) float32: `process_and_save_tensors.py` `get_cxr` for val/test on a decoded
    image (`convert('RGB')`, `Resize(size)`, `CenterCrop(size)`, `ToTensor`, `Normalize`). On a
    stored val/test PNG of a build with `--cxr-size size` the resize and crop change nothing
    (the build did them, per band as PIL does in RGB), so only the last two steps act. Both are
    float32 operations in torchvision's order: the output is bit for bit what the release's
    transform gives on the same pixels."""
    rgb = image.convert("RGB")
    target = resized_size(rgb.width, rgb.height, size)
    if target != rgb.size:
        rgb = rgb.resize(target, Image.Resampling.BILINEAR)
    if rgb.size != (size, size):
        rgb = rgb.crop(center_box(rgb.width, rgb.height, size))
    pixels = np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1) / np.float32(255)
    normalised: np.ndarray = (pixels - IMAGENET_MEAN) / IMAGENET_STD
    return normalised


def cxr_png(path: Path, size: int, crop: bool) -> bytes:
    """Decode, resize (and centre-crop when `crop`), and encode as PNG."""
    try:
        with Image.open(path) as opened:
            opened.load()
            image: Image.Image = opened
            if image.mode not in ("L", "RGB"):
                image = image.convert("RGB")
            target = resized_size(image.width, image.height, size)
            if target != image.size:
                image = image.resize(target, Image.Resampling.BILINEAR)
            if crop:
                image = image.crop(center_box(image.width, image.height, size))
            out = io.BytesIO()
            image.save(out, format="PNG")
            return out.getvalue()
    except FileNotFoundError:
        raise SourceError(
            f"{path}: the chosen CXR disappeared since the cohort was computed; restore it, or "
            "rerun with --overwrite to recompute the cohort"
        ) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise SourceError(
            f"{path}: cannot decode this JPG ({exc}); re-download it, or delete it (the CXR is "
            "then skipped) and rerun with --overwrite"
        ) from None


def ecg_scaled(record: Path) -> np.ndarray:
    """(5000, 12) float32 in [-1, 1]."""
    try:
        signal = ecg_io.read_physical(record)
        status = ecg_io.classify(signal)
        if status != ecg_io.OK:
            raise ecg_io.EcgError(status)
        return ecg_io.scale(signal)
    except ecg_io.EcgError as exc:
        raise SourceError(
            f"{record}: the chosen ECG is no longer usable ({exc.reason}) since the cohort was "
            "computed; restore it, or rerun with --overwrite to recompute the cohort"
        ) from None
