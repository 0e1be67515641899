"""The ten Symile-M3 languages and the paper's language sets.

Every part of the project names languages with these codes (ISO 639-1), so a lexicon, an audio
source and a dataset config can be joined without translation tables. The release spells Chinese
``zh-CN`` (its Google Translate and Common Voice code); we accept that spelling on input and store
``zh``.
"""

from __future__ import annotations

from collections.abc import Sequence

from symile_bench.errors import ConfigError

LANGUAGES: tuple[str, ...] = ("ar", "el", "en", "hi", "ja", "ko", "te", "th", "uk", "zh")
"""All languages of Symile-M3, in the release's order (its ``LANGUAGES_10``)."""

PAPER_LANGUAGE_SETS: dict[int, tuple[str, ...]] = {
    2: ("en", "el"),
    5: ("en", "el", "hi", "ja", "uk"),
    10: LANGUAGES,
}
"""The w = 2, 5, 10 language sets of the paper (Symile-M3-2, -5, -10)."""

LANGUAGE_NAMES: dict[str, str] = {
    "ar": "Arabic",
    "el": "Greek",
    "en": "English",
    "hi": "Hindi",
    "ja": "Japanese",
    "ko": "Korean",
    "te": "Telugu",
    "th": "Thai",
    "uk": "Ukrainian",
    "zh": "Chinese (Mandarin, simplified)",
}

# Spellings other sources use for our codes (lower-cased before lookup).
_ALIASES: dict[str, str] = {"zh-cn": "zh", "zh_cn": "zh", "zh-hans": "zh", "cmn": "zh"}

_VALID = ", ".join(LANGUAGES)


def normalize_code(code: str) -> str:
    """Map a language code as a user or a source spells it to ours (``zh-CN`` -> ``zh``)."""
    c = code.strip().lower()
    return _ALIASES.get(c, c)


def validate_languages(
    codes: Sequence[str], *, option: str = "languages", minimum: int = 1
) -> tuple[str, ...]:
    """Check codes one by one (known, not repeated, enough of them) and return them normalised.

    Shared by :func:`resolve_languages` and :meth:`Lexicon.restrict` so both reject the same
    mistakes with the same message.
    """
    out: list[str] = []
    for raw in codes:
        if not isinstance(raw, str):
            raise ConfigError(f"{option}: {raw!r} is not a language code; use codes from: {_VALID}")
        code = normalize_code(raw)
        if code not in LANGUAGES:
            raise ConfigError(
                f"{option}: unknown language code {raw.strip()!r}; valid codes are: {_VALID} "
                f"(or 2, 5, 10 for the paper's sets)"
            )
        if code in out:
            raise ConfigError(
                f"{option}: language {code!r} is given twice; list each language once"
            )
        out.append(code)
    if len(out) < minimum:
        raise ConfigError(
            f"{option}: {len(out)} language(s) given, at least {minimum} needed "
            f"(Symile-M3 text mixes one word per language); e.g. '2' for en,el"
        )
    return tuple(out)


def resolve_languages(spec: str | int | Sequence[str]) -> tuple[str, ...]:
    """Turn a ``--languages`` value into a tuple of language codes.

    Accepts the paper's set sizes (``2``, ``"5"``, ``10``), a comma-separated list
    (``"en,el,ja"``) or a sequence of codes. The order given is kept, because it is part of a
    build's config. Raises :class:`ConfigError` for an unknown code (the message lists the valid
    ones), a repeated code, or fewer than two languages (the text modality needs a distractor in
    another language).
    """
    if isinstance(spec, bool):  # bool is an int; reject it before the int branch
        raise ConfigError(
            f"languages: {spec!r} is not a language set; use 2, 5, 10 or codes like 'en,el'"
        )
    if isinstance(spec, int):
        return _paper_set(spec, str(spec))
    if isinstance(spec, str):
        text = spec.strip()
        if text.isdigit():
            return _paper_set(int(text), text)
        parts = [p for p in (s.strip() for s in text.split(",")) if p]
        return validate_languages(parts, minimum=2)
    return validate_languages(list(spec), minimum=2)


def _paper_set(n: int, shown: str) -> tuple[str, ...]:
    try:
        return PAPER_LANGUAGE_SETS[n]
    except KeyError:
        raise ConfigError(
            f"languages: {shown} is not one of the paper's sets (2, 5, 10); "
            f"give comma-separated codes instead, e.g. 'en,el,ja' (valid codes: {_VALID})"
        ) from None
