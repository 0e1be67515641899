"""What :meth:`Lexicon.check <symile_bench.lexicon.core.Lexicon.check>` reports: coverage per
language, word collisions and other unusable entries, as plain frozen records that the CLI and
the builders render (a report outlives the lexicon it describes, so it holds no reference to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "ACROSS_BOTH",
    "WITHIN_CLASS",
    "WITHIN_LANGUAGE",
    "Collision",
    "Coverage",
    "LexiconReport",
    "Problem",
    "display_name",
]

# Collision kinds (Collision.kind).
WITHIN_LANGUAGE = (
    "within-language"  # one language, several classes: the word does not identify the class
)
WITHIN_CLASS = (
    "within-class"  # one class, several languages: the word does not identify the language
)
ACROSS_BOTH = "across-languages-and-classes"  # several languages and classes share one word


def display_name(source: str, origin: str) -> str:
    """How messages name a lexicon: the embedded one by that, any other by its file."""
    if source == "embedded" or not origin:
        return f"the {source} lexicon"
    return f"lexicon file {origin}"


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
