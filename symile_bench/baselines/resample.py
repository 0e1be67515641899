"""Band-limited resampling to the rate an audio encoder expects (Whisper: 16 kHz).

The Symile-M3 release resampled every clip with ``torchaudio.transforms.Resample(sr, 16000)``
before Whisper's feature extractor. torchaudio is not usable beside the CPU torch wheel here,
so this is the same method written out: windowed-sinc interpolation with a Hann window, 6
zero crossings and a cut-off at 0.99 of the lower Nyquist frequency (torchaudio's defaults),
evaluated as one strided convolution per output phase, with the kernel computed in float64 and
applied in float32, and the output length ``ceil(n · new / orig)``.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import torch

ZERO_CROSSINGS = 6
ROLLOFF = 0.99


@cache
def _kernel(orig: int, new: int) -> tuple[torch.Tensor, int]:
    """``[new, 1, 2·width + orig]`` filters (one per output phase) and the half-width, for the
    reduced rates ``orig`` and ``new`` (divided by their gcd)."""
    cutoff = min(orig, new) * ROLLOFF
    width = math.ceil(ZERO_CROSSINGS * orig / cutoff)
    taps = torch.arange(-width, width + orig, dtype=torch.float64) / orig
    phases = -torch.arange(new, dtype=torch.float64)[:, None] / new
    t = ((phases + taps[None, :]) * cutoff).clamp(-ZERO_CROSSINGS, ZERO_CROSSINGS)
    window = torch.cos(t * math.pi / ZERO_CROSSINGS / 2) ** 2
    angle = t * math.pi
    safe = torch.where(angle == 0, torch.ones_like(angle), angle)
    sinc = torch.where(angle == 0, torch.ones_like(angle), torch.sin(safe) / safe)
    filters = sinc * window * (cutoff / orig)
    return filters[:, None, :].to(torch.float32), width


def resample(wave: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """``wave`` (float, ``[n]``) from ``orig_rate`` to ``new_rate`` samples per second."""
    if orig_rate == new_rate:
        return np.asarray(wave, dtype=np.float32)
    if orig_rate <= 0 or new_rate <= 0:
        raise ValueError(f"sampling rates must be positive, got {orig_rate} -> {new_rate}")
    gcd = math.gcd(int(orig_rate), int(new_rate))
    orig, new = int(orig_rate) // gcd, int(new_rate) // gcd
    filters, width = _kernel(orig, new)
    x = torch.as_tensor(np.asarray(wave, dtype=np.float32))[None, None, :]
    n = x.shape[-1]
    padded = torch.nn.functional.pad(x, (width, width + orig))
    out = torch.nn.functional.conv1d(padded, filters, stride=orig)  # [1, new, frames]
    flat = out[0].transpose(0, 1).reshape(-1)
    return flat[: math.ceil(new * n / orig)].numpy()


def mono(samples: np.ndarray) -> np.ndarray:
    """One channel: the mean of a ``[n, channels]`` clip's channels (Common Voice is mono)."""
    arr = np.asarray(samples, dtype=np.float32)
    return arr.mean(axis=1) if arr.ndim == 2 else arr
