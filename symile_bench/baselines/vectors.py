"""The generic recipe for datasets whose modalities are all fixed-length numeric vectors (task
modalities of kind ``vector``, e.g. XOR with any number of modalities): the values are the
features, each encoder is an affine map to R^dim (the Symile paper's XOR encoder), and the
defaults are the paper's XOR settings. `symile-bench train` uses it for any builder of that kind
that registers no recipe of its own, so a third-party vector benchmark trains without writing
one (``recipes.recipe_for``)."""

from __future__ import annotations

import numpy as np
from torch import nn

from symile_bench.baselines.recipes import Settings
from symile_bench.errors import ConfigError, HarnessInputError
from symile_bench.harness.batch import ModalityBatch

#: the name a checkpoint records (``model.json`` → ``recipe``) to be loaded with this recipe
NAME = "vectors"


class VectorRecipe:
    """Features = the vector itself (float32, flattened); a missing row (``None``) is zeros."""

    name = NAME
    # the paper's XOR settings (docs/paper.md, "Binary XOR"): 100 epochs, batch 1000, lr 0.1,
    # weight decay 0.01, log-temperature −0.3, R^16
    defaults = Settings(
        dim=16, epochs=100, batch_size=1000, lr=0.1, weight_decay=0.01, log_temperature=-0.3
    )

    def feature_key(self, modality: str, settings: Settings) -> str:
        return "vector-v1"

    def featurize(self, modality: str, batch: ModalityBatch, settings: Settings) -> np.ndarray:
        try:
            values = np.asarray(batch.numpy(), dtype=np.float32)
        except HarnessInputError:  # null (missing) rows: one item at a time, zeros for them
            values = _with_missing(modality, list(batch))
        if values.ndim < 1 or len(values) != len(batch):
            raise ConfigError(f"modality {modality!r} is not one fixed-length vector per row")
        return values.reshape(len(values), -1)

    def encoder(
        self, modality: str, feature_shape: tuple[int, ...], settings: Settings
    ) -> nn.Module:
        return nn.Linear(int(np.prod(feature_shape)), settings.dim)


def _with_missing(modality: str, items: list[object]) -> np.ndarray:
    present = [np.ravel(np.asarray(v, dtype=np.float32)) for v in items if v is not None]
    widths = {len(v) for v in present}
    if len(widths) > 1:
        raise ConfigError(
            f"modality {modality!r} holds vectors of different lengths ({sorted(widths)}); "
            "the generic vector recipe needs one length (register a recipe of your own)"
        )
    width = widths.pop() if widths else 0
    rows = iter(present)
    return np.stack(
        [np.zeros(width, np.float32) if v is None else next(rows) for v in items]
    ).reshape(len(items), width)


VECTORS = VectorRecipe()
