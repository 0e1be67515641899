"""ResNet-18 and ResNet-50 (He et al. 2016; torchvision's v1.5 layout: the stride of a
bottleneck sits on its 3×3 convolution) in plain torch, for the MIMIC recipe's ``paper``
encoders. torchvision is not a dependency (its wheels pin one torch build each), and no
weights are ever downloaded: every encoder here starts from random initialisation.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(cin, width, 3, stride),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            _conv(width, width, 3),
            nn.BatchNorm2d(width),
        )
        self.skip = _shortcut(cin, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * self.expansion
        self.body = nn.Sequential(
            _conv(cin, width, 1),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            _conv(width, width, 3, stride),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            _conv(width, cout, 1),
            nn.BatchNorm2d(cout),
        )
        self.skip = _shortcut(cin, cout, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


def _shortcut(cin: int, cout: int, stride: int) -> nn.Module:
    if stride == 1 and cin == cout:
        return nn.Identity()
    return nn.Sequential(_conv(cin, cout, 1, stride), nn.BatchNorm2d(cout))


class ResNet(nn.Module):
    """``[n, in_channels, H, W]`` -> ``[n, out_dim]``: 7×7/2 stem, 3×3/2 max pool, four stages
    (64, 128, 256, 512 wide), global average pool, linear head."""

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        depths: tuple[int, ...],
        in_channels: int,
        out_dim: int,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        ]
        cin = 64
        for stage, depth in enumerate(depths):
            width = 64 * 2**stage
            for k in range(depth):
                layers.append(block(cin, width, 2 if stage > 0 and k == 0 else 1))
                cin = width * block.expansion
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, out_dim)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean(dim=(2, 3)))


def resnet18(in_channels: int, out_dim: int) -> ResNet:
    return ResNet(BasicBlock, (2, 2, 2, 2), in_channels, out_dim)


def resnet50(in_channels: int, out_dim: int) -> ResNet:
    return ResNet(Bottleneck, (3, 4, 6, 3), in_channels, out_dim)
