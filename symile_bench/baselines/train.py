"""Train one objective (Symile, pairwise CLIP, GRAM or TRIANGLE) on a built dataset and write
a checkpoint that ``symile_bench.baselines.load`` turns back into a harness model.

Deterministic for a seed on one machine: parameters are initialised under a forked torch RNG
seeded with it, batches come from ``numpy.random.default_rng(seed)`` and Symile's O(N)
negatives from a ``torch.Generator`` seeded with it. The checkpoint kept is the epoch with the
lowest validation loss (validation negatives use a fixed generator so epochs are comparable);
with ``patience`` > 0 training stops once that many epochs pass without a better one.
On a GPU (``device="cuda"``) the forward pass and loss run under mixed precision
(``baselines.device``); batches and negatives are drawn the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from symile_bench.baselines.device import (
    autocast,
    grad_scaler,
    mixed_precision,
    threads_for,
    torch_device,
)
from symile_bench.baselines.distinct import batch_groups, distinct_ids
from symile_bench.baselines.features import SplitFeatures, split_features
from symile_bench.baselines.losses import LOSSES, NEGATIVES, SCORING, contrastive_loss
from symile_bench.baselines.modules import ContrastiveModel, fit_standardizers
from symile_bench.baselines.n2_memory import check_n2_memory
from symile_bench.baselines.recipes import Recipe, Settings, recipe_for, settings_for
from symile_bench.errors import ConfigError
from symile_bench.harness.missing import complete_fraction
from symile_bench.harness.tasks import declared_task
from symile_bench.manifest import read_manifest

MODEL_FILE = "model.json"
WEIGHTS_FILE = "model.pt"
FORMAT_VERSION = 1
VALIDATION_SEED = 12345
MIN_COMPLETE_VALIDATION = 100

Track = Callable[[str, int], Callable[[int], None]]
Report = Callable[[int, float, float], None]  # epoch, train loss, val loss


@dataclass
class TrainResult:
    out_dir: Path
    best_epoch: int
    best_val_loss: float
    history: list[dict[str, float]]
    seconds: float


def build_model(
    recipe: Recipe, settings: Settings, shapes: dict[str, tuple[int, ...]], seed: int
) -> ContrastiveModel:
    """Encoders for ``shapes`` initialised from ``seed`` without touching torch's global RNG
    (the recipe's whole model when it builds one: its optional ``model`` hook)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        make = getattr(recipe, "model", None)
        model = make(shapes, settings) if callable(make) else None
        if model is not None:
            return model
        encoders = {m: recipe.encoder(m, shape, settings) for m, shape in shapes.items()}
        return ContrastiveModel(encoders, settings.dim, log_temperature=settings.log_temperature)


def _tensors(
    feats: SplitFeatures, rows: np.ndarray, device: torch.device | None
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    xs = [torch.from_numpy(np.ascontiguousarray(f[rows])) for f in feats.features.values()]
    ms = [torch.from_numpy(m[rows]) for m in feats.missing.values()]
    if device is not None and device.type != "cpu":
        xs = [x.to(device, non_blocking=True) for x in xs]
        ms = [m.to(device, non_blocking=True) for m in ms]
    return xs, ms


def _batch_loss(
    model: ContrastiveModel,
    feats: SplitFeatures,
    rows: np.ndarray,
    loss: str,
    negatives: str,
    generator: torch.Generator,
    device: torch.device | None = None,
    precision: torch.dtype | None = None,
    ids: dict[str, np.ndarray] | None = None,
) -> torch.Tensor:
    """The batch's loss: encoders under mixed precision when ``precision`` is set, the
    contrastive loss itself in float32 (logits are sums over d products); over the batch's
    distinct rows when ``ids`` names them (``distinct.py``)."""
    xs, ms = _tensors(feats, rows, device)
    with autocast(device or torch.device("cpu"), precision):
        reps = [
            model.embed(m, x, miss if bool(miss.any()) else None)
            for m, x, miss in zip(feats.features, xs, ms, strict=True)
        ]
    reps = [r.float() for r in reps]
    groups = batch_groups([ids[m][rows] for m in feats.features], reps) if ids else None
    return contrastive_loss(
        loss, reps, model.logit_scale, negatives=negatives, generator=generator, groups=groups
    )


def split_ids(
    feats: SplitFeatures, loss: str, negatives: str, batch_size: int
) -> dict[str, np.ndarray] | None:
    """Each modality's distinct-row ids when the loss can use them (all but Symile's
    O(N^(M-1)) negatives) and every modality has few distinct rows, else None."""
    if loss == "symile" and negatives == "n2":
        return None
    ids = {}
    for m, f in feats.features.items():
        found = distinct_ids(f, feats.missing[m], batch_size)
        if found is None:
            return None
        ids[m] = found
    return ids


def _cpu_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the weights on the CPU: the best epoch's, kept while training goes on, and
    saved so that a checkpoint trained on a GPU loads anywhere."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _batches(n: int, size: int, order: np.ndarray) -> list[np.ndarray]:
    """Full batches, plus the remainder when it has at least 2 rows (a contrastive batch of one
    has no negatives)."""
    out = [order[i : i + size] for i in range(0, n, size)]
    return [b for b in out if len(b) >= 2]


def complete_rows(feats: SplitFeatures) -> np.ndarray:
    """Rows with every modality present."""
    present = np.ones(len(feats), dtype=bool)
    for m in feats.missing.values():
        present &= ~m
    return np.flatnonzero(present)


def validation_loss(
    model: ContrastiveModel,
    feats: SplitFeatures,
    loss: str,
    negatives: str,
    batch_size: int,
    rows_subset: np.ndarray | None = None,
    device: torch.device | None = None,
    precision: torch.dtype | None = None,
    ids: dict[str, np.ndarray] | None = None,
) -> float:
    generator = torch.Generator().manual_seed(VALIDATION_SEED)
    total, count = 0.0, 0
    order = np.arange(len(feats)) if rows_subset is None else rows_subset
    model.eval()
    with torch.no_grad():
        for rows in _batches(len(order), batch_size, order):
            value = _batch_loss(
                model, feats, rows, loss, negatives, generator, device, precision, ids
            )
            total += float(value) * len(rows)
            count += len(rows)
    model.train()
    return total / max(count, 1)


def train(
    dataset_dir: Path,
    out_dir: Path,
    *,
    loss: str = "symile",
    negatives: str = "n",
    config: str | None = None,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    cache_dir: Path | None = None,
    name: str | None = None,
    track: Track | None = None,
    report: Report | None = None,
    device: str | None = None,
) -> TrainResult:
    """Train on ``config``'s train split, select on its validation split, save to ``out_dir``
    (``device``: cpu, the default, or cuda with mixed precision)."""
    if loss not in LOSSES:
        raise ConfigError(f"--loss must be one of {', '.join(LOSSES)}; got {loss!r}")
    if negatives not in NEGATIVES:
        raise ConfigError(f"--negatives must be 'n' (O(N)) or 'n2' (O(N²)), got {negatives!r}")
    torch_dev = torch_device(device)
    precision = mixed_precision(torch_dev)
    started = time.perf_counter()
    manifest = read_manifest(dataset_dir)
    modalities = declared_task(manifest).modalities
    builder = manifest.builder
    recipe = recipe_for(builder, modalities)
    settings = settings_for(recipe, overrides)
    if loss == "symile" and negatives == "n2":  # before any feature work
        variant = manifest.variants.get(config or next(iter(manifest.variants)))
        n = variant.splits["train"].rows if variant and "train" in variant.splits else None
        batch = settings.batch_size if n is None else min(settings.batch_size, n)
        check_n2_memory(batch, len(modalities), settings.dim)
    cache = cache_dir if cache_dir is not None else out_dir / "features"
    train_f = split_features(dataset_dir, config, "train", recipe, settings, cache, track)
    val_f = split_features(dataset_dir, config, "validation", recipe, settings, cache, track)
    if len(train_f) < 2 or len(val_f) < 2:
        raise ConfigError(
            f"{dataset_dir}: config '{train_f.split.config}' needs at least 2 train "
            "and 2 validation rows to train a contrastive model"
        )
    shapes = {m: tuple(f.shape[1:]) for m, f in train_f.features.items()}
    configure = getattr(recipe, "configure", None)
    if callable(configure):
        settings = configure(settings, train_f)
    model = build_model(recipe, settings, shapes, seed)
    for m, f in train_f.features.items():
        fit_standardizers(model.encoders[m], f[~train_f.missing[m]])
    model.to(torch_dev)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=settings.lr,
        weight_decay=settings.weight_decay,
    )
    scaler = grad_scaler(torch_dev, precision)
    train_ids = split_ids(train_f, loss, negatives, settings.batch_size)
    val_ids = split_ids(val_f, loss, negatives, settings.batch_size)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    steps = len(_batches(len(train_f), settings.batch_size, np.arange(len(train_f))))
    advance = track("train", settings.epochs * steps) if track else None
    # The test split is complete: with missing data in validation, select on its complete rows
    # (when there are enough of them), which is what the test measures.
    val_rows = complete_rows(val_f)
    val_subset = val_rows if MIN_COMPLETE_VALIDATION <= len(val_rows) < len(val_f) else None
    best = (float("inf"), 0, _cpu_state(model))
    history = []
    # modules that draw random numbers while training (dropout in a fine-tuned text encoder)
    # draw them from the seed, inside a fork so the caller's generator is left as it was
    devices = [torch_dev.index or 0] if torch_dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), threads_for(model, torch_dev) as threads:
        torch.manual_seed(seed)
        for epoch in range(1, settings.epochs + 1):
            total, count = 0.0, 0
            for rows in _batches(len(train_f), settings.batch_size, rng.permutation(len(train_f))):
                value = _batch_loss(
                    model,
                    train_f,
                    rows,
                    loss,
                    negatives,
                    generator,
                    torch_dev,
                    precision,
                    train_ids,
                )
                optimizer.zero_grad()
                if scaler is None:
                    value.backward()
                    optimizer.step()
                else:
                    scaler.scale(value).backward()
                    scaler.step(optimizer)
                    scaler.update()
                total, count = total + value.item() * len(rows), count + len(rows)
                if advance:
                    advance(1)
            val = validation_loss(
                model,
                val_f,
                loss,
                negatives,
                settings.batch_size,
                val_subset,
                torch_dev,
                precision,
                val_ids,
            )
            history.append({"epoch": epoch, "train_loss": total / count, "val_loss": val})
            if report:
                report(epoch, total / count, val)
            if val < best[0]:
                best = (val, epoch, _cpu_state(model))
            elif settings.patience and epoch - best[1] >= settings.patience:
                break
    seconds = time.perf_counter() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(best[2], out_dir / WEIGHTS_FILE)
    info = {
        "format_version": FORMAT_VERSION,
        "name": name or (f"symile-{negatives}" if loss == "symile" else loss),
        "builder": builder,
        "recipe": recipe.name,
        "loss": loss,
        "negatives": negatives if loss == "symile" else None,
        "scoring": SCORING[loss],
        "seed": seed,
        "settings": asdict(settings),
        "feature_shapes": {m: list(s) for m, s in shapes.items()},
        "trained_on": {
            "dataset": str(dataset_dir),
            "config": train_f.split.config,
            "train_fingerprint": train_f.split.fingerprint,
            "validation_fingerprint": val_f.split.fingerprint,
            "train_rows": len(train_f),
            "complete_fraction": complete_fraction(train_f.split, modalities),
        },
        "validation_rows": "all" if val_subset is None else f"{len(val_subset)} complete",
        "best_epoch": best[1],
        "steps": len(history) * steps,
        "distinct_rows": train_ids is not None,
        "best_val_loss": best[0],
        "train_seconds": round(seconds, 2),
        "torch_threads": threads,
        "device": str(torch_dev),
        "mixed_precision": None if precision is None else str(precision).removeprefix("torch."),
        "history": history,
    }
    (out_dir / MODEL_FILE).write_text(json.dumps(info, indent=2) + "\n", "utf-8")
    return TrainResult(out_dir, best[1], best[0], history, seconds)
