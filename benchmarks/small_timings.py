"""Timing targets of two small pieces, measured side by side with a floor in one run (they
used to be wall-clock assertions inside unit tests, which made the tests flaky on a loaded
machine and proved nothing about behaviour).

- `xor_info_grid(5, p grid)`: the exact XOR information terms for the whole 11-value grid;
  target under 1 s. Floor: one pass over the 2^15 joint outcomes of (a, b, c) at d = 5.
- `draw_candidates(1_000_000, 10)`: Symile-MIMIC's retrieval sets (each query plus 9
  distinct others); target under 10 s. Floor: drawing the same 10M integers with numpy.

Run: python benchmarks/small_timings.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from builders.mimic.build.splits import draw_candidates
from builders.xor.build.info import xor_info_grid

GRID = [round(0.1 * k, 1) for k in range(11)]


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    joint = np.arange(2**15)
    info = best_of(args.repeat, lambda: xor_info_grid(5, GRID))
    floor = best_of(args.repeat, lambda: np.bincount(joint % 97, minlength=97))
    print(
        f"xor_info_grid(d=5, 11 p values): {info:.3f} s (target < 1 s: "
        f"{'met' if info < 1 else 'MISSED'}); floor {floor * 1e3:.2f} ms; ratio {info / floor:.0f}x"
    )

    def draw() -> np.ndarray:
        return draw_candidates(1_000_000, 10, np.random.default_rng(2))

    def numpy_floor() -> np.ndarray:
        return np.random.default_rng(2).integers(0, 1_000_000, size=(1_000_000, 10))

    sets = best_of(args.repeat, draw)
    floor = best_of(args.repeat, numpy_floor)
    print(
        f"draw_candidates(1,000,000 queries, 10): {sets:.2f} s (target < 10 s: "
        f"{'met' if sets < 10 else 'MISSED'}); numpy floor {floor:.2f} s; "
        f"ratio {sets / floor:.1f}x"
    )


if __name__ == "__main__":
    main()
