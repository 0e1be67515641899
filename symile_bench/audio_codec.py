"""Encode, decode and measure audio clips (soundfile / libsndfile; no FFmpeg needed).

Synthesised clips are stored as compact MP3 or lossless FLAC (16-bit); clips that
arrive encoded (Common Voice, gTTS) keep their MP3 bytes. Encoding is deterministic:
the same samples give the same bytes.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from symile_bench.errors import ConfigError, MissingDependencyError, SourceError

__all__ = ["AUDIO_FORMATS", "audio_duration", "decode_audio", "encode_audio"]

AUDIO_FORMATS: dict[str, tuple[str, str | None]] = {
    "flac": ("FLAC", "PCM_16"),
    "wav": ("WAV", "PCM_16"),
    "mp3": ("MP3", None),
}
"""``fmt`` values of :func:`encode_audio`: libsndfile format and subtype."""


def encode_audio(samples: np.ndarray, sample_rate: int, fmt: str = "flac") -> bytes:
    """Encode float samples in [-1, 1] (shape (n,) or (n, channels)) as flac, wav or mp3."""
    key = str(fmt).lower()
    if key not in AUDIO_FORMATS:
        raise ConfigError(
            f"unknown audio format {fmt!r}; use one of {', '.join(sorted(AUDIO_FORMATS))}"
        )
    if int(sample_rate) <= 0:
        raise ConfigError(f"sample rate {sample_rate} must be positive")
    data = np.asarray(samples)
    if data.ndim not in (1, 2) or data.size == 0:
        raise ConfigError(f"audio samples must be a non-empty 1-D or 2-D array, got {data.shape}")
    if data.dtype.kind == "f":
        data = np.clip(data, -1.0, 1.0)
    fmt_name, subtype = AUDIO_FORMATS[key]
    if fmt_name not in sf.available_formats():
        raise ConfigError(
            f"this libsndfile ({sf.__libsndfile_version__}) cannot write {key}; use flac or wav"
        )
    buf = io.BytesIO()
    # MP3 at libsndfile's compression level 0.9 (about 35 kbit/s for speech): a quarter of
    # FLAC's size, still intelligible, and deterministic like the other encoders.
    extra = {"compression_level": 0.9} if key == "mp3" else {}
    sf.write(buf, data, int(sample_rate), format=fmt_name, subtype=subtype, **extra)
    return buf.getvalue()


def decode_audio(data: bytes, *, name: str = "audio clip") -> tuple[np.ndarray, int]:
    """Decode encoded bytes (flac, wav, ogg, mp3) to float32 samples and the sample rate:
    shape ``[n]`` for mono, ``[n, channels]`` otherwise."""
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        if _is_mp3(data) and "MP3" not in sf.available_formats():
            raise MissingDependencyError(
                f"cannot decode {name}: this libsndfile ({sf.__libsndfile_version__}) reads no "
                "MP3; install libsndfile >= 1.1 (pip install -U soundfile bundles one)"
            ) from exc
        raise SourceError(f"cannot decode {name}: {exc}; replace the file") from exc
    return samples, int(rate)


def _is_mp3(data: bytes) -> bool:
    """An ID3 tag or an MPEG audio frame sync at the start."""
    return data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def audio_duration(data: bytes, *, name: str = "audio clip") -> float:
    """Duration in seconds of encoded audio bytes (reads the header; MP3 is scanned)."""
    try:
        info = sf.info(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise SourceError(f"cannot read {name}: {exc}; replace the file") from exc
    return float(info.frames) / float(info.samplerate) if info.samplerate else 0.0
