"""The class table one build uses: the lexicon, restricted to the build's languages and to the
classes its image source can draw, in cls_id order."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from builders.m3.build.config import M3Config
from symile_bench.errors import SourceError
from symile_bench.lexicon import Lexicon, load_default, load_lexicon


@dataclass(frozen=True)
class ClassTable:
    lexicon: Lexicon
    languages: tuple[str, ...]
    emoji: tuple[str, ...] | None  # per class, when images come from the emoji font

    @property
    def size(self) -> int:
        return len(self.lexicon.synset_id)

    def vocabulary(self) -> list[str]:
        """Words flattened as [language][class], so word index = lang * size + cls."""
        return [w for lang in self.languages for w in self.lexicon.words[lang]]


def _take(lexicon: Lexicon, idx: np.ndarray) -> Lexicon:
    """The classes at positions `idx`, in that order."""

    def pick(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(values[i] for i in idx)

    return Lexicon(
        cls_id=lexicon.cls_id[idx],
        synset_id=pick(lexicon.synset_id),
        english=pick(lexicon.english),
        words={k: pick(v) for k, v in lexicon.words.items()},
        speech={k: pick(v) for k, v in lexicon.speech.items()},
        emoji=pick(lexicon.emoji) if lexicon.emoji is not None else None,
        source=lexicon.source,
        license=lexicon.license,
    )


@cache
def class_table(config: M3Config) -> ClassTable:
    """Cached per process: every shard of a build uses the same table."""
    lexicon = load_lexicon(config.translations).restrict(config.languages)
    report = lexicon.check(config.languages)
    if report.collisions:
        raise SourceError(
            f"{report.summary()}; first: {report.collisions[0].describe()}. Fix the file "
            "(see `symile-bench lexicon check PATH`) or choose other --languages"
        )
    lexicon = _take(lexicon, np.argsort(lexicon.cls_id, kind="stable"))
    emoji: tuple[str, ...] | None = None
    if config.imagenet is None and config.images == "emoji":
        default = load_default()
        known = dict(zip(default.synset_id, default.emoji or (), strict=True))
        lexicon = _take(
            lexicon,
            np.array([i for i, s in enumerate(lexicon.synset_id) if s in known], dtype=np.int64),
        )
        emoji = tuple(known[s] for s in lexicon.synset_id)
    if len(lexicon.synset_id) < config.n_words:
        raise SourceError(
            f"only {len(lexicon.synset_id)} classes can be drawn with this lexicon and image "
            f"source, fewer than --words {config.n_words}; use --images procedural or --imagenet"
        )
    return ClassTable(lexicon=lexicon, languages=config.languages, emoji=emoji)
