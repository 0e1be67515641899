"""The M3 recipe's text path: every word of a text gets its own exact slot (two whole-word
hashes + a script histogram), and the gated bag of words is order-invariant, ignores empty
slots, and embeds a missing (all-zero) text as zeros."""

import numpy as np
import pytest

from builders.m3.models.features import (
    MAX_WORDS,
    TEXT_SHAPE,
    featurize_items,
    text_features,
)

torch = pytest.importorskip("torch")


def test_text_features_hold_one_slot_per_whole_word():
    """Proves words are hashed whole (not as shared n-grams): the same word gets the same ids
    in any position, different words differ, and the script histogram tells Latin from
    Greek."""
    a, b = text_features("dog_σκύλος"), text_features("σκύλος_dog")
    assert a.shape == TEXT_SHAPE
    assert (a[0, :2] == b[1, :2]).all() and (a[1, :2] == b[0, :2]).all()
    assert (a[0, :2] != a[1, :2]).all() and (a[:2, :2] >= 1).all()
    assert (a[2:] == 0).all()
    assert np.isclose(a[0, 2:].sum(), 1.0) and not (a[0, 2:] == a[1, 2:]).all()
    assert text_features("_".join(f"w{i}" for i in range(MAX_WORDS + 3))).shape == TEXT_SHAPE
    batch = featurize_items("text", ["dog_σκύλος", None])
    assert batch.shape == (2, *TEXT_SHAPE) and (batch[1] == 0).all()


def test_gated_bag_of_words_is_order_invariant():
    """Proves the text embedding is a sum over words: swapping word order changes nothing,
    and an all-zero (missing) text embeds to zeros before the model's missing vector."""
    from builders.m3.models.recipe import RECIPE

    encoder = RECIPE.encoder("text", TEXT_SHAPE, RECIPE.defaults)
    x = torch.from_numpy(featurize_items("text", ["dog_σκύλος", "σκύλος_dog", None]))
    out = encoder(x)
    assert out.shape == (3, RECIPE.defaults.dim)
    assert torch.allclose(out[0], out[1], atol=1e-6)
    assert float(out[2].abs().sum()) == 0.0
