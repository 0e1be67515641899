"""Symile-MIMIC encoders, two families (``Settings.arch``).

``small`` (CPU): a 1-D conv net over the 12 downsampled leads (global mean + max pooling, so
beat rate and beat shape both survive), a 2-D conv net over the 64×64 CXR (flattened at 4×4,
so where an opacity sits survives), an MLP over the 100 lab inputs. Two choices, both measured
on `fake-mimic --signal higher-order` trees (docs/baselines.md):

- each small encoder ends in ``BatchNorm1d(dim)``: without it the embeddings carry a large
  constant part (ReLU features have positive means), the L2 normalisation leaves the per-record
  part tiny, and Symile's three-way term never takes off (validation top-1 stayed at chance
  for 30 epochs; with it, 0.29). Its affine shift can still learn a constant, which is how MIP
  expresses pairwise terms;
- training-time augmentation (``Augment``): with a few thousand admissions the encoders
  otherwise memorise the training triples through per-record details (lab values that carry
  no signal, image brightness, noise) long before they find the shared structure.

``paper`` (sized for a GPU; the trainer itself runs on the CPU for now): the release's
encoders, from random initialisation: ResNet-18 over the ECG as a one-channel 5000×12 image,
ResNet-50 over the 320×320 CXR (grey repeated to three channels, ImageNet mean/std), a
100→256→1024→d GELU MLP for labs; each followed by LayerNorm(d). The release starts the
ResNet-50 from ImageNet weights; we never download weights.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from builders.mimic.models.resnet import resnet18, resnet50
from symile_bench.baselines.modules import Standardize

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Augment(nn.Module):
    """Random perturbations in training mode only (identity in eval mode), drawn from the
    module's own generator, seeded from torch's RNG when the module is built (``build_model``
    forks and seeds it): the global RNGs are never used, so training stays deterministic.

    - ``ecg`` ``[n, leads, t]``: circular shift in time (a 10-s record has no start phase),
      amplitude × U(0.8, 1.2), Gaussian noise σ 0.05 (records are scaled to [−1, 1]);
    - ``cxr`` ``[n, 1, s, s]``: the batch shifted by up to s/32 pixels, brightness ×
      U(0.85, 1.15) per image, Gaussian noise σ 0.05 (pixels in [0, 1]);
    - ``labs`` ``[n, 100]``: each lab marked missing (percentile 0.5, missing bit set) with
      probability 0.2, Gaussian noise σ 0.05 on the percentiles.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        if kind not in ("ecg", "cxr", "labs"):
            raise ValueError(f"no augmentation for modality {kind!r}")
        self.kind = kind
        self.generator = torch.Generator().manual_seed(int(torch.randint(0, 2**62, ())))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        n, g = len(x), self.generator
        if self.kind == "ecg":
            t = x.shape[-1]
            index = (torch.arange(t)[None] + torch.randint(0, t, (n, 1), generator=g)) % t
            x = torch.gather(x, 2, index[:, None, :].expand(-1, x.shape[1], -1))
            scale = 0.8 + 0.4 * torch.rand(n, 1, 1, generator=g)
            return x * scale + 0.05 * torch.randn(x.shape, generator=g)
        if self.kind == "cxr":
            reach = max(1, x.shape[-1] // 32)
            dy, dx = torch.randint(-reach, reach + 1, (2,), generator=g).tolist()
            x = torch.roll(x, (dy, dx), (2, 3))
            scale = 0.85 + 0.3 * torch.rand(n, 1, 1, 1, generator=g)
            return x * scale + 0.05 * torch.randn(x.shape, generator=g)
        half = x.shape[1] // 2
        drop = torch.rand(n, half, generator=g) < 0.2
        percentile = torch.where(drop, 0.5, x[:, :half]) + 0.05 * torch.randn(n, half, generator=g)
        return torch.cat([percentile, torch.where(drop, 1.0, x[:, half:])], dim=1)


def small_encoder(kind: str, body: nn.Module, dim: int) -> nn.Sequential:
    """Augment -> body -> BatchNorm1d(dim) (see the module docstring for why both)."""
    return nn.Sequential(Augment(kind), body, nn.BatchNorm1d(dim))


def _conv_bn(conv: nn.Module, channels: int, batch_norm: type[nn.Module]) -> list[nn.Module]:
    return [conv, batch_norm(channels), nn.ReLU()]


class EcgConv(nn.Module):
    """``[n, leads, t]`` -> ``[n, dim]``: four stride-2 conv layers, mean and max over time."""

    def __init__(self, leads: int, dim: int, width: int = 64) -> None:
        super().__init__()
        chans = (leads, width // 2, width, width, 2 * width)
        kernels = (7, 5, 5, 5)
        layers: list[nn.Module] = []
        for k, (cin, cout) in enumerate(pairwise(chans)):
            layers += _conv_bn(
                nn.Conv1d(cin, cout, kernels[k], stride=2, padding=kernels[k] // 2),
                cout,
                nn.BatchNorm1d,
            )
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(2 * chans[-1], dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        return self.head(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1))


class CxrConv(nn.Module):
    """``[n, 1, s, s]`` -> ``[n, dim]``: per-pixel standardisation (fitted on the train
    images, so the shared body/lung template cancels out), four stride-2 conv layers to an
    (s/16)² map, flattened into a linear head."""

    def __init__(self, side: int, dim: int, width: int = 64) -> None:
        super().__init__()
        if side % 16:
            raise ValueError(f"cxr side must be a multiple of 16, got {side}")
        self.standardize = Standardize(side * side)
        self.side = side
        chans = (1, width // 4, width // 2, width, width)
        layers: list[nn.Module] = []
        for cin, cout in pairwise(chans):
            layers += _conv_bn(nn.Conv2d(cin, cout, 3, stride=2, padding=1), cout, nn.BatchNorm2d)
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(chans[-1] * (side // 16) ** 2, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(x)
        x = self.standardize(x.reshape(n, -1)).reshape(n, 1, self.side, self.side)
        return self.head(self.features(x).flatten(1))


class GreyToImageNet(nn.Module):
    """``[n, 1, H, W]`` in [0, 1] -> ``[n, 3, H, W]`` ImageNet-normalised (the release feeds
    the grey CXR as RGB)."""

    def __init__(self) -> None:
        super().__init__()
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.expand(-1, 3, -1, -1) - self.mean) / self.std


def paper_ecg(dim: int) -> nn.Module:
    return nn.Sequential(resnet18(1, dim), nn.LayerNorm(dim))


def paper_cxr(dim: int) -> nn.Module:
    return nn.Sequential(GreyToImageNet(), resnet50(3, dim), nn.LayerNorm(dim))


def paper_labs(in_dim: int, dim: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(in_dim, 256),
        nn.GELU(),
        nn.Linear(256, 1024),
        nn.GELU(),
        nn.Linear(1024, dim),
        nn.LayerNorm(dim),
    )
