"""`clock`, model side: an oracle and the baseline recipe.

`ClockOracle` is an adapter: any object with `encode(modality, batch, *, missing)` and
`scoring` is a model. It knows the `clock` dataset exactly, on a grid of (a, b) hour pairs:
start s -> 1 on row a = s, step t -> 1 on column b = t, end e -> 1 where (a + b) mod hours = e.
Then Σ start·step·end is 1 for the right end hour only, while start·end = step·end = 1 for
every end hour: the multilinear inner product finds it, a pairwise sum cannot (it ties every
candidate, so it scores chance).

`RECIPE` tells `symile-bench train` how to turn each modality into features (a one-hot hour)
and which encoder reads them (a linear map to R^dim).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from symile_bench.baselines.recipes import Settings

if TYPE_CHECKING:
    from torch import nn

    from symile_bench.harness.batch import ModalityBatch

MAX_HOURS = 64  # the largest --hours: one-hot features of this length fit every build


class ClockOracle:
    modalities = ("start", "step", "end")

    def __init__(self, hours: int = 12, scoring: str = "mip") -> None:
        self.hours, self.scoring = hours, scoring
        self.name = f"clock-oracle-{scoring}"
        self.metadata = {"hours": hours}

    def encode(
        self, modality: str, batch: Sequence[Any], *, missing: np.ndarray | None = None
    ) -> np.ndarray:
        values = np.asarray(batch, dtype=np.int64)[:, None, None]
        a = np.arange(self.hours)[None, :, None]
        b = np.arange(self.hours)[None, None, :]
        if modality == "start":
            grid = np.broadcast_to(a == values, (len(values), self.hours, self.hours))
        elif modality == "step":
            grid = np.broadcast_to(b == values, (len(values), self.hours, self.hours))
        elif modality == "end":
            grid = (a + b) % self.hours == values
        else:
            raise KeyError(modality)
        return grid.reshape(len(values), -1).astype(np.float32)


class ClockRecipe:
    name = "clock"
    defaults = Settings(dim=48, epochs=40, batch_size=256, lr=0.05, weight_decay=0.0)

    def feature_key(self, modality: str, settings: Settings) -> str:
        return "one-hot-v1"  # change it whenever featurize's output would change

    def featurize(self, modality: str, batch: ModalityBatch, settings: Settings) -> np.ndarray:
        hours = np.asarray(batch.numpy(), dtype=np.int64)
        return np.eye(MAX_HOURS, dtype=np.float32)[hours]

    def encoder(
        self, modality: str, feature_shape: tuple[int, ...], settings: Settings
    ) -> nn.Module:
        from torch import nn

        return nn.Linear(feature_shape[0], settings.dim)


RECIPE = ClockRecipe()
