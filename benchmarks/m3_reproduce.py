"""Featurising an M3 split for `reproduce m3`: every row read and featurised (before) against
each distinct clip and image featurised once and copied to its rows (after, `featurize_rows`
grouping by the modality's ``id_column``), timed alternately in one run on one dataset.

"before" is the same function with the id column taken off the modality (what it did for
every modality until now), so both paths run the same featuriser; each repeat starts with an
empty per-process decode memo, as a fresh training process does. Both arrays must be
byte-identical. Prints wall and CPU seconds per path and split, rows/s, and the ratio of CPU
seconds (median of pairs; the wall clock of a shared machine measures its load as well).
The dataset is an `m3` build (`--data`, e.g. a `reproduce m3 --quick` run's OUT/data/w2),
or one built here with `--rows` train rows and `reproduce m3`'s storage.

Run: python benchmarks/m3_reproduce.py [--data DIR | --rows 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from builders.m3.models import features as m3_features
from symile_bench.baselines.features import featurize_rows, modalities_of
from symile_bench.baselines.recipes import recipe_for, settings_for
from symile_bench.harness.splitdata import open_split
from symile_bench.tasks import ModalitySpec

Job = Callable[[], np.ndarray]


def _timed(job: Job) -> tuple[float, float, np.ndarray]:
    m3_features._memo.clear()  # a fresh training process decodes every medium again
    wall, cpu = time.perf_counter(), time.process_time()
    out = job()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def _build(out: Path, rows: int) -> Path:
    from builders.m3.models.reproduce import STORAGE
    from symile_bench.baselines.reproduce import build_dataset

    options = {"languages": "en,el", "missing_prob": "0.5", "train_n": rows, "storage": STORAGE}
    options |= {"val_n": 500, "test_n": 500}
    return build_dataset("m3", options, out, seed=0, workers=None, quiet=True)


def measure(data: Path, config: str, repeat: int) -> list[float]:
    """Print one line per modality with a medium; return the after/before CPU ratios."""
    split = open_split(data, config, "train")
    recipe = recipe_for(split.manifest.builder, modalities_of(split.manifest))
    settings = settings_for(recipe, {})
    ratios = []
    for modality in modalities_of(split.manifest):
        if modality.id_column is None:
            continue
        every: ModalitySpec = modality.model_copy(update={"id_column": None})
        jobs: dict[str, Job] = {
            "before": partial(featurize_rows, recipe, every, split, settings),
            "after": partial(featurize_rows, recipe, modality, split, settings),
        }
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in jobs}
        arrays = {}
        for _ in range(repeat):
            for name, job in jobs.items():  # alternating: both see the same machine load
                wall, cpu, arrays[name] = _timed(job)
                times[name].append((wall, cpu))
        assert arrays["before"].tobytes() == arrays["after"].tobytes(), modality.name
        # CPU seconds: on a shared machine the wall clock measures the neighbours' load too
        pairs = [a[1] / b[1] for a, b in zip(times["after"], times["before"], strict=True)]
        ratios.append(statistics.median(pairs))
        n = len(split)
        line = [f"{config:>11} {modality.name:>5} {n:,} rows:"]
        for name, t in times.items():
            wall = statistics.median(w for w, _ in t)
            cpu = statistics.median(c for _, c in t)
            line.append(f"{name} {wall:6.2f} s wall {cpu:6.2f} s CPU ({n / wall:9,.0f} rows/s)")
        print("  ".join(line) + f"  after/before (CPU) {ratios[-1]:.3f}x  identical")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, help="an m3 build (with a missing0.5 config)")
    parser.add_argument("--rows", type=int, default=20_000, help="train rows to build")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or _build(Path(tmp) / "w2", args.rows)
        print(f"dataset: {data}")
        ratios = [r for c in ("complete", "missing0.5") for r in measure(data, c, args.repeat)]
    worst = max(ratios)
    print(f"worst after/before (CPU): {worst:.3f}x (target <= 1.05: never slower beyond noise)")
    sys.exit(0 if worst <= 1.05 else 1)


if __name__ == "__main__":
    main()
