"""An adapter: any object with `encode(modality, batch, *, missing)` and `scoring` is a model.
This one knows the `clock` dataset exactly, on a grid of (a, b) hour pairs: start s -> 1 on
row a = s, step t -> 1 on column b = t, end e -> 1 where (a + b) mod hours = e. Then
Σ start·step·end is 1 for the right end hour only, while start·end = step·end = 1 for every
end hour: the multilinear inner product finds it, a pairwise sum cannot (it ties every
candidate, so it scores chance)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


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
