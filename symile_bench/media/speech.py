"""What a speech backend is: one ``synthesize`` call per clip, returning the bytes to store.

Backends differ in what they naturally produce (espeak-ng: PCM samples; gTTS: MP3 from a
remote service), and a build must not care which one it got, so every backend returns the
clip already encoded (:class:`Clip`): a builder stores ``clip.data`` and names the file with
``clip.format``, with no branch per backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from symile_bench.errors import ConfigError
from symile_bench.lexicon.languages import LANGUAGES, normalize_code

__all__ = ["Clip", "SpeechBackend", "speech_language"]


@dataclass(frozen=True)
class Clip:
    """One spoken utterance, encoded as it is stored in an ``Audio`` column."""

    data: bytes
    format: str  # "flac", "mp3", ...: also the stored file's extension


class SpeechBackend(Protocol):
    """The one protocol every TTS backend follows; builds call nothing else."""

    name: str  # recorded in the config and the card: "espeak" or "gtts"

    def synthesize(self, text: str, language: str, rng: np.random.Generator) -> Clip:
        """``text`` spoken in ``language`` (one of our codes).

        ``rng`` is the clip's own generator: a backend with seeded voice variation draws from
        it (so the clip depends only on the clip's key), a remote one ignores it.
        """
        ...

    def describe(self) -> dict[str, Any]:
        """What a manifest would record about the backend (version, voices, ...)."""
        ...


def speech_language(lang: str) -> str:
    """``lang`` as our code (``zh-CN`` -> ``zh``); a :class:`ConfigError` lists the valid ones."""
    code = normalize_code(lang)
    if code not in LANGUAGES:
        raise ConfigError(f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
    return code
