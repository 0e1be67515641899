"""XOR: each modality is a bit vector; the encoder is an affine map to R^16 (the paper's)."""

from __future__ import annotations

import numpy as np
from torch import nn

from symile_bench.baselines.recipes import Settings
from symile_bench.harness.batch import ModalityBatch


class XorRecipe:
    name = "xor"
    # the paper's (docs/paper.md, "Binary XOR"): 100 epochs, batch 1000, lr 0.1, weight decay
    # 0.01, log-temperature −0.3
    defaults = Settings(
        dim=16, epochs=100, batch_size=1000, lr=0.1, weight_decay=0.01, log_temperature=-0.3
    )

    def feature_key(self, modality: str, settings: Settings) -> str:
        return "bits-v1"

    def featurize(self, modality: str, batch: ModalityBatch, settings: Settings) -> np.ndarray:
        return np.asarray(batch.numpy(), dtype=np.float32)

    def encoder(
        self, modality: str, feature_shape: tuple[int, ...], settings: Settings
    ) -> nn.Module:
        return nn.Linear(feature_shape[0], settings.dim)


RECIPE = XorRecipe()
