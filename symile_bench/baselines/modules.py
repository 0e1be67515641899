"""Small torch building blocks shared by every recipe: the learned temperature, feature
standardisation, an MLP, and the wrapper that turns per-modality encoders into one model with
learned "missing" embeddings (docs/paper.md, "The method": missing modalities get an indicator)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class FitsFeatures(nn.Module):
    """A module with statistics of the training features, fitted once before training
    (``fit_standardizers``) and kept as buffers, so a checkpoint carries them."""

    def fit(self, features: np.ndarray) -> None:
        raise NotImplementedError


class Standardize(FitsFeatures):
    """x -> (x − mean) / std with statistics of the training features, stored as buffers so a
    checkpoint carries them (no separate preprocessing file to lose)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, features: np.ndarray) -> None:
        flat = torch.as_tensor(features.reshape(len(features), -1), dtype=torch.float32)
        self.mean.copy_(flat.mean(0))
        self.std.copy_(flat.std(0).clamp_min(1e-3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def mlp(
    in_dim: int, hidden: int, out_dim: int, layers: int = 2, *, standardize: bool = True
) -> nn.Sequential:
    """Standardize (unless the inputs are already on a common scale), then ``layers`` linear
    maps with ReLU between them (layers=1: affine)."""
    parts: list[nn.Module] = [Standardize(in_dim)] if standardize else []
    dims = [in_dim, *([hidden] * (layers - 1)), out_dim]
    for k in range(layers):
        parts.append(nn.Linear(dims[k], dims[k + 1]))
        if k < layers - 1:
            parts.append(nn.ReLU())
    return nn.Sequential(*parts)


def fit_standardizers(module: nn.Module, features: np.ndarray) -> None:
    """Fit the first ``FitsFeatures`` of an encoder (a ``Standardize``, or a mean for imputing
    missing features) on its observed training features, if it has one."""
    for m in module.modules():
        if isinstance(m, FitsFeatures):
            m.fit(features)
            return


class ContrastiveModel(nn.Module):
    """One encoder per modality, a learned missing embedding per modality, and the learned
    log-temperature. A row marked missing gets the modality's missing embedding instead of its
    encoder output, so the other modalities still train on it (the paper's missing-data runs)."""

    def __init__(
        self,
        encoders: Mapping[str, nn.Module],
        dim: int,
        *,
        log_temperature: float,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        self.encoders = nn.ModuleDict(dict(encoders))
        self.missing = nn.ParameterDict(
            {m: nn.Parameter(torch.randn(dim) / dim**0.5) for m in encoders}
        )
        self.log_temperature = nn.Parameter(torch.tensor(float(log_temperature)))
        self.normalize = normalize

    @property
    def logit_scale(self) -> torch.Tensor:
        return self.log_temperature.exp()

    def embed(
        self, modality: str, x: torch.Tensor, missing: torch.Tensor | None = None
    ) -> torch.Tensor:
        if missing is not None and bool(missing.all()):
            out = self.missing[modality].expand(len(missing), -1)
        else:
            out = self.encoders[modality](x)
            if missing is not None and bool(missing.any()):
                out = torch.where(missing[:, None], self.missing[modality], out)
        return F.normalize(out, dim=-1) if self.normalize else out
