"""Speech for the Symile-M3 audio modality.

A clip is an utterance in language L whose content is independent of the image class: a few
random numbers (:func:`number_utterance`), which every espeak-ng voice reads natively. Backends:

* :class:`EspeakTTS` (default, offline): espeak-ng with a seeded voice variant, speed, pitch
  and word gap per clip. Clips are byte-identical to ``espeak-ng --stdout`` with the same
  options, whichever engine runs them (a libespeak-ng fork-server, or one process per clip).
* :class:`GTTSBackend` (optional, online): Google Translate's TTS through gTTS, MP3 bytes.
* :class:`~symile_bench.media.commonvoice.CommonVoiceSource`: real recordings, as in the paper.

A build chooses its backend once with :func:`make_tts` (which probes gTTS and falls back to
espeak-ng with a warning, or fails with ``fallback=False``) and records ``backend.name``.

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

import io
import json
import logging
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import warnings
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from symile_bench.errors import (
    BackendUnavailableError,
    ConfigError,
    MissingDependencyError,
)
from symile_bench.lexicon.languages import LANGUAGES, normalize_code
from symile_bench.media.audio import audio_duration, decode_audio, encode_audio
from symile_bench.media.commonvoice import COMMON_VOICE_LOCALES, CommonVoiceSource

__all__ = [
    "COMMON_VOICE_LOCALES",
    "ESPEAK_VARIANTS",
    "ESPEAK_VOICES",
    "GTTS_LANGS",
    "CommonVoiceSource",
    "EspeakTTS",
    "GTTSBackend",
    "SpeechBackend",
    "VoiceParams",
    "audio_duration",
    "decode_audio",
    "encode_audio",
    "espeak_phonemes",
    "make_tts",
    "number_utterance",
    "probe_tts",
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

GTTS_LANGS: dict[str, str] = {code: code for code in LANGUAGES} | {"zh": "zh-CN"}
"""Our language code -> gTTS/Google Translate language."""

# Clause separator per language: the script's own comma, which espeak-ng treats as a pause.
_SEPARATORS = {"ar": "، ", "ja": "、", "zh": "，"}
# espeak-ng 1.51 reads Arabic numbers >= 10 unreliably: the phonemes of ~2,500 of 0-9999 change
# from run to run (e.g. 2917 ends in "A-aSaR", "A-aSCaR" or "A-qaSqaR") and valgrind reports reads
# of uninitialised stack memory in the number code (likely the buffer overflow fixed upstream in
# espeak-ng PR #2092). Single digits are clean, so Arabic numbers are written digit by digit
# ("2 9 1 7"). The other nine voices read 0-99 and 1,400 random numbers up to 9999 identically
# in repeated runs, and valgrind is clean for their utterances.
_DIGIT_BY_DIGIT = frozenset({"ar"})

_APT_ESPEAK = "install it with: apt-get install espeak-ng"
# espeak-ng -x marks a switch to another language's rules as "(en)", "(ja)", ...
_LANGUAGE_SWITCH = re.compile(r"\([a-z]{2,3}(-[a-z]+)?\)")


def _lang(lang: str) -> str:
    code = normalize_code(lang)
    if code not in ESPEAK_VOICES:
        raise ConfigError(f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
    return code


def number_utterance(rng: np.random.Generator, lang: str) -> str:
    """A short utterance of 2-4 random numbers of 1-4 digits each, e.g. ``"42, 7, 1795"``.

    Written with ASCII digits (every voice reads them natively, ja and zh included) and the
    language's own comma, so each number is its own clause; Arabic numbers are read digit by
    digit (``"4 2، 7"``) to avoid an espeak-ng bug. Every language makes the same draws, so
    the generator advances identically whatever the language.
    """
    code = _lang(lang)
    count = int(rng.integers(2, 5))
    digits = rng.integers(1, 5, size=count)
    low = np.where(digits == 1, 0, 10 ** (digits - 1))
    numbers = [str(int(n)) for n in rng.integers(low, 10**digits)]
    if code in _DIGIT_BY_DIGIT:
        numbers = [" ".join(n) for n in numbers]
    return _SEPARATORS.get(code, ", ").join(numbers)


class SpeechBackend(Protocol):
    """What a build needs from a speech backend (both backends below satisfy it)."""

    name: str  # recorded in the manifest: "espeak" or "gtts"
    audio_format: str  # "flac" (encoded by the builder) or "mp3" (bytes from the backend)

    def describe(self) -> dict[str, Any]: ...


# ------------------------------------------------------------------------------------------
# espeak-ng
# ------------------------------------------------------------------------------------------
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
    out = _run_espeak([_espeak_executable(), "-q", "-x", "-v", ESPEAK_VOICES[_lang(lang)]], text)
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


class _Worker:
    """Client of one ``_espeak_worker.py`` process (see there for why it forks per clip)."""

    BATCH = 32  # requests in flight; keeps both pipes far below their buffer sizes

    def __init__(self) -> None:
        script = Path(__file__).with_name("_espeak_worker.py")
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-I", str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._finalizer = weakref.finalize(self, _Worker._stop, self.proc)
        status, rate, payload = self._read()
        if status != 0:
            self.close()
            raise OSError(payload.decode(errors="replace"))
        self.sample_rate = rate

    @staticmethod
    def _stop(proc: subprocess.Popen) -> None:
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            if proc.stdout:
                proc.stdout.close()

    def close(self) -> None:
        self._finalizer()

    def _read(self) -> tuple[int, int, bytes]:
        out = self.proc.stdout
        head = out.read(13)
        if len(head) < 13:
            raise OSError("espeak-ng worker exited")
        status, rate, length = struct.unpack("<BIQ", head)
        payload = out.read(length)
        if len(payload) < length:
            raise OSError("espeak-ng worker exited mid-clip")
        return status, rate, payload

    def synthesize(self, texts: Sequence[str], params: Sequence[VoiceParams]) -> list[bytes]:
        results: list[bytes] = []
        for start in range(0, len(texts), self.BATCH):
            chunk = range(start, min(start + self.BATCH, len(texts)))
            for i in chunk:
                body = json.dumps(
                    {
                        "voice": params[i].voice,
                        "rate": params[i].rate,
                        "pitch": params[i].pitch,
                        "gap": params[i].gap,
                        "text": texts[i],
                    }
                ).encode()
                self.proc.stdin.write(struct.pack("<I", len(body)) + body)
            self.proc.stdin.flush()
            for _ in chunk:
                status, _, payload = self._read()
                if status != 0:
                    raise RuntimeError(payload.decode(errors="replace"))
                results.append(payload)
        return results


_ENGINES = ("auto", "library", "cli")


class EspeakTTS:
    """espeak-ng speech with seeded voice variation; float32 mono clips at 22,050 Hz.

    ``engine``: ``"library"`` runs libespeak-ng in a fork-server (about 1.5x the clips/s of
    ``"cli"``, one ``espeak-ng`` process per clip); ``"auto"`` (default) uses the library when
    it loads and the command line otherwise. Both give byte-identical samples.
    """

    name = "espeak"
    audio_format = "flac"
    sample_rate = 22050  # espeak-ng's native rate; updated from the engine's answer

    def __init__(self, *, engine: str = "auto") -> None:
        if engine not in _ENGINES:
            raise ConfigError(f"unknown espeak engine {engine!r}; use one of {', '.join(_ENGINES)}")
        self.executable = _espeak_executable()
        self.requested_engine = engine
        self._worker: _Worker | None = None
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

    def _ensure_worker(self) -> _Worker | None:
        if self.engine != "library":
            return None
        if self._worker is not None and self._worker_pid == os.getpid():
            return self._worker
        try:
            self._worker, self._worker_pid = _Worker(), os.getpid()
            return self._worker
        except OSError as exc:
            return self._library_failed(exc)

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
        return None

    # -- voices ---------------------------------------------------------------------------------
    @staticmethod
    def voice(lang: str) -> str:
        """The espeak-ng voice used for ``lang``."""
        return ESPEAK_VOICES[_lang(lang)]

    @staticmethod
    def draw_params(rng: np.random.Generator, lang: str) -> VoiceParams:
        """One clip's seeded voice settings: variant, speed, pitch, word gap (4 draws)."""
        base = ESPEAK_VOICES[_lang(lang)]
        variant = ESPEAK_VARIANTS[int(rng.integers(len(ESPEAK_VARIANTS)))]
        rate = int(rng.integers(RATE_WPM[0], RATE_WPM[1] + 1))
        pitch = int(rng.integers(PITCH[0], PITCH[1] + 1))
        gap = int(rng.integers(WORD_GAP[0], WORD_GAP[1] + 1))
        return VoiceParams(f"{base}+{variant}", rate, pitch, gap)

    # -- synthesis -------------------------------------------------------------------------------
    def _cli(self, text: str, params: VoiceParams) -> tuple[np.ndarray, int]:
        argv = [self.executable, "--stdout", *params.cli_args()]
        return _parse_wav(_run_espeak(argv, text, f" for voice {params.voice}"))

    def _render(self, texts: Sequence[str], params: Sequence[VoiceParams]) -> list[np.ndarray]:
        worker = self._ensure_worker()
        if worker is not None:
            try:
                blobs = worker.synthesize(texts, params)
                self.sample_rate = worker.sample_rate
                return [np.frombuffer(b, "<i2") for b in blobs]
            except (OSError, RuntimeError, ValueError) as exc:
                self._library_failed(exc)
        out = []
        for text, p in zip(texts, params, strict=True):
            pcm, rate = self._cli(text, p)
            self.sample_rate = rate
            out.append(pcm)
        return out

    def synthesize(self, text: str, lang: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """Speak ``text`` in ``lang``: (float32 mono samples in [-1, 1], sample rate)."""
        return self.synthesize_many([text], lang, rng)[0]

    def synthesize_many(
        self, texts: Sequence[str], lang: str, rng: np.random.Generator
    ) -> list[tuple[np.ndarray, int]]:
        """Several clips in ``lang`` in one round trip; equal to calling :meth:`synthesize`
        on each text in order with the same generator."""
        texts = [str(t) for t in texts]
        params = [self.draw_params(rng, lang) for _ in texts]
        if not texts:
            return []
        pcm = self._render(texts, params)
        scale = np.float32(1.0 / 32768.0)
        return [(p.astype(np.float32) * scale, self.sample_rate) for p in pcm]

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
            "voices": dict(ESPEAK_VOICES),
            "variants": list(ESPEAK_VARIANTS),
            "rate_wpm": list(RATE_WPM),
            "pitch": list(PITCH),
            "word_gap": list(WORD_GAP),
        }


