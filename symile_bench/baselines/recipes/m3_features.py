"""Symile-M3 featurisers (numpy only): log-mel statistics for audio, downsampled pixels for
images, hashed character n-grams for text (script-agnostic: works for every language).

Media are decoded from the stored bytes with soundfile / Pillow (no torchcodec needed), and
each distinct clip or image is featurised once per process (keyed by a hash of its bytes):
M3 draws its media from pools, so a split holds far fewer distinct items than rows.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import soundfile as sf
from PIL import Image

N_MELS = 40
AUDIO_DIM = 3 * N_MELS
IMAGE_SIDE = 16
IMAGE_DIM = 3 * IMAGE_SIDE * IMAGE_SIDE
TEXT_BINS = 4096
NGRAMS = (2, 3, 4)

_memo: dict[tuple[str, bytes], np.ndarray] = {}
_MEMO_MAX = 50_000


def _cached(kind: str, data: bytes, fn: Callable[[bytes], np.ndarray]) -> np.ndarray:
    key = (kind, hashlib.blake2b(data, digest_size=16).digest())
    if key not in _memo:
        if len(_memo) >= _MEMO_MAX:
            _memo.clear()
        _memo[key] = fn(data)
    return _memo[key]


def _media_bytes(item: Any) -> bytes | None:
    if item is None:
        return None
    if isinstance(item, dict):
        if item.get("bytes") is not None:
            return item["bytes"]
        if item.get("path"):
            with open(item["path"], "rb") as handle:
                return handle.read()
    if isinstance(item, bytes | bytearray):
        return bytes(item)
    raise TypeError(f"expected stored media bytes, got {type(item).__name__}")


def _mel_filters(sr: int, n_fft: int) -> np.ndarray:
    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    mels = np.linspace(hz_to_mel(np.array(0.0)), hz_to_mel(np.array(sr / 2)), N_MELS + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sr)
    lower, centre, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (bins[None] - lower) / np.maximum(centre - lower, 1e-9)
    down = (upper - bins[None]) / np.maximum(upper - centre, 1e-9)
    return np.maximum(0.0, np.minimum(up, down))


def audio_features(data: bytes) -> np.ndarray:
    """Mean and std of 40 log-mel bands (25 ms windows, 10 ms hop) and mean |delta|."""
    wave, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    wave = wave.mean(axis=1)
    n_fft, hop = 1 << int(np.ceil(np.log2(0.025 * sr))), max(1, int(0.01 * sr))
    if len(wave) < n_fft:
        wave = np.pad(wave, (0, n_fft - len(wave)))
    frames = np.lib.stride_tricks.sliding_window_view(wave, n_fft)[::hop] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    logmel = np.log(power @ _mel_filters(sr, n_fft).T + 1e-6)
    delta = np.abs(np.diff(logmel, axis=0)).mean(0) if len(logmel) > 1 else np.zeros(N_MELS)
    return np.concatenate([logmel.mean(0), logmel.std(0), delta]).astype(np.float32)


def image_features(data: bytes) -> np.ndarray:
    """RGB pixels of the image shrunk (box filter) to 16 x 16, in [0, 1]."""
    with Image.open(io.BytesIO(data)) as img:
        small = img.convert("RGB").resize((IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.BOX)
    return (np.asarray(small, dtype=np.float32) / 255.0).reshape(-1)


def text_features(text: str) -> np.ndarray:
    """Counts of hashed character 2-, 3-, 4-grams of each '_'-separated word (with boundary
    marks) and of the whole word; CRC32 hashing is stable across processes and runs."""
    out = np.zeros(TEXT_BINS, np.float32)
    for word in text.split("_"):
        marked = f"<{word}>"
        grams = [marked] + [marked[i:i + n] for n in NGRAMS for i in range(len(marked) - n + 1)]
        for g in grams:
            out[zlib.crc32(g.encode("utf-8")) % TEXT_BINS] += 1.0
    return out


def featurize_items(kind: str, items: Sequence[Any]) -> np.ndarray:
    """``[n, dim]`` features of raw items (``None`` -> zeros)."""
    if kind == "text":
        return np.stack([text_features(t) if t is not None else np.zeros(TEXT_BINS, np.float32)
                         for t in items]) if len(items) else np.zeros((0, TEXT_BINS), np.float32)
    fn, dim = {"audio": (audio_features, AUDIO_DIM), "image": (image_features, IMAGE_DIM)}[kind]
    out = np.zeros((len(items), dim), np.float32)
    for i, item in enumerate(items):
        data = _media_bytes(item)
        if data is not None:
            out[i] = _cached(kind, data, fn)
    return out
