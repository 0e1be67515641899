"""Recipes: for one builder's datasets, how each modality is featurised (once per split, cached)
and which small encoder reads the features, with the default training settings.

A recipe is found by the dataset's builder name (from ``manifest.json``), the same way the
harness finds a task; a third-party builder registers its own with ``register_recipe``, or, when
every modality of its task is a fixed-length vector (kind ``vector``), needs none: it trains with
the generic one (``vectors.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, cast

import numpy as np
from torch import nn

from symile_bench.errors import ConfigError
from symile_bench.harness.batch import ModalityBatch
from symile_bench.registry import Registry
from symile_bench.tasks import ModalitySpec


@dataclass(frozen=True)
class Settings:
    """Training settings; every field is a `symile-bench train` option and is stored in the
    checkpoint's ``model.json`` so ``load`` rebuilds the same encoders."""

    dim: int = 16
    epochs: int = 100
    batch_size: int = 1000
    lr: float = 0.1
    weight_decay: float = 0.01
    log_temperature: float = -0.3
    hidden: int = 256
    arch: str = "small"
    patience: int = 0  # stop after this many epochs without a better validation loss (0: never)
    extra: dict[str, Any] = field(default_factory=dict)

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


class Recipe(Protocol):
    name: str
    defaults: Settings

    def feature_key(self, modality: str, settings: Settings) -> str:
        """Names the featurisation (cache key): changes whenever ``featurize``'s output would."""

    def featurize(self, modality: str, batch: ModalityBatch, settings: Settings) -> np.ndarray:
        """``[n, ...]`` float32 features of a batch; rows whose item is ``None`` (missing) get
        zeros (the model replaces their embedding anyway)."""

    def encoder(
        self, modality: str, feature_shape: tuple[int, ...], settings: Settings
    ) -> nn.Module:
        """The encoder from features to R^dim."""


def _loaded_recipe(obj: Any) -> Recipe:
    if not callable(getattr(obj, "featurize", None)) or not callable(getattr(obj, "encoder", None)):
        raise ConfigError(
            "a registered recipe must be a Recipe (featurize, "
            f"encoder, feature_key, defaults), got {type(obj).__name__}"
        )
    return cast(Recipe, obj)


# A benchmark declares its recipes (`Benchmark.recipes`, by builder name); a recipe module is
# imported only when used.
RECIPES: Registry[Recipe] = Registry(
    "baseline recipe",
    group="symile_bench.recipes",
    facet="recipes",
    option="the dataset's builder",
    load=_loaded_recipe,
    error=ConfigError,
    hint="Register one with symile_bench.baselines.recipes.register_recipe (a builder whose "
    "modalities are all of kind 'vector' needs none: the generic vector recipe trains it).",
)


def register_recipe(builder: str, recipe: Recipe) -> Recipe:
    """The recipe for datasets built by ``builder``."""
    return RECIPES.register(builder, recipe, overwrite=True)


def recipe_for(
    builder: str, modalities: Sequence[ModalitySpec] = (), *, recorded: str | None = None
) -> Recipe:
    """The recipe registered for ``builder``; for a builder without one, the generic vector
    recipe when every one of its task's ``modalities`` is a vector (or when a checkpoint
    ``recorded`` that it was trained with it)."""
    from symile_bench.baselines import vectors

    if builder not in RECIPES and (
        recorded == vectors.NAME or (modalities and all(m.kind == "vector" for m in modalities))
    ):
        return vectors.VECTORS
    return RECIPES.get(builder)
