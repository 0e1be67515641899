"""Vectorised Symile-M3 sample indices: language, class, distractors, word order, pool picks.

Everything is drawn per shard with numpy over whole columns (no per-row Python), so index
generation runs at millions of rows per second; the release's row-by-row generator managed
about 3,500.

Text construction (docs/paper.md, "Symile-M3"): the text holds `n_words` words in random
order: the class's name in the sample's language L, plus `n_words - 1` distractors whose classes
are distinct from C and from each other. Their languages are
  - disjoint (the paper's): distinct from L and from each other (so n_words <= #languages);
  - overlap: drawn independently and uniformly from the languages other than L, so they may
    repeat among themselves (allows n_words > #languages).
In both modes L occurs exactly once, which is what makes (audio language, text) identify C
while the text alone leaves C ambiguous among its words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Mode = Literal["disjoint", "overlap"]


@dataclass(frozen=True)
class SampleIndices:
    """Integer indices for n rows; `word_lang`/`word_cls` are [n, n_words] in text order."""

    lang: np.ndarray  # [n] index into languages
    cls: np.ndarray  # [n] index into the class table
    word_lang: np.ndarray  # [n, n_words]
    word_cls: np.ndarray  # [n, n_words]
    audio_u: np.ndarray  # [n] uniform in [0, 1): position within the language's audio pool
    image_u: np.ndarray  # [n] uniform in [0, 1): position within the class's image pool


def distinct_excluding(rng: np.random.Generator, exclude: np.ndarray, m: int, k: int) -> np.ndarray:
    """For each row, m distinct values from {0..k-1} minus that row's `exclude` value, with
    every ordered m-tuple equally likely.

    Small k (languages, k <= 64): sort random keys with the excluded value forced last, keep
    the first m: a uniformly random ordering of the allowed values. Large k (classes): draw
    m values iid from the allowed ones and redraw the rows that repeat a value; conditioning
    iid draws on "all distinct" leaves every distinct tuple equally likely, and few rows
    repeat when k >> m^2 (86% of rows pass at once for k = 243, m = 9).
    """
    n = exclude.shape[0]
    rows = np.arange(n)
    if k <= 64:
        keys = rng.random((n, k))
        keys[rows, exclude] = 2.0
        return np.argsort(keys, axis=1)[:, :m]
    out = np.empty((n, m), dtype=np.int64)
    todo = rows
    while todo.size:
        draw = rng.integers(0, k - 1, size=(todo.size, m))
        draw += draw >= exclude[todo, None]
        ordered = np.sort(draw, axis=1)
        ok = (ordered[:, 1:] != ordered[:, :-1]).all(axis=1)
        out[todo[ok]] = draw[ok]
        todo = todo[~ok]
    return out


def draw_samples(
    rng: np.random.Generator,
    n: int,
    *,
    n_languages: int,
    n_classes: int,
    n_words: int,
    mode: Mode,
) -> SampleIndices:
    """Pool positions are uniforms so that pools of unequal size (a Common Voice language
    with few clips, an ImageNet class with few images) are indexed without bias."""
    lang = rng.integers(0, n_languages, size=n)
    cls = rng.integers(0, n_classes, size=n)
    m = n_words - 1
    if mode == "disjoint":
        d_lang = distinct_excluding(rng, lang, m, n_languages)
    else:
        d_lang = rng.integers(0, n_languages - 1, size=(n, m))
        d_lang += d_lang >= lang[:, None]
    d_cls = distinct_excluding(rng, cls, m, n_classes)
    # Random word order: the target's position is uniform and independent of everything else.
    order = np.argsort(rng.random((n, n_words)), axis=1)
    all_lang = np.concatenate([lang[:, None], d_lang], axis=1)
    all_cls = np.concatenate([cls[:, None], d_cls], axis=1)
    word_lang = np.take_along_axis(all_lang, order, axis=1)
    word_cls = np.take_along_axis(all_cls, order, axis=1)
    return SampleIndices(
        lang=lang,
        cls=cls,
        word_lang=word_lang,
        word_cls=word_cls,
        audio_u=rng.random(n),
        image_u=rng.random(n),
    )


def compose_text(vocab: pa.Array, s: SampleIndices, n_classes: int) -> tuple[pa.Array, pa.Array]:
    """(text, target_text): words looked up in a flat [language][class] vocabulary and joined
    with `_` column-wise in Arrow, never row by row."""
    words = [
        pc.take(vocab, s.word_lang[:, j] * n_classes + s.word_cls[:, j])
        for j in range(s.word_lang.shape[1])
    ]
    return pc.binary_join_element_wise(*words, "_"), pc.take(vocab, s.lang * n_classes + s.cls)


def draw_missing(rng: np.random.Generator, n: int, probs: tuple[float, float, float]) -> np.ndarray:
    """[n, 3] booleans (audio, image, text), each missing independently with its probability."""
    return rng.random((n, 3)) < np.asarray(probs)
