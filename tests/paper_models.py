"""Tiny random-weight versions of the paper's encoders, saved like Hub downloads.

The same `transformers` classes as the Symile-M3 release (WhisperModel with its
WhisperFeatureExtractor, CLIPVisionModel inside a CLIPModel checkpoint with its CLIP image
processor, XLMRobertaModel with an XLM-R tokenizer), configured a few layers and dimensions
wide and written with ``save_pretrained`` into a folder, so tests load them exactly as a user
loads `openai/whisper-large-v3` from disk, without a download. The XLM-R tokenizer is a
Unigram vocabulary built here: XLM-R's special tokens at its ids (<s> 0, <pad> 1, </s> 2,
<unk> 3), every character of the texts, and whole words.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip(
    "transformers", reason="the paper's encoders need transformers (pip install '.[paper]')"
)


def seeded(model_class: type, config: object) -> object:
    """A model of ``model_class`` with random weights from a fixed seed, so a test's numbers do
    not change from run to run (torch's global generator is restored after)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return model_class(config)


WHISPER_HIDDEN = 24
CLIP_HIDDEN = 20
XLMR_HIDDEN = 16


def make_whisper(folder: Path, *, mel_bins: int = 80) -> Path:
    """A 1-layer Whisper (d_model 24) and its feature extractor (30 s windows, 16 kHz)."""
    config = transformers.WhisperConfig(
        d_model=WHISPER_HIDDEN,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        num_mel_bins=mel_bins,
        max_source_positions=1500,
        max_target_positions=32,
        vocab_size=64,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=3,
        suppress_tokens=[],
        begin_suppress_tokens=[],
    )
    seeded(transformers.WhisperModel, config).save_pretrained(folder)
    transformers.WhisperFeatureExtractor(feature_size=mel_bins).save_pretrained(folder)
    return folder


def make_clip(folder: Path, *, image_size: int = 32) -> Path:
    """A 1-layer CLIP (vision hidden 20, 32 px, patch 8) and its image processor, saved as a
    full CLIPModel like openai/clip-vit-large-patch14."""
    config = transformers.CLIPConfig(
        text_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "vocab_size": 64,
            "max_position_embeddings": 16,
            "pad_token_id": 1,
            "bos_token_id": 0,
            "eos_token_id": 2,
        },
        vision_config={
            "hidden_size": CLIP_HIDDEN,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": image_size,
            "patch_size": 8,
        },
        projection_dim=8,
    )
    seeded(transformers.CLIPModel, config).save_pretrained(folder)
    side = {"shortest_edge": image_size}
    crop = {"height": image_size, "width": image_size}
    transformers.CLIPImageProcessorPil(size=side, crop_size=crop).save_pretrained(folder)
    return folder


def xlmr_vocab(texts: Iterable[str]) -> list[tuple[str, float]]:
    """XLM-R's special tokens, then every whole word (preferred) and every character."""
    words, chars = set(), set()
    for text in texts:
        for word in text.split("_"):
            words.add("▁" + word)
        chars.update(text)
    specials = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces = [(w, -2.0) for w in sorted(words)] + [("▁", -5.0), ("_", -5.0)]
    pieces += [(c, -8.0) for c in sorted(chars - {"_"})]
    return [*specials, *pieces, ("<mask>", 0.0)]


def make_xlmr(folder: Path, texts: Iterable[str]) -> Path:
    """A 2-layer XLM-R (hidden 16) and a tokenizer whose vocabulary covers ``texts``."""
    tokenizer = transformers.XLMRobertaTokenizer(vocab=xlmr_vocab(texts))
    config = transformers.XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=XLMR_HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=130,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    seeded(transformers.XLMRobertaModel, config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
