"""Peak memory of `import symile-mimic` does not grow with the release's row count.

Writes a synthetic tree in the exact PhysioNet Symile-MIMIC 1.0.0 layout (real per-row shapes:
CXR 3 x 320 x 320 float32 = 1.2 MB a row, ECG 1 x 5000 x 12 float32) with N and 10 x N train
rows (validation and test: 10 queries x 10 candidates each), imports each with 2 workers, and
prints rows, wall time and the peak resident memory of the whole process tree (parent + workers)
side by side, and their ratio (target: the larger import within 1.5x of the smaller). The real
`cxr_train.npy` is 12 GB: the importer memory-maps every array and reads a few rows at a time.

Run: python benchmarks/import_release.py [--rows 200] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from proctree import print_peak_ratio, run_or_exit

from builders.mimic.build.release.synthetic import write_synthetic_release


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200, help="train rows of the smaller tree")
    parser.add_argument("--quick", action="store_true", help="N = 50")
    args = parser.parse_args()
    small = 50 if args.quick else args.rows
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (small, 10 * small):
            release = Path(tmp) / f"release-{n}"
            start = time.perf_counter()
            write_synthetic_release(release, train=n, val=10, test=10)
            written = time.perf_counter() - start
            size = sum(p.stat().st_size for p in release.rglob("*") if p.is_file())
            out = Path(tmp) / f"import-{n}"
            cmd = [sys.executable, "-m", "symile_bench", "import", "symile-mimic", str(release)]
            cmd += ["--out", str(out), "--workers", "2"]
            seconds, peak = run_or_exit(cmd, f"import of {n} rows")
            peaks[n] = peak
            print(
                f"release with {n:>6,} train rows ({size / 2**30:5.2f} GiB, written in "
                f"{written:5.1f} s): import {seconds:6.1f} s ({n / seconds:5.0f} train rows/s), "
                f"peak RSS of the process tree {peak / 2**20:6.0f} MiB"
            )
    print_peak_ratio(peaks)


if __name__ == "__main__":
    main()
