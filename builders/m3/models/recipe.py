"""Symile-M3: cached features (``m3_features``) read by small encoders: MLPs for audio and
images, a script-gated bag of word embeddings for text.

Why the text encoder has this shape: M3's signal is three-way. The audio gives the language L,
the text lists w (language, class) words, the image shows the class C. Symile's score
``sum_k a_k t_k i_k`` expresses "the class of the word in language L" when the text embedding
is a sum of per-word vectors, each gated by its language, so that the audio (language) selects
one word's coordinates and the image (class) matches them. A word's vector is a learned
embedding of the whole word (two hashes, summed); its gate ``1 + G s`` is a linear map of the
word's script histogram ``s``, shared by every word written in the same script, which is a cue
to the language that all of that language's words share.

``--arch paper`` is the release's model instead (``paper_recipe``): heads over the frozen
Whisper / CLIP vectors of `symile-bench embed` and XLM-R's first layer, for a GPU. The same
recipe serves the imported releases (``hf-m3``, ``m3-csv``), whose rows have the same
modalities.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from builders.m3.models import paper_recipe
from builders.m3.models.features import WORD_BUCKETS, featurize_items
from symile_bench.baselines.features import SplitFeatures
from symile_bench.baselines.modules import ContrastiveModel, mlp
from symile_bench.baselines.recipes import Settings
from symile_bench.errors import ConfigError
from symile_bench.harness.batch import ModalityBatch

ARCHS = ("small", "paper")


def _paper(settings: Settings) -> bool:
    if settings.arch not in ARCHS:
        raise ConfigError(f"--arch for m3 must be one of {', '.join(ARCHS)}, got {settings.arch!r}")
    return settings.arch == "paper"


class GatedBagOfWords(nn.Module):
    """``[n, words, 2 + scripts]`` -> ``[n, dim]``: ``sum_j (E1[h1_j] + E2[h2_j]) * (1 + G s_j)``
    over the word slots (hash 0 = empty slot, embedded as zeros)."""

    def __init__(self, buckets: int, script_bins: int, dim: int, init_std: float = 0.1) -> None:
        super().__init__()
        self.e1 = nn.Embedding(buckets + 1, dim, padding_idx=0)
        self.e2 = nn.Embedding(buckets + 1, dim, padding_idx=0)
        for e in (self.e1, self.e2):
            nn.init.normal_(e.weight, std=init_std)
            with torch.no_grad():
                e.weight[0].zero_()
        self.gate = nn.Linear(script_bins, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ids = x[..., :2].long()
        words = self.e1(ids[..., 0]) + self.e2(ids[..., 1])
        return (words * (1.0 + self.gate(x[..., 2:]))).sum(dim=1)


class M3Recipe:
    name = "m3"
    defaults = Settings(
        dim=256,
        epochs=60,
        batch_size=512,
        lr=2e-3,
        weight_decay=1e-4,
        log_temperature=2.3,
        hidden=512,
        patience=10,
    )

    def defaults_for(self, arch: str) -> Settings | None:
        return paper_recipe.DEFAULTS if arch == "paper" else None

    def configure(self, settings: Settings, train: SplitFeatures) -> Settings:
        return paper_recipe.configure(settings, train) if _paper(settings) else settings

    def model(
        self, shapes: dict[str, tuple[int, ...]], settings: Settings
    ) -> ContrastiveModel | None:
        return paper_recipe.model(shapes, settings) if _paper(settings) else None

    def feature_key(self, modality: str, settings: Settings) -> str:
        if _paper(settings):
            return paper_recipe.feature_key(modality, settings)
        return {"audio": "logmel40-v1", "image": "px16hist8-v2", "text": "words2x14-v2"}[modality]

    def featurize(self, modality: str, batch: ModalityBatch, settings: Settings) -> np.ndarray:
        if modality not in ("audio", "image", "text"):
            raise KeyError(modality)
        if _paper(settings):
            return paper_recipe.featurize(modality, batch, settings)
        items = batch.raw() if hasattr(batch, "raw") else list(batch)
        return featurize_items(modality, items)

    def encoder(
        self, modality: str, feature_shape: tuple[int, ...], settings: Settings
    ) -> nn.Module:
        if modality == "text":
            return GatedBagOfWords(WORD_BUCKETS, feature_shape[-1] - 2, settings.dim)
        return mlp(feature_shape[0], settings.hidden, settings.dim, layers=2)


RECIPE = M3Recipe()
