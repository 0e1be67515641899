"""espeak-ng speech (the default, offline backend) with seeded voice variation per clip.

Clips are byte-identical to ``espeak-ng --stdout`` with the same options, whichever engine runs
them (a libespeak-ng fork-server, :mod:`._espeak_client`, or one process per clip), and are
returned encoded in the build's audio format.

Voices (checked with ``espeak-ng --voices`` and ``espeak-ng -q -x``, whose phoneme output names
any switch to another language, e.g. ``(en)``):

=====  =====================  =================================================================
code   espeak-ng voice         notes
=====  =====================  =================================================================
ar     ``ar``                  Arabic (sem/ar); digits read one by one (see number_utterance)
el     ``el``                  Greek
en     ``en-us``               American English
hi     ``hi``                  Hindi (inc/hi), not the MBROLA voices of the same code
ja     ``ja``                  reads kana and digits; kanji are spelled as "Chinese letter" in
                               English, so Japanese text must be kana (numbers are digits)
ko     ``ko``                  Korean
te     ``te``                  Telugu (dra/te)
th     ``th``                  Thai
uk     ``uk``                  Ukrainian
zh     ``cmn-latn-pinyin``     Mandarin. Plain digits are Mandarin in both ``cmn`` and
                               ``cmn-latn-pinyin``, but ``cmn`` reads Latin text (pinyin with
                               tone digits, which it also produces internally for some hanzi,
                               e.g. 四十二) as English: ``(en)sI55f'o@55``. The pinyin voice
                               reads both as Mandarin, so it is the safe choice.
=====  =====================  =================================================================
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import struct
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from symile_bench.audio_codec import AUDIO_FORMATS, encode_audio
from symile_bench.errors import ConfigError, MissingDependencyError
from symile_bench.media._espeak_client import EspeakWorker
from symile_bench.media.speech import Clip, speech_language

__all__ = [
    "ESPEAK_VARIANTS",
    "ESPEAK_VOICES",
    "EspeakTTS",
    "VoiceParams",
    "check_voices",
    "espeak_phonemes",
]

log = logging.getLogger(__name__)

ESPEAK_VOICES: dict[str, str] = {
    "ar": "ar",
    "el": "el",
    "en": "en-us",
    "hi": "hi",
    "ja": "ja",
    "ko": "ko",
    "te": "te",
    "th": "th",
    "uk": "uk",
    "zh": "cmn-latn-pinyin",
}
"""Our language code -> espeak-ng voice (see the module docstring for how each was checked)."""

ESPEAK_VARIANTS: tuple[str, ...] = tuple(f"m{i}" for i in range(1, 8)) + tuple(
    f"f{i}" for i in range(1, 6)
)
"""Voice variants (espeak-ng-data/voices/!v) drawn per clip: 7 male, 5 female formant sets."""

RATE_WPM = (140, 200)  # espeak-ng -s, words per minute (default 175), inclusive range
PITCH = (30, 70)  # espeak-ng -p, 0-99 (default 50)
WORD_GAP = (0, 3)  # espeak-ng -g, pause between words in units of 10 ms

_APT_ESPEAK = "install it with: apt-get install espeak-ng"
# espeak-ng -x marks a switch to another language's rules as "(en)", "(ja)", ...
_LANGUAGE_SWITCH = re.compile(r"\([a-z]{2,3}(-[a-z]+)?\)")


@dataclass(frozen=True)
class VoiceParams:
    """One clip's espeak-ng settings (the ``-v``, ``-s``, ``-p``, ``-g`` options)."""

    voice: str  # e.g. "ja+f2"
    rate: int
    pitch: int
    gap: int

    def cli_args(self) -> list[str]:
        return ["-v", self.voice, "-s", str(self.rate), "-p", str(self.pitch), "-g", str(self.gap)]


def _espeak_executable() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise MissingDependencyError(f"espeak-ng is not on PATH; {_APT_ESPEAK}")
    return exe


