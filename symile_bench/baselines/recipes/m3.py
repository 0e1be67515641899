"""Symile-M3: cached features (``m3_features``) read by two-layer MLPs."""

from __future__ import annotations

import numpy as np
from torch import nn

from symile_bench.baselines.modules import mlp
from symile_bench.baselines.recipes import Settings
from symile_bench.baselines.recipes.m3_features import featurize_items
from symile_bench.harness.batch import ModalityBatch


class M3Recipe:
    name = "m3"
    defaults = Settings(dim=256, epochs=60, batch_size=256, lr=1e-3, weight_decay=1e-4,
                        log_temperature=2.3, hidden=512)

    def feature_key(self, modality: str, settings: Settings) -> str:
        return {"audio": "logmel40-v1", "image": "px16-v1", "text": "ngram4096-v1"}[modality]

    def featurize(self, modality: str, batch: ModalityBatch, settings: Settings) -> np.ndarray:
        if modality not in ("audio", "image", "text"):
            raise KeyError(modality)
        items = batch.raw() if hasattr(batch, "raw") else list(batch)
        return featurize_items(modality, items)

    def encoder(self, modality: str, feature_shape: tuple[int, ...], settings: Settings
                ) -> nn.Module:
        # text is a bag of hashed n-grams: a linear map (one learned vector per n-gram, summed)
        # fits its structure with far fewer parameters than an MLP, so it overfits less
        layers = 1 if modality == "text" else 2
        return mlp(feature_shape[0], settings.hidden, settings.dim, layers=layers)


RECIPE = M3Recipe()