# ------------------------------------------------------------------------------------------
# gTTS (online, optional)
# ------------------------------------------------------------------------------------------
class GTTSBackend:
    """Google Translate speech through gTTS: MP3 bytes per clip; needs network.

    Any network failure raises :class:`BackendUnavailableError`. The output is not
    reproducible byte for byte (it comes from a remote service), and ``rng`` is unused.
    """

    name = "gtts"
    audio_format = "mp3"

    def __init__(self, *, timeout: float = 30.0, tld: str = "com") -> None:
        try:
            import gtts  # noqa: F401
        except ImportError as exc:
            raise MissingDependencyError(
                "gTTS is not installed; install it with: pip install 'symile-bench[gtts]' "
                "(or use --tts espeak)"
            ) from exc
        self.timeout = float(timeout)
        self.tld = tld

    def _fetch(self, text: str, lang: str) -> bytes:
        from gtts import gTTS, gTTSError

        try:
            import requests

            network_errors: tuple[type[BaseException], ...] = (
                gTTSError,
                requests.RequestException,
                OSError,
            )
        except ImportError:  # pragma: no cover - gTTS depends on requests
            network_errors = (gTTSError, OSError)
        buf = io.BytesIO()
        result: dict[str, BaseException] = {}

        def run() -> None:
            try:
                gTTS(text, lang=lang, tld=self.tld, lang_check=False).write_to_fp(buf)
            except BaseException as exc:  # reported to the caller below
                result["error"] = exc

        # gTTS has no timeout of its own; a black-holed network must not hang a build.
        thread = threading.Thread(target=run, name="gtts", daemon=True)
        thread.start()
        thread.join(self.timeout)
        if thread.is_alive():
            raise BackendUnavailableError(
                f"gTTS did not answer within {self.timeout:g} s; check the network or use "
                "--tts espeak"
            )
        exc = result.get("error")
        if exc is not None:
            if isinstance(exc, network_errors):
                raise BackendUnavailableError(
                    f"gTTS is unreachable ({type(exc).__name__}: {exc}); check the network or "
                    "use --tts espeak"
                ) from exc
            raise exc
        data = buf.getvalue()
        if not data:
            raise BackendUnavailableError("gTTS returned no audio; retry later or use --tts espeak")
        return data

    def synthesize(self, text: str, lang: str, rng: np.random.Generator | None = None) -> bytes:
        """MP3 bytes of ``text`` spoken in ``lang``."""
        return self._fetch(str(text), GTTS_LANGS[_lang(lang)])

    def probe(self) -> None:
        """One tiny request; raises :class:`BackendUnavailableError` when offline."""
        self._fetch("1", "en")

    def describe(self) -> dict[str, Any]:
        import gtts

        return {
            "backend": self.name,
            "version": getattr(gtts, "__version__", "unknown"),
            "tld": self.tld,
            "langs": dict(GTTS_LANGS),
        }


