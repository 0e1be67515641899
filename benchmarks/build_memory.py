"""Peak memory of an M3 build does not grow with its row count.

Builds M3 (--languages 5, 2 workers) at N and 10 x N train rows and prints the peak resident
memory of the whole process tree (parent + workers) for each, and their ratio (target: the
larger build within 1.5x of the smaller). Peak ~ parent + workers x (runtime + mapped pools
+ about 2 shards), with shard size = --shard-rows x mean row bytes (or --max-shard-bytes).

Run: python benchmarks/build_memory.py [--rows 20000] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from proctree import print_peak_ratio, run_or_exit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="N = 4,000")
    args = parser.parse_args()
    small = 4_000 if args.quick else args.rows
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (small, 10 * small):
            cmd = [
                sys.executable,
                "-m",
                "symile_bench",
                "build",
                "m3",
                "--languages",
                "5",
                "--train-n",
                str(n),
                "--val-n",
                "0",
                "--test-n",
                "0",
                "--workers",
                "2",
                "-q",
                "--out",
                str(Path(tmp) / f"m3-{n}"),
            ]
            seconds, peak = run_or_exit(cmd, f"build of {n} rows")
            peaks[n] = peak
            print(
                f"M3 build, {n:>9,} train rows: {seconds:6.1f} s, peak RSS of the process "
                f"tree {peak / 2**20:7.0f} MiB"
            )
    print_peak_ratio(peaks)


if __name__ == "__main__":
    main()
