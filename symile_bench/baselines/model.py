"""A trained checkpoint as a harness model (``encode(modality, batch, *, missing=None)`` and
``scoring``), so `symile-bench evaluate` scores it like any third-party model:
``--model symile_bench.baselines:load --model-arg path=MODEL_DIR`` (``--model-arg
device=cuda`` to encode on a GPU; any other ``--model-arg`` replaces a recipe argument the
checkpoint recorded, e.g. ``features=DIR`` for vectors `embed` wrote for another dataset)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from symile_bench.baselines.device import torch_device
from symile_bench.baselines.recipes import Settings, recipe_for
from symile_bench.baselines.train import FORMAT_VERSION, MODEL_FILE, WEIGHTS_FILE, build_model
from symile_bench.errors import ConfigError
from symile_bench.harness.batch import ModalityBatch


class TrainedModel:
    """Featurises a batch with the recipe it was trained with, then runs the encoder."""

    def __init__(
        self,
        directory: Path,
        device: str | None = None,
        recipe_args: dict[str, Any] | None = None,
    ) -> None:
        info_path = directory / MODEL_FILE
        if not info_path.is_file() or not (directory / WEIGHTS_FILE).is_file():
            raise ConfigError(
                f"{directory}: not a checkpoint written by `symile-bench train` "
                f"(needs {MODEL_FILE} and {WEIGHTS_FILE})"
            )
        info = json.loads(info_path.read_text("utf-8"))
        if info.get("format_version") != FORMAT_VERSION:
            raise ConfigError(
                f"{info_path}: format_version {info.get('format_version')} is not "
                f"{FORMAT_VERSION}; retrain with this version of symile-bench"
            )
        self.info = info
        self.recipe = recipe_for(info["builder"], recorded=info.get("recipe"))
        self.settings = Settings(**info["settings"])
        if recipe_args:
            self.settings = self.settings.with_overrides(
                extra={**self.settings.extra, **recipe_args}
            )
        self.device = torch_device(device)
        self.shapes = {m: tuple(s) for m, s in info["feature_shapes"].items()}
        self.net = build_model(self.recipe, self.settings, self.shapes, seed=0)
        state = torch.load(directory / WEIGHTS_FILE, weights_only=True, map_location="cpu")
        self.net.load_state_dict(state)
        self.net.to(self.device)
        self.net.eval()
        self.name: str = info["name"]
        self.scoring: str = info["scoring"]
        self.modalities = tuple(self.shapes)
        self.metadata: dict[str, Any] = {
            k: info[k]
            for k in (
                "loss",
                "negatives",
                "seed",
                "settings",
                "trained_on",
                "best_epoch",
                "best_val_loss",
                "train_seconds",
            )
        }
        self.metadata["checkpoint"] = str(directory)

    def encode(
        self, modality: str, batch: Sequence[Any], *, missing: np.ndarray | None = None
    ) -> np.ndarray:
        if modality not in self.shapes:
            raise KeyError(modality)
        mask = None if missing is None else np.asarray(missing, dtype=bool)
        if mask is not None and mask.all():
            x = np.zeros((len(batch), *self.shapes[modality]), np.float32)
        else:
            if not isinstance(batch, ModalityBatch):
                raise TypeError("a baseline model encodes the harness's ModalityBatch")
            x = np.asarray(self.recipe.featurize(modality, batch, self.settings), np.float32)
        with torch.no_grad():
            out = self.net.embed(
                modality,
                torch.from_numpy(x).to(self.device),
                None if mask is None else torch.from_numpy(mask).to(self.device),
            )
        return out.float().cpu().numpy()


def load(path: str | Path, device: str | None = None, **recipe_args: Any) -> TrainedModel:
    """The model factory for ``--model symile_bench.baselines:load --model-arg path=DIR``."""
    return TrainedModel(Path(path), device, recipe_args)
