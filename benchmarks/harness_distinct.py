"""Encoding each distinct medium once (#17 point 4): items encoded and time of `evaluate` on
an M3 test split of N rows, built pooled and inline, side by side.

Builds `m3 --train-n 0 --val-n 0 --test-n N` with `--storage pooled` and `--storage inline`
(or reuses `--dirs POOLED INLINE`), then scores each with `content_hash`
(symile_bench.harness.examples), a model that decodes every image and clip it gets and hashes
the pixels and samples, so an item costs what decoding it costs. Runs, in one process: the
pooled and the inline build with each medium encoded once (the default); with `--every-row`
also the inline build with every row encoded (`--no-distinct`, what the harness did before),
else that run's encode time is estimated from the measured per-item times (items x seconds
per item, per modality). Prints per run the items and calls `encode` got, the CPU seconds
spent inside `encode` and the CPU and wall seconds of the whole evaluation (scoring
included), whether the runs gave the same results rows and predictions, and the ratios. CPU
seconds are the figures to compare on a shared machine. A first, untimed run (the pooled
build, one candidate per class) warms up imports and the compiled ranking kernels.

Each distinct candidate scored once (#25 point 5): the pooled build is also scored with every
candidate row ranked (``EvalOptions(distinct=False)``, what the harness did before), and the
ratio of the evaluation's CPU seconds is printed.

Run: python benchmarks/harness_distinct.py [--rows 100000] [--dirs POOLED INLINE] [--every-row]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symile_bench.harness.encoders import ModelEncoder
from symile_bench.harness.evaluate import EvalOptions, evaluate
from symile_bench.harness.examples import ContentHash
from symile_bench.harness.results import Results

MEDIA = ("audio", "image")


class Timed(ContentHash):
    """`content_hash`, also adding up the CPU seconds spent inside `encode`, per modality."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: dict[str, float] = dict.fromkeys(("audio", "image", "text"), 0.0)

    def encode(self, modality: str, batch: Any, *, missing: Any = None) -> Any:
        start = time.process_time()
        try:
            return super().encode(modality, batch, missing=missing)
        finally:
            self.seconds[modality] += time.process_time() - start


def build(out: Path, storage: str, rows: int) -> None:
    cmd = [sys.executable, "-m", "symile_bench", "build", "m3", "--train-n", "0", "--val-n"]
    cmd += ["0", "--test-n", str(rows), "--storage", storage, "-q", "--out", str(out)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
    print(f"build --storage {storage:<6}: {seconds:7.1f} s, {size:,.0f} MiB on disk")


@dataclass
class Run:
    results: Results
    model: Timed
    cpu: float
    wall: float

    def line(self, name: str) -> str:
        items = ", ".join(f"{m} {self.model.items[m]:,}" for m in ("audio", "image", "text"))
        return (
            f"{name:<26}: items {items}; calls {sum(self.model.calls.values()):,}; encode "
            f"{sum(self.model.seconds.values()):7.1f} s CPU; evaluate {self.cpu:7.1f} s CPU, "
            f"{self.wall:7.1f} s wall"
        )


def score(
    path: Path, distinct: bool, candidates: str | None = None, *, each_candidate: bool = False
) -> Run:
    """``each_candidate``: score every candidate row (as before #25), not each distinct one."""
    model = Timed()
    encoder = ModelEncoder(model, "content-hash", distinct=distinct)
    options = EvalOptions(
        resamples=200, batch_size=256, candidates=candidates, distinct=not each_candidate
    )
    cpu, wall = time.process_time(), time.perf_counter()
    res = evaluate(path, encoder, options)
    return Run(res, model, time.process_time() - cpu, time.perf_counter() - wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dirs", type=Path, nargs=2, metavar=("POOLED", "INLINE"))
    parser.add_argument("--every-row", action="store_true", help="measure it, do not estimate")
    parser.add_argument("--quick", action="store_true", help="N = 10,000")
    args = parser.parse_args()
    rows = 10_000 if args.quick else args.rows
    with tempfile.TemporaryDirectory() as tmp:
        if args.dirs:
            dirs = dict(zip(("pooled", "inline"), args.dirs, strict=True))
        else:
            dirs = {s: Path(tmp) / s for s in ("pooled", "inline")}
            for storage, out in dirs.items():
                build(out, storage, rows)
        score(dirs["pooled"], True, candidates="per-class")  # warm-up
        plan = {
            "pooled, each medium once": (dirs["pooled"], True, False),
            "pooled, every candidate": (dirs["pooled"], True, True),
            "inline, each medium once": (dirs["inline"], True, False),
        }
        if args.every_row:
            plan["inline, every row"] = (dirs["inline"], False, True)
        runs: dict[str, Run] = {}
        for name, (path, distinct, each_candidate) in plan.items():
            runs[name] = score(path, distinct, each_candidate=each_candidate)
            print(runs[name].line(name), flush=True)
    pooled, inline = runs["pooled, each medium once"], runs["inline, each medium once"]
    every_candidate = runs["pooled, every candidate"]
    ref = pooled.results
    same = all(
        r.results.rows == ref.rows and r.results.predictions == ref.predictions
        for r in runs.values()
    )
    n = len(pooled.results.predictions[0].query_ids)
    print(f"test rows: {n:,}; results rows and predictions identical across runs: {same}")
    print(
        f"inline / pooled, each medium once: evaluate {inline.cpu / pooled.cpu:.2f}x CPU, "
        f"{inline.wall / pooled.wall:.2f}x wall"
    )
    print(
        f"pooled, every candidate / each distinct candidate (#25 point 5, target >= 10x): "
        f"evaluate {every_candidate.cpu / pooled.cpu:.1f}x CPU, "
        f"{every_candidate.wall / pooled.wall:.1f}x wall"
    )
    once = sum(pooled.model.items[m] for m in MEDIA)
    if args.every_row:
        every = runs["inline, every row"]
        seconds, how = sum(every.model.seconds[m] for m in MEDIA), "measured"
    else:  # every row of each medium at this run's CPU seconds per item
        seconds = sum(n * pooled.model.seconds[m] / pooled.model.items[m] for m in MEDIA)
        how = "estimated from the per-item times above"
    print(
        f"every row / each medium once, audio + image: items {2 * n:,} / {once:,} = "
        f"{2 * n / once:.1f}x; encode {seconds:,.0f} s / "
        f"{sum(pooled.model.seconds[m] for m in MEDIA):,.1f} s CPU = "
        f"{seconds / sum(pooled.model.seconds[m] for m in MEDIA):.1f}x ({how})"
    )


if __name__ == "__main__":
    main()
