"""Class lexicon for Symile-M3: ImageNet-1k classes x the ten Symile-M3 languages.

The lexicon decides what the text modality says: each class's word in each language. It comes
from the embedded table (``load_default``; classes that have an emoji, MIT), the release's
``translations.json`` or Babel-ImageNet (both non-commercial), and is checked so that every word
identifies one class in one language (``Lexicon.check``). ``symile-bench lexicon check`` runs
the same check from the command line.
"""

from __future__ import annotations

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
