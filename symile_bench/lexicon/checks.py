"""The checks behind :meth:`Lexicon.check <symile_bench.lexicon.core.Lexicon.check>`.

Why these: a Symile-M3 text word must identify both its language and its class, so a word
repeated within a language or within a class, a missing entry, a ``_`` (the text's word
separator), or a speech form espeak-ng cannot read (Japanese must be kana, Chinese pinyin with
tone digits) each make a lexicon unusable. Exhaustive on purpose: a person fixing a file sees
every problem at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Protocol

import numpy as np

from .imagenet import NUM_CLASSES, imagenet1k_classes
from .report import (
    ACROSS_BOTH,
    WITHIN_CLASS,
    WITHIN_LANGUAGE,
    Collision,
    Coverage,
    LexiconReport,
    Problem,
)


class Lexicon(Protocol):
    """What the checks read of a ``core.Lexicon`` (a protocol, so this module need not import
    the class that calls it)."""

    @property
    def cls_id(self) -> np.ndarray: ...
    @property
    def synset_id(self) -> tuple[str, ...]: ...
    @property
    def english(self) -> tuple[str, ...]: ...
    @property
    def words(self) -> Mapping[str, tuple[str, ...]]: ...
    @property
    def speech(self) -> Mapping[str, tuple[str, ...]]: ...
    @property
    def emoji(self) -> tuple[str, ...] | None: ...
    @property
    def source(self) -> str: ...
    @property
    def origin(self) -> str: ...
    def __len__(self) -> int: ...


__all__ = ["check_lexicon", "normalize_word"]

_KANA = re.compile(r"[\u3040-\u309f\u30a0-\u30ff ]+")  # hiragana, katakana (incl. ー and ・), space
_PINYIN = re.compile(r"[a-z]+[1-5]( [a-z]+[1-5])*")
_SPEECH_RULES = {
    "ja": (_KANA, "hiragana/katakana only"),
    "zh": (
        _PINYIN,
        "lowercase pinyin syllables each ending in a tone digit 1-5, separated by one space",
    ),
}


def normalize_word(word: str) -> str:
    """The form in which words are compared: NFC, surrounding whitespace removed.

    Comparison is case-sensitive on purpose: the text modality shows the exact string, and the
    release itself keeps "Cardigan" (the dog) and "cardigan" (the sweater) as different words.
    """
    return unicodedata.normalize("NFC", word).strip()


def check_lexicon(lexicon: Lexicon, langs: Sequence[str]) -> LexiconReport:
    """Every gap, collision and unusable entry of ``lexicon`` in ``langs`` (validated codes)."""
    k = len(lexicon)
    ids = [int(c) for c in lexicon.cls_id]
    coverage: dict[str, Coverage] = {}
    occurrences: dict[str, list[tuple[str, int]]] = defaultdict(list)
    problems: list[Problem] = []
    for lang in langs:
        col = lexicon.words.get(lang, ("",) * k)
        missing = tuple(ids[i] for i, w in enumerate(col) if not w)
        coverage[lang] = Coverage(lang, k - len(missing), k, missing)
        for i, w in enumerate(col):
            if not w:
                continue
            occurrences[normalize_word(w)].append((lang, i))
            problems.extend(_word_problems(w, lang, ids[i]))
        problems.extend(_speech_problems(lexicon, lang, col, ids))
    collisions = [
        _collision(lexicon, word, occ) for word, occ in occurrences.items() if len(occ) > 1
    ]
    problems.extend(_class_problems(lexicon, ids))
    return LexiconReport(
        source=lexicon.source,
        origin=lexicon.origin,
        languages=tuple(langs),
        num_classes=k,
        coverage=MappingProxyType(coverage),
        collisions=tuple(collisions),
        problems=tuple(problems),
    )


def _collision(lexicon: Lexicon, word: str, occ: list[tuple[str, int]]) -> Collision:
    langs = tuple(dict.fromkeys(lang for lang, _ in occ))
    rows = sorted(set(i for _, i in occ), key=lambda i: int(lexicon.cls_id[i]))
    if len(langs) == 1:
        kind = WITHIN_LANGUAGE
    elif len(rows) == 1:
        kind = WITHIN_CLASS
    else:
        kind = ACROSS_BOTH
    return Collision(
        kind=kind,
        word=word,
        languages=langs,
        cls_ids=tuple(int(lexicon.cls_id[i]) for i in rows),
        english=tuple(lexicon.english[i] for i in rows),
    )


def _word_problems(word: str, lang: str, cls: int) -> list[Problem]:
    out = []
    if "_" in word:
        out.append(
            Problem(
                "underscore",
                f"word {word!r} contains '_', which the text modality "
                "uses to join words; use a space or '-' instead",
                cls,
                lang,
                word,
            )
        )
    if word != word.strip() or any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in word):
        out.append(
            Problem(
                "whitespace",
                f"word {word!r} has surrounding whitespace or a control character; remove it",
                cls,
                lang,
                word,
            )
        )
    return out


def _speech_problems(
    lexicon: Lexicon, lang: str, col: tuple[str, ...], ids: list[int]
) -> list[Problem]:
    forms = lexicon.speech.get(lang)
    if not forms or not any(forms) or lang not in _SPEECH_RULES:
        return []
    pattern, rule = _SPEECH_RULES[lang]
    out = []
    for i, form in enumerate(forms):
        if col[i] and not form:
            out.append(
                Problem(
                    "speech-missing",
                    f"no speech form for {col[i]!r}; add one ({rule})",
                    ids[i],
                    lang,
                )
            )
        elif form and not pattern.fullmatch(form):
            out.append(
                Problem("speech-form", f"speech form {form!r} is not {rule}", ids[i], lang, form)
            )
    return out


def _class_problems(lexicon: Lexicon, ids: list[int]) -> list[Problem]:
    out = []
    table = imagenet1k_classes()
    for i, cls in enumerate(ids):
        syn = lexicon.synset_id[i]
        if not 0 <= cls < NUM_CLASSES:
            out.append(
                Problem("cls-id", f"cls_id {cls} is outside ImageNet-1k's 0-999", cls, None, syn)
            )
        elif table.synset_ids[cls] != syn:
            known = table.index.get(syn)
            hint = (
                f"{syn} is cls_id {known}"
                if known is not None
                else f"{syn} is not an ImageNet-1k synset"
            )
            out.append(
                Problem(
                    "synset-mismatch",
                    f"cls_id {cls} is {table.synset_ids[cls]} in "
                    f"ImageNet-1k but the lexicon says {syn} ({hint}); fix one of them",
                    cls,
                    None,
                    syn,
                )
            )
    if lexicon.emoji is not None:
        seen: dict[str, int] = {}
        for i, e in enumerate(lexicon.emoji):
            if not e:
                out.append(
                    Problem(
                        "emoji-missing",
                        "no emoji; the emoji image source cannot draw this class",
                        ids[i],
                    )
                )
            elif e in seen:
                out.append(
                    Problem(
                        "emoji-repeat",
                        f"emoji {e} is also class {seen[e]}'s; images "
                        "would not tell the classes apart",
                        ids[i],
                        None,
                        e,
                    )
                )
            else:
                seen[e] = ids[i]
    return out
