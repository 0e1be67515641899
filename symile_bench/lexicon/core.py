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
import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from symile_bench.errors import SourceError

from .imagenet import NUM_CLASSES, imagenet1k_classes
from .languages import LANGUAGES, validate_languages

# Collision kinds (Collision.kind).
WITHIN_LANGUAGE = (
    "within-language"  # one language, several classes: the word does not identify the class
)
WITHIN_CLASS = (
    "within-class"  # one class, several languages: the word does not identify the language
)
ACROSS_BOTH = "across-languages-and-classes"  # several languages and classes share one word

_KANA = re.compile(r"[\u3040-\u309f\u30a0-\u30ff ]+")  # hiragana, katakana (incl. ー and ・), space
_PINYIN = re.compile(r"[a-z]+[1-5]( [a-z]+[1-5])*")
_SPEECH_RULES = {
    "ja": (_KANA, "hiragana/katakana only"),
    "zh": (
        _PINYIN,
        "lowercase pinyin syllables each ending in a tone digit 1-5, separated by one space",
    ),
}


def display_name(source: str, origin: str) -> str:
    """How messages name a lexicon: the embedded one by that, any other by its file."""
    if source == "embedded" or not origin:
        return f"the {source} lexicon"
    return f"lexicon file {origin}"


def normalize_word(word: str) -> str:
    """The form in which words are compared: NFC, surrounding whitespace removed.

    Comparison is case-sensitive on purpose: the text modality shows the exact string, and the
    release itself keeps "Cardigan" (the dog) and "cardigan" (the sweater) as different words.
    """
    return unicodedata.normalize("NFC", word).strip()


@dataclass(frozen=True)
class Coverage:
    """How many classes have a word in one language, and which do not."""

    language: str
    present: int
    total: int
    missing_cls_ids: tuple[int, ...] = ()

    @property
    def complete(self) -> bool:
        return self.present == self.total


@dataclass(frozen=True)
class Collision:
    """One word used more than once (see the module constants for ``kind``)."""

    kind: str
    word: str
    languages: tuple[str, ...]
    cls_ids: tuple[int, ...]
    english: tuple[str, ...]

    def describe(self) -> str:
        classes = ", ".join(f"{c} ({e})" for c, e in zip(self.cls_ids, self.english, strict=True))
        return f"{self.kind}: {self.word!r} in {'/'.join(self.languages)} for classes {classes}"


@dataclass(frozen=True)
class Problem:
    """An entry that is present but unusable (a '_' in a word, a bad speech form, ...)."""

    kind: str
    message: str
    cls_id: int | None = None
    language: str | None = None
    value: str = ""


@dataclass(frozen=True)
class LexiconReport:
    """Result of :meth:`Lexicon.check`: coverage per language, collisions, other problems."""

    source: str
    origin: str
    languages: tuple[str, ...]
    num_classes: int
    coverage: Mapping[str, Coverage]
    collisions: tuple[Collision, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def missing(self) -> int:
        """Missing (class, language) entries over the checked languages."""
        return sum(c.total - c.present for c in self.coverage.values())

    @property
    def ok(self) -> bool:
        """True when every checked language covers every class and no word collides."""
        return self.missing == 0 and not self.collisions and not self.problems

    def summary(self) -> str:
        """One line for logs and the CLI."""
        state = "clean" if self.ok else "NOT usable as is"
        return (
            f"{display_name(self.source, self.origin)}: {self.num_classes} classes x "
            f"{len(self.languages)} languages: {self.missing} missing, {len(self.collisions)} "
            f"collisions, {len(self.problems)} other problems: {state}"
        )


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
        k = len(self)
        ids = [int(c) for c in self.cls_id]
        coverage: dict[str, Coverage] = {}
        occurrences: dict[str, list[tuple[str, int]]] = defaultdict(list)
        problems: list[Problem] = []
        for lang in langs:
            col = self.words.get(lang, ("",) * k)
            missing = tuple(ids[i] for i, w in enumerate(col) if not w)
            coverage[lang] = Coverage(lang, k - len(missing), k, missing)
            for i, w in enumerate(col):
                if not w:
                    continue
                occurrences[normalize_word(w)].append((lang, i))
                problems.extend(self._word_problems(w, lang, ids[i]))
            problems.extend(self._speech_problems(lang, col, ids))
        collisions = [
            self._collision(word, occ) for word, occ in occurrences.items() if len(occ) > 1
        ]
        problems.extend(self._class_problems(ids))
        return LexiconReport(
            source=self.source,
            origin=self.origin,
            languages=tuple(langs),
            num_classes=k,
            coverage=MappingProxyType(coverage),
            collisions=tuple(collisions),
            problems=tuple(problems),
        )

    def _collision(self, word: str, occ: list[tuple[str, int]]) -> Collision:
        langs = tuple(dict.fromkeys(lang for lang, _ in occ))
        rows = sorted(set(i for _, i in occ), key=lambda i: int(self.cls_id[i]))
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
            cls_ids=tuple(int(self.cls_id[i]) for i in rows),
            english=tuple(self.english[i] for i in rows),
        )

    @staticmethod
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
        if word != word.strip() or any(
            unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in word
        ):
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

    def _speech_problems(self, lang: str, col: tuple[str, ...], ids: list[int]) -> list[Problem]:
        forms = self.speech.get(lang)
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
                    Problem(
                        "speech-form", f"speech form {form!r} is not {rule}", ids[i], lang, form
                    )
                )
        return out

    def _class_problems(self, ids: list[int]) -> list[Problem]:
        out = []
        table = imagenet1k_classes()
        for i, cls in enumerate(ids):
            syn = self.synset_id[i]
            if not 0 <= cls < NUM_CLASSES:
                out.append(
                    Problem(
                        "cls-id", f"cls_id {cls} is outside ImageNet-1k's 0-999", cls, None, syn
                    )
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
        if self.emoji is not None:
            seen: dict[str, int] = {}
            for i, e in enumerate(self.emoji):
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