def espeak_phonemes(text: str, lang: str) -> str:
    """espeak-ng's phoneme transcription (``-q -x``) of ``text`` with ``lang``'s voice.

    A switch to another language shows as ``(en)`` etc., which is how the voices were checked.
    """
    out = _run_espeak(
        [_espeak_executable(), "-q", "-x", "-v", ESPEAK_VOICES[speech_language(lang)]], text
    )
    return out.decode("utf-8", errors="replace").strip()


def _run_espeak(argv: list[str], text: str, what: str = "") -> bytes:
    """One espeak-ng process reading `text` on stdin; a failure names the package to fix."""
    proc = subprocess.run(
        argv, input=text.encode("utf-8"), capture_output=True, check=False, timeout=120
    )
    if proc.returncode != 0:
        raise MissingDependencyError(
            f"espeak-ng failed{what} ({proc.stderr.decode(errors='replace').strip()}); "
            f"{_APT_ESPEAK} and its voice data (espeak-ng-data)"
        )
    return proc.stdout


def _parse_wav(data: bytes) -> tuple[np.ndarray, int]:
    """16-bit mono PCM from espeak-ng's streamed WAV (its size fields are placeholders)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV stream")
    pos, rate = 12, 0
    while pos + 8 <= len(data):
        tag, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        pos += 8
        if tag == b"fmt ":
            channels, rate = struct.unpack("<HI", data[pos + 2 : pos + 8])
            bits = struct.unpack("<H", data[pos + 14 : pos + 16])[0]
            if channels != 1 or bits != 16:
                raise ValueError(f"unexpected WAV format: {channels} channels, {bits} bits")
            pos += size
        elif tag == b"data":
            pcm = data[pos:]
            return np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2"), rate
        else:
            pos += size
    raise ValueError("WAV stream has no data chunk")


_ENGINES = ("auto", "library", "cli")


class EspeakTTS:
    """espeak-ng speech with seeded voice variation, encoded as ``audio_format`` (16-bit).

    ``engine``: ``"library"`` runs libespeak-ng in a fork-server (about 1.5x the clips/s of
    ``"cli"``, one ``espeak-ng`` process per clip); ``"auto"`` (default) uses the library when
    it loads and the command line otherwise. Both give byte-identical samples.
    """

    name = "espeak"
    sample_rate = 22050  # espeak-ng's native rate; updated from the engine's answer

    def __init__(self, *, audio_format: str = "flac", engine: str = "auto") -> None:
        if engine not in _ENGINES:
            raise ConfigError(f"unknown espeak engine {engine!r}; use one of {', '.join(_ENGINES)}")
        if audio_format not in AUDIO_FORMATS:
            raise ConfigError(
                f"unknown audio format {audio_format!r}; use one of {', '.join(AUDIO_FORMATS)}"
            )
        self.audio_format = audio_format
        self.executable = _espeak_executable()
        self.requested_engine = engine
        self._worker: EspeakWorker | None = None
        self._worker_pid: int | None = None
        self.engine = "cli" if engine == "cli" or not hasattr(os, "fork") else "library"
        self.engine_note = ""
        self._version: str | None = None
        if self.engine == "library":
            self._ensure_worker()

    # -- pickling (process pools): the worker process stays behind and restarts lazily ----------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_worker"] = None
        state["_worker_pid"] = None
        return state

    def close(self) -> None:
        """Stop the worker process (also done when collected and at interpreter exit)."""
        if self._worker is not None and self._worker_pid == os.getpid():
            self._worker.close()
        self._worker = None

    def __enter__(self) -> EspeakTTS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_worker(self) -> EspeakWorker | None:
        if self.engine != "library":
            return None
        if self._worker is not None and self._worker_pid == os.getpid():
            return self._worker
        try:
            self._worker, self._worker_pid = EspeakWorker(), os.getpid()
            return self._worker
        except OSError as exc:
            self._library_failed(exc)
            return None

    def _library_failed(self, exc: Exception) -> None:
        if self._worker is not None and self._worker_pid == os.getpid():
            self._worker.close()
        self._worker = None
        if self.requested_engine == "library":
            raise MissingDependencyError(
                f"libespeak-ng could not be used ({exc}); {_APT_ESPEAK} (it brings "
                "libespeak-ng1) or use engine='cli'"
            ) from exc
        # Same bytes either way, so this only costs speed.
        log.debug("espeak-ng library engine unavailable (%s); using the command line", exc)
        self.engine, self.engine_note = "cli", str(exc)

    # -- voices ---------------------------------------------------------------------------------
    @staticmethod
    def voice(lang: str) -> str:
        """The espeak-ng voice used for ``lang``."""
        return ESPEAK_VOICES[speech_language(lang)]

    @staticmethod
    def draw_params(rng: np.random.Generator, lang: str) -> VoiceParams:
        """One clip's seeded voice settings: variant, speed, pitch, word gap (4 draws)."""
        base = ESPEAK_VOICES[speech_language(lang)]
        variant = ESPEAK_VARIANTS[int(rng.integers(len(ESPEAK_VARIANTS)))]
        rate = int(rng.integers(RATE_WPM[0], RATE_WPM[1] + 1))
        pitch = int(rng.integers(PITCH[0], PITCH[1] + 1))
        gap = int(rng.integers(WORD_GAP[0], WORD_GAP[1] + 1))
        return VoiceParams(f"{base}+{variant}", rate, pitch, gap)

    # -- synthesis -------------------------------------------------------------------------------
    def _pcm(self, text: str, params: VoiceParams) -> np.ndarray:
        worker = self._ensure_worker()
        if worker is not None:
            try:
                pcm = worker.synthesize({**asdict(params), "text": text})
                self.sample_rate = worker.sample_rate
                return np.frombuffer(pcm, "<i2")
            except (OSError, RuntimeError, ValueError) as exc:
                self._library_failed(exc)
        argv = [self.executable, "--stdout", *params.cli_args()]
        samples, self.sample_rate = _parse_wav(
            _run_espeak(argv, text, f" for voice {params.voice}")
        )
        return samples

    def samples(self, text: str, lang: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """``text`` in ``lang`` before encoding: (float32 mono samples in [-1, 1], sample rate);
        the voice settings are drawn from ``rng`` as :meth:`synthesize` draws them."""
        params = self.draw_params(rng, lang)
        pcm = self._pcm(str(text), params)
        return pcm.astype(np.float32) * np.float32(1.0 / 32768.0), self.sample_rate

    def synthesize(self, text: str, language: str, rng: np.random.Generator) -> Clip:
        """``text`` spoken in ``language`` with voice settings drawn from ``rng`` (4 draws)."""
        samples, rate = self.samples(text, language, rng)
        return Clip(encode_audio(samples, rate, self.audio_format), self.audio_format)

    def version(self) -> str:
        if self._version is None:
            out = subprocess.run(
                [self.executable, "--version"],
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            ).stdout
            self._version = out.split("Data at")[0].strip()
        return self._version

    def describe(self) -> dict[str, Any]:
        """What a manifest should record about this backend."""
        return {
            "backend": self.name,
            "version": self.version(),
            "engine": self.engine,
            "audio_format": self.audio_format,
            "voices": dict(ESPEAK_VOICES),
            "variants": list(ESPEAK_VARIANTS),
            "rate_wpm": list(RATE_WPM),
            "pitch": list(PITCH),
            "word_gap": list(WORD_GAP),
        }


def check_voices(languages: Sequence[str]) -> None:
    """Fail unless espeak-ng is installed with a voice that reads digits in each language."""
    codes = [speech_language(code) for code in languages]
    _espeak_executable()
    for code in codes:
        phonemes = espeak_phonemes("12", code)
        if not phonemes or _LANGUAGE_SWITCH.search(phonemes):
            raise MissingDependencyError(
                f"espeak-ng voice {ESPEAK_VOICES[code]} does not read digits in its own language "
                f"(phonemes: {phonemes!r}); {_APT_ESPEAK} with its full voice data (espeak-ng-data)"
            )
