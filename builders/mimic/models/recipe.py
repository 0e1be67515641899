"""Symile-MIMIC: the stored ECG, labs and CXR (``mimic_features``) read by the encoders of
``mimic_nets``: ``arch="small"`` (default; conv nets on downsampled inputs, trains on a CPU)
or ``arch="paper"`` (the release's ResNet-18 / ResNet-50 / 3-layer MLP at full resolution,
for a GPU; random initialisation, no downloaded weights)."""

from __future__ import annotations

import numpy as np
from torch import nn

from builders.mimic.models.features import (
    ECG_STEP,
    SIDES,
    cxr_features,
    ecg_features,
    labs_features,
)
from builders.mimic.models.nets import (
    CxrConv,
    EcgConv,
    paper_cxr,
    paper_ecg,
    paper_labs,
    small_encoder,
)
from symile_bench.baselines.modules import mlp
from symile_bench.baselines.recipes import Settings
from symile_bench.errors import ConfigError
from symile_bench.harness.batch import ModalityBatch

ARCHS = ("small", "paper")


def _arch(settings: Settings) -> str:
    if settings.arch not in ARCHS:
        raise ConfigError(
            f"--arch for mimic must be one of {', '.join(ARCHS)}, got {settings.arch!r}"
        )
    return settings.arch


def _labs_mlp(in_dim: int, hidden: int, dim: int) -> nn.Module:
    """Percentiles and bits are already in [0, 1]: no standardisation (a bit that is constant
    in train would otherwise be divided by a clamped zero std)."""
    return mlp(in_dim, hidden, dim, layers=3, standardize=False)


class MimicRecipe:
    name = "mimic"
    defaults = Settings(
        dim=128,
        epochs=40,
        batch_size=256,
        lr=3e-3,
        weight_decay=1e-4,
        log_temperature=2.3,
        hidden=256,
        patience=10,
    )

    def feature_key(self, modality: str, settings: Settings) -> str:
        arch = _arch(settings)
        return {
            "ecg": f"ecg-mean{ECG_STEP}-v1" if arch == "small" else "ecg-full-v1",
            "labs": "labs100-v1",
            "cxr": f"cxr-grey-crop{SIDES[arch]}-v1",
        }[modality]

    def featurize(self, modality: str, batch: ModalityBatch, settings: Settings) -> np.ndarray:
        arch = _arch(settings)
        if modality == "ecg":
            return ecg_features(batch, arch)
        if modality == "labs":
            return labs_features(batch)
        if modality == "cxr":
            return cxr_features(batch, arch)
        raise KeyError(modality)

    def encoder(
        self, modality: str, feature_shape: tuple[int, ...], settings: Settings
    ) -> nn.Module:
        dim, paper = settings.dim, _arch(settings) == "paper"
        if modality == "ecg":
            return (
                paper_ecg(dim)
                if paper
                else small_encoder("ecg", EcgConv(feature_shape[0], dim), dim)
            )
        if modality == "labs":
            return (
                paper_labs(feature_shape[0], dim)
                if paper
                else small_encoder("labs", _labs_mlp(feature_shape[0], settings.hidden, dim), dim)
            )
        if modality == "cxr":
            return (
                paper_cxr(dim)
                if paper
                else small_encoder("cxr", CxrConv(feature_shape[-1], dim), dim)
            )
        raise KeyError(modality)


RECIPE = MimicRecipe()
