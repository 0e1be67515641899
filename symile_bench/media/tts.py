"""Choosing a build's speech backend: once, in the parent, before anything is written.

Backends, all following :class:`~symile_bench.media.speech.SpeechBackend` (one
``synthesize(text, language, rng) -> Clip``):

* ``espeak`` (default, offline): :class:`~symile_bench.media.espeak.EspeakTTS`, espeak-ng with
  a seeded voice variant, speed, pitch and word gap per clip; byte-identical clips for the same
  seed.
* ``gtts`` (optional, online): :class:`~symile_bench.media.google_tts.GTTSBackend`, Google
  Translate's MP3s.

Real recordings (Common Voice, as in the paper) are a source, not a backend:
:class:`~symile_bench.media.commonvoice.CommonVoiceSource`.

Why two steps: the choice must be made once per build (a worker that found gTTS unreachable
must not quietly speak espeak-ng while another speaks gTTS), so :func:`choose_tts` probes and
returns the backend name the config records, and every worker builds that backend with
:func:`make_tts`, which never probes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

from symile_bench.errors import BackendUnavailableError, ConfigError, MissingDependencyError
from symile_bench.media.espeak import EspeakTTS, check_voices
from symile_bench.media.google_tts import GTTSBackend
from symile_bench.media.speech import SpeechBackend, speech_language

__all__ = ["choose_tts", "make_tts", "probe_tts"]

_BACKENDS = {"espeak": "espeak", "espeak-ng": "espeak", "gtts": "gtts"}


def _backend_name(backend: str) -> str:
    key = str(backend).lower()
    if key not in _BACKENDS:
        raise ConfigError(f"unknown TTS backend {backend!r}; use espeak or gtts (--tts)")
    return _BACKENDS[key]


def _default_warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)


def probe_tts(backend: str, languages: Sequence[str] = ("en",)) -> None:
    """Check that ``backend`` can speak ``languages`` now, without building anything.

    espeak-ng: on PATH and a voice per language; gTTS: installed and reachable (one request).
    Raises :class:`MissingDependencyError`, :class:`BackendUnavailableError` or
    :class:`ConfigError` (unknown language).
    """
    name = _backend_name(backend)
    codes = [speech_language(code) for code in languages]
    if name == "gtts":
        GTTSBackend().probe()
        return
    check_voices(codes)


def choose_tts(
    backend: str,
    languages: Sequence[str],
    *,
    fallback: bool = True,
    warn: Callable[[str], None] | None = None,
) -> str:
    """The backend a build uses, probed: ``backend``'s name, or ``"espeak"`` when gTTS is
    unreachable or not installed and ``fallback`` is on (said once through ``warn``).

    With ``fallback=False`` (``--no-fallback``) the probe's error is raised instead.
    """
    name = _backend_name(backend)
    try:
        probe_tts(name, languages)
        return name
    except (BackendUnavailableError, MissingDependencyError) as exc:
        if name != "gtts" or not fallback:
            raise
        (warn or _default_warn)(
            f"{exc}; falling back to espeak-ng for this build (--no-fallback to fail instead)"
        )
    probe_tts("espeak", languages)
    return "espeak"


def make_tts(backend: str = "espeak", *, audio_format: str = "flac") -> SpeechBackend:
    """The backend named ``backend`` (as :func:`choose_tts` returned it), not probed;
    espeak-ng encodes its clips as ``audio_format``, gTTS clips stay the service's MP3."""
    if _backend_name(backend) == "gtts":
        return GTTSBackend()
    return EspeakTTS(audio_format=audio_format)
