"""The lexicon: ImageNet classes x languages, and the checks that make it usable for Symile-M3.

Symile-M3's text is w words, one per language, each naming a different class; a model must tell
from the audio which language to read and from the text which word in that language names the
class. That only works if a word identifies both its language and its class, so the lexicon must
have no word that repeats within a language (two classes) or within a class (two languages), and no
missing entries for the languages in use. :meth:`Lexicon.check` reports all three; builders call
:meth:`Lexicon.restrict` to fail early, with the class and the fix named, before writing data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from symile_bench.errors import SourceError

from .checks import check_lexicon
from .languages import LANGUAGES, validate_languages
from .report import LexiconReport, display_name


def _freeze_columns(
    columns: Mapping[str, Sequence[str]], k: int, what: str
) -> Mapping[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for lang, col in columns.items():
        if lang not in LANGUAGES:
            raise ValueError(
                f"Lexicon.{what}: unknown language {lang!r}; use codes from {LANGUAGES}"
            )
        col = tuple("" if w is None else str(w) for w in col)
        if len(col) != k:
            raise ValueError(f"Lexicon.{what}[{lang!r}] has {len(col)} entries for {k} classes")
        out[lang] = col
    return MappingProxyType(out)


@dataclass(frozen=True, eq=False)
class Lexicon:
    """ImageNet classes with one word per language, aligned row by row with ``cls_id``.

    An empty string in ``words`` or ``speech`` marks a missing entry (a source that does not
    cover that class in that language); :meth:`check` counts them and :meth:`restrict` refuses
    them. ``speech`` holds forms a speech synthesiser can read where the written word is not
    enough (Japanese kana, Chinese pinyin); sources without them leave it empty and the speech
    backend falls back to the written word. ``emoji`` is the picture the default image source
    draws for each class (``None`` for sources without one). ``origin`` (the file read, for
    messages) is not part of the fingerprint.
    """

    cls_id: np.ndarray
    synset_id: tuple[str, ...]
    english: tuple[str, ...]
    words: Mapping[str, tuple[str, ...]]
    speech: Mapping[str, tuple[str, ...]]
    emoji: tuple[str, ...] | None
    source: str
    license: str
    origin: str = field(default="")

    def __post_init__(self) -> None:
        ids = np.array(self.cls_id, dtype=np.int64).reshape(-1)
        ids.setflags(write=False)
        k = len(ids)
        object.__setattr__(self, "cls_id", ids)
        object.__setattr__(self, "synset_id", tuple(self.synset_id))
        object.__setattr__(self, "english", tuple(self.english))
        if len(self.synset_id) != k or len(self.english) != k:
            raise ValueError("Lexicon: cls_id, synset_id and english must have one entry per class")
        if len(np.unique(ids)) != k:
            raise ValueError("Lexicon: cls_id values must be unique")
        object.__setattr__(self, "words", _freeze_columns(self.words, k, "words"))
        object.__setattr__(self, "speech", _freeze_columns(self.speech, k, "speech"))
        if self.emoji is not None:
            object.__setattr__(self, "emoji", tuple(self.emoji))
            if len(self.emoji) != k:
                raise ValueError("Lexicon: emoji must have one entry per class")

    def __len__(self) -> int:
        return len(self.cls_id)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages with at least one word, in the order of ``words``."""
        return tuple(lang for lang, col in self.words.items() if any(col))

    def _name(self) -> str:
        return display_name(self.source, self.origin)

    def restrict(self, languages: Sequence[str], *, drop_incomplete: bool = False) -> Lexicon:
        """Keep only ``languages`` (in that order), refusing any class without a word in one.

        A build needs a word for every (class, language) it may sample, so a gap is an error
        here rather than a silent hole in the data. With ``drop_incomplete=True`` the classes
        lacking a word are dropped instead (Babel-ImageNet covers different classes in each
        language). Raises :class:`SourceError` naming the missing language, or the first class
        (cls_id and English name) lacking a word, and what to do.
        """
        langs = validate_languages(languages, option="languages")
        for lang in langs:
            if lang not in self.words or not any(self.words[lang]):
                have = ", ".join(self.languages) or "none"
                raise SourceError(
                    f"{self._name()} has no {lang!r} words at all (it has: {have}); choose "
                    f"languages it covers, or a lexicon with {lang!r} (the embedded one has all)"
                )
        complete = np.ones(len(self), dtype=bool)
        for lang in langs:
            complete &= np.array([bool(w) for w in self.words[lang]], dtype=bool)
        if not complete.all() and not drop_incomplete:
            first = int(np.flatnonzero(~complete)[0])
            lang = next(lg for lg in langs if not self.words[lg][first])
            raise SourceError(
                f"{self._name()} has no {lang!r} word for class {int(self.cls_id[first])} "
                f"({self.english[first]}); add it, choose other languages, or drop incomplete "
                f"classes (drop_incomplete=True keeps the {int(complete.sum())} of {len(self)} "
                f"classes that have all of {','.join(langs)})"
            )
        if complete.sum() < 2:
            raise SourceError(
                f"{self._name()} has {int(complete.sum())} class(es) with words in all of "
                f"{','.join(langs)}; at least 2 are needed. Choose fewer or other languages"
            )
        keep = np.flatnonzero(complete)
        return Lexicon(
            cls_id=self.cls_id[keep],
            synset_id=tuple(self.synset_id[i] for i in keep),
            english=tuple(self.english[i] for i in keep),
            words={lg: tuple(self.words[lg][i] for i in keep) for lg in langs},
            speech={
                lg: tuple(self.speech[lg][i] for i in keep) for lg in langs if lg in self.speech
            },
            emoji=None if self.emoji is None else tuple(self.emoji[i] for i in keep),
            source=self.source,
            license=self.license,
            origin=self.origin,
        )

    def check(self, languages: Sequence[str] | None = None) -> LexiconReport:
        """Report coverage, collisions and unusable entries for ``languages`` (default: all ten).

        Read-only and exhaustive (unlike :meth:`restrict`, which stops at the first gap), so a
        person fixing a lexicon sees everything at once.
        """
        langs = (
            LANGUAGES if languages is None else validate_languages(languages, option="languages")
        )
        return check_lexicon(self, langs)

    def fingerprint(self) -> str:
        """sha256 (hex) of a canonical JSON serialisation of the content.

        Recorded in a dataset's manifest so a build can say exactly which lexicon produced its
        text; independent of where the file was read from and of language order.
        """
        doc = {
            "format": 1,
            "source": self.source,
            "license": self.license,
            "cls_id": [int(c) for c in self.cls_id],
            "synset_id": list(self.synset_id),
            "english": list(self.english),
            "words": {lg: list(col) for lg, col in self.words.items()},
            "speech": {lg: list(col) for lg, col in self.speech.items()},
            "emoji": None if self.emoji is None else list(self.emoji),
        }
        blob = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()
