"""Google Translate speech through gTTS: the optional, online backend (MP3 per clip).

Optional because it needs the network and the ``gtts`` extra; a build asks for it with
``--tts gtts`` and :func:`symile_bench.media.tts.choose_tts` falls back to espeak-ng when it is
unreachable. Its clips come from a remote service, so they are not reproducible byte for byte.
"""

from __future__ import annotations

import io
import threading
from typing import Any

import numpy as np

from symile_bench.errors import BackendUnavailableError, MissingDependencyError
from symile_bench.lexicon.languages import LANGUAGES
from symile_bench.media.speech import Clip, speech_language

__all__ = ["GTTS_LANGS", "GTTSBackend"]

GTTS_LANGS: dict[str, str] = {code: code for code in LANGUAGES} | {"zh": "zh-CN"}
"""Our language code -> gTTS/Google Translate language."""


class GTTSBackend:
    """Google Translate speech through gTTS: MP3 bytes per clip; needs network.

    Any network failure raises :class:`BackendUnavailableError`; ``rng`` is unused.
    """

    name = "gtts"

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

    def synthesize(self, text: str, language: str, rng: np.random.Generator | None = None) -> Clip:
        """``text`` spoken in ``language``, as the MP3 bytes the service returns."""
        return Clip(self._fetch(str(text), GTTS_LANGS[speech_language(language)]), "mp3")

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
