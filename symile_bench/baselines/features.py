"""Featurise a whole split once (per modality, through the recipe) and cache the arrays as
``.npy`` keyed by the split's fingerprint and the recipe's feature key, so training both
objectives, or rerunning, never decodes media twice."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symile_bench.baselines.recipes import Recipe, Settings
from symile_bench.harness.batch import ModalityBatch
from symile_bench.harness.distinct import distinct_rows
from symile_bench.harness.splitdata import SplitData, open_split
from symile_bench.harness.tasks import declared_task
from symile_bench.manifest import Manifest
from symile_bench.tasks import ModalitySpec

CHUNK_ROWS = 512
Advance = Callable[[int], None]


@dataclass
class SplitFeatures:
    split: SplitData
    features: dict[str, np.ndarray]
    missing: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.split)


def modalities_of(manifest: Manifest) -> tuple[ModalitySpec, ...]:
    """The declared task's modalities, in its order (the order of the loss's list)."""
    return declared_task(manifest).modalities


def _featurize_positions(
    recipe: Recipe,
    modality: ModalitySpec,
    split: SplitData,
    settings: Settings,
    positions: np.ndarray,
    advance: Advance | None,
    weights: np.ndarray | None = None,
) -> np.ndarray | None:
    """Features of the split rows at ``positions`` (None when there are none), in chunks;
    ``weights``: how many rows each position stands for (what ``advance`` counts)."""
    wanted = [*modality.columns, *(c for c in modality.meta if split.has(c))]
    parts = []
    for start in range(0, len(positions), CHUNK_ROWS):
        rows = positions[start : start + CHUNK_ROWS]
        table = split.take(wanted, rows)  # pooled: joined
        batch = ModalityBatch.from_rows(
            modality.name, table, split.features, modality.columns, modality.meta, rows, split
        )
        parts.append(np.asarray(recipe.featurize(modality.name, batch, settings), np.float32))
        if advance is not None:
            advance(len(rows) if weights is None else int(weights[start : start + len(rows)].sum()))
    return np.concatenate(parts) if parts else None


def featurize_rows(
    recipe: Recipe,
    modality: ModalitySpec,
    split: SplitData,
    settings: Settings,
    advance: Advance | None = None,
) -> np.ndarray:
    """Every row's features. Where the modality names each distinct medium
    (``id_column``: M3 draws its media from pools, so 120K rows show a few thousand), each
    medium is read and featurised once and copied to its rows, as the harness encodes it
    (``harness.distinct``): the same array as featurising every row, for a recipe whose
    features of an item do not depend on the other items of its batch."""
    split.require(*modality.columns)
    groups = distinct_rows(split, modality, split.row_index)
    if groups is None:
        every = _featurize_positions(recipe, modality, split, settings, split.row_index, advance)
        return every if every is not None else np.zeros((0,), np.float32)
    weights = groups.rows_per_item()
    items = _featurize_positions(
        recipe, modality, split, settings, split.row_index[groups.items], advance, weights
    )
    rest = _featurize_positions(
        recipe, modality, split, settings, split.row_index[groups.rest], advance
    )
    present = [p for p in (items, rest) if p is not None]
    if not present:
        return np.zeros((0,), np.float32)
    out = np.empty((groups.rows, *present[0].shape[1:]), np.float32)
    if items is not None:
        out[groups.shared] = items[groups.codes]
    if rest is not None:
        out[groups.rest] = rest
    return out


def _save_npy(path: Path, array: np.ndarray) -> None:
    """Write beside, then rename: a killed run never leaves a truncated cache file. The temp
    name is per process: `reproduce` trains both objectives at once on one cache, and with a
    shared temp name the second rename found the file already moved (FileNotFoundError)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        np.save(handle, array)
    tmp.replace(path)


def split_features(
    dataset_dir: Path,
    config: str | None,
    split_name: str,
    recipe: Recipe,
    settings: Settings,
    cache_dir: Path | None,
    track: Callable[[str, int], Advance] | None = None,
) -> SplitFeatures:
    """Features and missing masks of every modality of one split (cached in ``cache_dir``)."""
    split = open_split(dataset_dir, config, split_name)
    features, missing = {}, {}
    for modality in modalities_of(split.manifest):
        key = recipe.feature_key(modality.name, settings)
        path = (
            cache_dir / f"{split.fingerprint[:20]}-{modality.name}-{key}.npy"
            if cache_dir is not None
            else None
        )
        if path is not None and path.is_file():
            features[modality.name] = np.load(path)
        else:
            advance = track(f"features {split_name}/{modality.name}", len(split)) if track else None
            features[modality.name] = featurize_rows(recipe, modality, split, settings, advance)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                _save_npy(path, features[modality.name])
        missing[modality.name] = split.mask(modality.missing_column)
    return SplitFeatures(split, features, missing)
