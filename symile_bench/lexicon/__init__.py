"""Class lexicon for Symile-M3: ImageNet-1k classes x the ten Symile-M3 languages.

The lexicon decides what the text modality says: each class's word in each language. It comes
from the embedded table (``load_default``; classes that have an emoji, MIT), the release's
``translations.json`` or Babel-ImageNet (both non-commercial), and is checked so that every word
identifies one class in one language (``Lexicon.check``). ``symile-bench lexicon check`` runs
the same check from the command line.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below, typed for checkers; at run time each loads on first use
    from .core import Lexicon
    from .imagenet import imagenet1k_names, imagenet1k_synset_ids
    from .languages import LANGUAGE_NAMES, LANGUAGES, PAPER_LANGUAGE_SETS, resolve_languages
    from .readers import (
        load_default,
        load_lexicon,
        read_babel_imagenet,
        read_lexicon_tsv,
        read_translations_json,
    )
    from .report import (
        ACROSS_BOTH,
        WITHIN_CLASS,
        WITHIN_LANGUAGE,
        Collision,
        Coverage,
        LexiconReport,
        Problem,
    )

# imported from their modules on first use, so `symile-bench --help` does not load numpy
_EXPORTS = {
    "Lexicon": "core",
    "imagenet1k_names": "imagenet",
    "imagenet1k_synset_ids": "imagenet",
    "LANGUAGE_NAMES": "languages",
    "LANGUAGES": "languages",
    "PAPER_LANGUAGE_SETS": "languages",
    "resolve_languages": "languages",
    "load_default": "readers",
    "load_lexicon": "readers",
    "read_babel_imagenet": "readers",
    "read_lexicon_tsv": "readers",
    "read_translations_json": "readers",
    "ACROSS_BOTH": "report",
    "WITHIN_CLASS": "report",
    "WITHIN_LANGUAGE": "report",
    "Collision": "report",
    "Coverage": "report",
    "LexiconReport": "report",
    "Problem": "report",
}

__all__ = [
    "ACROSS_BOTH",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "PAPER_LANGUAGE_SETS",
    "WITHIN_CLASS",
    "WITHIN_LANGUAGE",
    "Collision",
    "Coverage",
    "Lexicon",
    "LexiconReport",
    "Problem",
    "imagenet1k_names",
    "imagenet1k_synset_ids",
    "load_default",
    "load_lexicon",
    "read_babel_imagenet",
    "read_lexicon_tsv",
    "read_translations_json",
    "resolve_languages",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"symile_bench.lexicon.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'symile_bench.lexicon' has no attribute {name!r}")
