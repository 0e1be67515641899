"""`train --arch paper` on Symile-M3: the release's model (``paper``), features
(``paper_features``) and recipe: AdamW, batch 256, d = 8192, log-temperature initialised at
−6 and learned, 24 epochs, the checkpoint of the best validation loss (no early stopping).

The release tuned learning rate and weight decay per run over {1e-5, 5e-5, 1e-4} x {0, 1e-4,
1e-3} without saying which won where; the default here is one point of that grid (1e-4, 1e-4),
and docs/baselines.md ("The paper's models") shows the sweep.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import numpy as np
from torch import nn

from builders.m3.models.paper import FrozenFeatureHead, SymileM3PaperModel, xlmr_first_layer
from builders.m3.models.paper_features import (
    features_dir,
    frozen_features,
    special_tokens,
    text_encoder_spec,
    text_features,
    vectors,
)
from symile_bench.baselines.hf_models import model_dir
from symile_bench.baselines.recipes import Settings
from symile_bench.harness.batch import ModalityBatch

if TYPE_CHECKING:
    from symile_bench.baselines.features import SplitFeatures

DEFAULTS = Settings(
    dim=8192,
    epochs=24,
    batch_size=256,
    lr=1e-4,
    weight_decay=1e-4,
    log_temperature=-6.0,
    arch="paper",
    patience=0,
)


def feature_key(modality: str, settings: Settings) -> str:
    """Names the cached features: the vectors file's identity (its json), or the tokenizer."""
    if modality == "text":
        folder = model_dir(text_encoder_spec(settings), "--recipe-arg text_encoder").resolve()
        files = sorted(p for p in folder.iterdir() if p.name.startswith(("tokenizer", "sentence")))
        source = str(folder) + "".join(hashlib.sha256(p.read_bytes()).hexdigest() for p in files)
    else:
        source = json.dumps(vectors(settings, modality).info, sort_keys=True)
    return f"paper-{hashlib.sha256(source.encode()).hexdigest()[:16]}"


def featurize(modality: str, batch: ModalityBatch, settings: Settings) -> np.ndarray:
    if modality == "text":
        return text_features(batch, settings)
    if modality in ("audio", "image"):
        return frozen_features(modality, batch, settings)
    raise KeyError(modality)


def configure(settings: Settings, train: SplitFeatures) -> Settings:
    """Decided once from the training data, recorded in the checkpoint: whether any modality
    is missing in training (the release's ``--missingness``, which adds the observed/missing
    embedding to the audio and image heads), and where the features and the text encoder are."""
    missingness = any(bool(m.any()) for m in train.missing.values())
    extra = {
        **settings.extra,
        "features": str(features_dir(settings).resolve()),
        "text_encoder": text_encoder_spec(settings),
        "missingness": missingness,
        "special_tokens": special_tokens(settings),
    }
    return settings.with_overrides(extra=extra)


def model(shapes: dict[str, tuple[int, ...]], settings: Settings) -> SymileM3PaperModel:
    missingness = bool(settings.extra.get("missingness", False))
    special = settings.extra.get("special_tokens") or special_tokens(settings)
    text_dir = model_dir(text_encoder_spec(settings), "--recipe-arg text_encoder")
    encoders: dict[str, nn.Module] = {}
    for modality in shapes:
        if modality == "text":
            encoders[modality] = xlmr_first_layer(text_dir, settings.dim, special)
        else:
            encoders[modality] = FrozenFeatureHead(shapes[modality][0], settings.dim, missingness)
    return SymileM3PaperModel(encoders, settings.dim, settings.log_temperature)
