"""Recipes: for one builder's datasets, how each modality is featurised (once per split, cached)
and which small encoder reads the features, with the default training settings.

A recipe is found by the dataset's builder name (from ``manifest.json``), the same way the
harness finds a task; a third-party builder registers its own with ``register_recipe``, or, when
every modality of its task is a fixed-length vector (kind ``vector``), needs none: it trains with
the generic one (``VectorRecipe``).

Beyond the protocol, a recipe may define three optional hooks, for encoders that are more
than a map from features to R^dim (the paper's architectures):

* ``defaults_for(arch) -> Settings | None``: other defaults for ``--arch arch``;
* ``configure(settings, train_features) -> Settings``: settings decided from the training
  data once, before the model is built (recorded in the checkpoint, so loading rebuilds the
  same model);
* ``model(shapes, settings) -> ContrastiveModel | None``: the whole model, when missing
  modalities or normalisation work differently from ``ContrastiveModel``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, cast

import numpy as np
from torch import nn

from symile_bench.errors import ConfigError, HarnessInputError
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
    if builder not in RECIPES and (
        recorded == VECTOR_RECIPE or (modalities and all(m.kind == "vector" for m in modalities))
    ):
        return VECTORS
    return RECIPES.get(builder)


def settings_for(recipe: Recipe, overrides: dict[str, Any] | None = None) -> Settings:
    """The recipe's defaults (those of ``--arch`` when it has its own) with ``overrides``."""
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    base = recipe.defaults
    defaults_for = getattr(recipe, "defaults_for", None)
    if "arch" in given and callable(defaults_for):
        base = defaults_for(given["arch"]) or base
    if "extra" in given:
        given["extra"] = {**base.extra, **given["extra"]}
    return base.with_overrides(**given)


# -- the generic recipe -------------------------------------------------------------------------
# For datasets whose modalities are all fixed-length numeric vectors (task modalities of kind
# ``vector``, e.g. XOR with any number of modalities): the values are the features, each encoder
# is an affine map to R^dim (the Symile paper's XOR encoder), and the defaults are the paper's
# XOR settings. `symile-bench train` uses it for any builder of that kind that registers no
# recipe of its own, so a third-party vector benchmark trains without writing one.

#: the name a checkpoint records (``model.json`` → ``recipe``) to be loaded with this recipe
VECTOR_RECIPE = "vectors"


class VectorRecipe:
    """Features = the vector itself (float32, flattened); a missing row (``None``) is zeros."""

    name = VECTOR_RECIPE
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
