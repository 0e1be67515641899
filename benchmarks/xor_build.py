"""XOR build throughput against its floor: drawing the same random numbers with numpy.

Run: python benchmarks/xor_build.py [--rows 10000000] [--workers 1]
Prints rows/s of a full build (generation, Arrow encoding, atomic shard writes, sha256,
manifest, card) and of the floor, and their ratio (target: at least 0.3).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from symile_bench.build import build, parse_config
from symile_bench.executors import make_executor
from symile_bench.registry import get_builder


def floor(rows: int, shard_rows: int, d: int) -> float:
    """Seconds to draw exactly the numbers the builder draws, shard by shard."""
    start = time.perf_counter()
    for begin in range(0, rows, shard_rows):
        n = min(shard_rows, rows - begin)
        rng = np.random.default_rng(begin)
        rng.integers(0, 2, size=(n, d), dtype=np.int8)
        rng.integers(0, 2, size=(n, d), dtype=np.int8)
        rng.random(n)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    builder = get_builder("xor")
    config = parse_config(builder, {"p": "0.5", "train_n": args.rows, "val_n": 0, "test_n": 0})
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        build(
            builder,
            config,
            Path(tmp) / "xor",
            executor=make_executor("processes", args.workers),
            quiet=True,
        )
        built = time.perf_counter() - start
    base = floor(args.rows, config.shard_rows, config.d)
    print(f"rows: {args.rows:,}  workers: {args.workers}  shard rows: {config.shard_rows:,}")
    print(f"full build   : {args.rows / built:14,.0f} rows/s  ({built:.2f} s)")
    print(f"numpy floor  : {args.rows / base:14,.0f} rows/s  ({base:.2f} s, one core)")
    print(f"ratio build/floor: {base / built:.2f}  (target >= 0.3)")


if __name__ == "__main__":
    main()
