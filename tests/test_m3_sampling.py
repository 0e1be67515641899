"""The sampling math behind Symile-M3 text: distinct draws without replacement are uniform."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare

from builders.m3.build.sampling import distinct_excluding, draw_samples


@pytest.mark.parametrize(("k", "m"), [(2, 1), (5, 4), (10, 9), (70, 2), (243, 9), (1000, 9)])
def test_distinct_excluding_gives_distinct_allowed_values(k, m):
    rng = np.random.default_rng(1)
    exclude = rng.integers(0, k, size=20_000)
    out = distinct_excluding(rng, exclude, m, k)
    assert out.shape == (20_000, m)
    assert out.min() >= 0 and out.max() < k
    assert not (out == exclude[:, None]).any()
    ordered = np.sort(out, axis=1)
    assert (ordered[:, 1:] != ordered[:, :-1]).all()


@pytest.mark.parametrize("k", [6, 80])  # one k per branch: sorted keys, and rejection
def test_every_ordered_tuple_is_equally_likely(k):
    """Chi-square over all (k-1)(k-2) ordered pairs when the value 0 is excluded."""
    rng = np.random.default_rng(2)
    n = 400 * (k - 1) * (k - 2) if k < 10 else 120 * (k - 1) * (k - 2)
    out = distinct_excluding(rng, np.zeros(n, dtype=np.int64), 2, k)
    counts = Counter(map(tuple, out.tolist()))
    assert len(counts) == (k - 1) * (k - 2)
    assert chisquare(list(counts.values())).pvalue > 1e-3


def test_target_position_and_languages_are_uniform():
    rng = np.random.default_rng(3)
    s = draw_samples(rng, 50_000, n_languages=5, n_classes=243, n_words=5, mode="disjoint")
    target = (s.word_lang == s.lang[:, None]) & (s.word_cls == s.cls[:, None])
    assert (target.sum(axis=1) == 1).all()
    assert chisquare(np.bincount(target.argmax(axis=1), minlength=5)).pvalue > 1e-3
    assert (np.sort(s.word_lang, axis=1) == np.arange(5)).all()  # disjoint: all 5 languages


def test_overlap_mode_keeps_the_language_of_the_audio_unique():
    rng = np.random.default_rng(4)
    s = draw_samples(rng, 20_000, n_languages=3, n_classes=243, n_words=6, mode="overlap")
    assert ((s.word_lang == s.lang[:, None]).sum(axis=1) == 1).all()
    ordered = np.sort(s.word_cls, axis=1)
    assert (ordered[:, 1:] != ordered[:, :-1]).all()