# ------------------------------------------------------------------------------------------
# Choosing a backend once per build
# ------------------------------------------------------------------------------------------
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
    codes = [_lang(code) for code in languages]
    if name == "gtts":
        GTTSBackend().probe()
        return
    _espeak_executable()
    for code in codes:
        phonemes = espeak_phonemes("12", code)
        if not phonemes or _LANGUAGE_SWITCH.search(phonemes):
            raise MissingDependencyError(
                f"espeak-ng voice {ESPEAK_VOICES[code]} does not read digits in its own language "
                f"(phonemes: {phonemes!r}); {_APT_ESPEAK} with its full voice data (espeak-ng-data)"
            )


def make_tts(
    backend: str = "espeak",
    *,
    fallback: bool = True,
    warn: Callable[[str], None] | None = None,
    probe: bool = True,
) -> EspeakTTS | GTTSBackend:
    """The speech backend for a build, decided once.

    ``"gtts"`` is probed (one request) unless ``probe=False``; when it is unreachable or not
    installed, ``fallback=True`` warns through ``warn`` and returns :class:`EspeakTTS`, and
    ``fallback=False`` (``--no-fallback``) raises. Record ``backend.name`` (and
    ``backend.describe()``) in the manifest: the whole build uses that one backend.
    """
    name = _backend_name(backend)
    if name == "espeak":
        return EspeakTTS()
    try:
        tts = GTTSBackend()
        if probe:
            tts.probe()
        return tts
    except (BackendUnavailableError, MissingDependencyError) as exc:
        if not fallback:
            raise
        (warn or _default_warn)(
            f"{exc}; falling back to espeak-ng for this build (--no-fallback to fail instead)"
        )
        return EspeakTTS()
