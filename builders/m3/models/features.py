"""Symile-M3 featurisers (numpy only): log-mel statistics for audio, downsampled pixels plus a
colour histogram for images, and for text one slot per '_'-separated word holding two hashes of
the whole word and a hashed histogram of its Unicode scripts (exact for our vocabulary: every
word of the lexicon is a distinct token; script-agnostic: works for every language).

Media are decoded from the stored bytes with soundfile / Pillow (no torchcodec needed), and
each distinct clip or image is featurised once per process (keyed by a hash of its bytes):
M3 draws its media from pools, so a split holds far fewer distinct items than rows.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import soundfile as sf
from PIL import Image

from symile_bench.harness.batch import media_bytes

N_MELS = 40
AUDIO_DIM = 3 * N_MELS
IMAGE_SIDE = 16
HIST_LEVELS = 8  # per channel: an 8 x 8 x 8 joint RGB histogram
IMAGE_DIM = 3 * IMAGE_SIDE * IMAGE_SIDE + HIST_LEVELS**3
MAX_WORDS = 16  # word slots per text (the paper's texts have w <= 10 words); extra words dropped
WORD_BUCKETS = 1 << 14  # per hash; two hashes make a collision of both ~ 1 in 2.7e8 per pair
SCRIPT_BINS = 32
WORD_FIELDS = 2 + SCRIPT_BINS
TEXT_SHAPE = (MAX_WORDS, WORD_FIELDS)

_memo: dict[tuple[str, bytes], np.ndarray] = {}
_MEMO_MAX = 50_000


def _cached(kind: str, data: bytes, fn: Callable[[bytes], np.ndarray]) -> np.ndarray:
    key = (kind, hashlib.blake2b(data, digest_size=16).digest())
    if key not in _memo:
        if len(_memo) >= _MEMO_MAX:
            _memo.clear()
        _memo[key] = fn(data)
    return _memo[key]


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
    """RGB pixels of the image shrunk (box filter) to 16 x 16, in [0, 1], then the fractions
    of a 64 x 64 shrink's pixels in each cell of an 8 x 8 x 8 RGB grid: the glyph's palette
    survives the augmentation's position, scale and rotation, which move every pixel."""
    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB")
        small = rgb.resize((IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.BOX)
        mid = np.asarray(rgb.resize((64, 64), Image.Resampling.BOX), dtype=np.int64)
    q = mid * HIST_LEVELS // 256
    cells = (q[..., 0] * HIST_LEVELS + q[..., 1]) * HIST_LEVELS + q[..., 2]
    hist = np.bincount(cells.reshape(-1), minlength=HIST_LEVELS**3).astype(np.float32)
    pixels = (np.asarray(small, dtype=np.float32) / 255.0).reshape(-1)
    return np.concatenate([pixels, hist / hist.sum()])


def _script(ch: str) -> str:
    """The first word of a character's Unicode name: LATIN, GREEK, CYRILLIC, DEVANAGARI,
    HIRAGANA, CJK, ... (the word's writing system, a cue to its language)."""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else f"U{ord(ch) >> 7}"


def _hash(text: str, salt: str, buckets: int) -> int:
    return zlib.crc32(f"{salt}\x00{text}".encode()) % buckets


def text_features(text: str) -> np.ndarray:
    """``[MAX_WORDS, 2 + SCRIPT_BINS]``: per '_'-separated word, two CRC32 hashes of the whole
    word (each + 1, so 0 marks an empty slot) and the fractions of its characters per hashed
    script name. CRC32 is stable across processes and runs."""
    out = np.zeros(TEXT_SHAPE, np.float32)
    for j, word in enumerate([w for w in text.split("_") if w][:MAX_WORDS]):
        out[j, 0] = 1 + _hash(word, "a", WORD_BUCKETS)
        out[j, 1] = 1 + _hash(word, "b", WORD_BUCKETS)
        for ch in word:
            out[j, 2 + _hash(_script(ch), "s", SCRIPT_BINS)] += 1.0 / len(word)
    return out


def featurize_items(kind: str, items: Sequence[Any]) -> np.ndarray:
    """``[n, ...]`` features of raw items (``None`` -> zeros)."""
    if kind == "text":
        out = np.zeros((len(items), *TEXT_SHAPE), np.float32)
        for i, t in enumerate(items):
            if t is not None:
                out[i] = text_features(t)
        return out
    fn, dim = {"audio": (audio_features, AUDIO_DIM), "image": (image_features, IMAGE_DIM)}[kind]
    out = np.zeros((len(items), dim), np.float32)
    for i, item in enumerate(items):
        data = media_bytes(item)
        if data is not None:
            out[i] = _cached(kind, data, fn)
    return out
