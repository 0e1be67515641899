"""Peak memory of a Symile-M3 release import (`hf-m3`) does not grow with the release's rows.

Writes a release-shaped Hub tree (`symile-m3-2-xs/<split>-NNNNN-of-MMMMM.parquet` with the
Hub's features, media cells of realistic size: ~8 kB clips, ~24 kB images, parts of 1,000
rows) at N and 10 x N train rows, imports each with 2 workers and prints the peak resident
memory of the whole process tree, and their ratio (target: the larger within 1.5x).

Run: python benchmarks/release_m3_memory.py [--rows 2000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from proctree import run_with_peak_rss

from builders.m3.build.release.schema import release_schema
from symile_bench.media_struct import media_array

PART_ROWS = 1_000


def _part(rng: np.random.Generator, n: int) -> pa.Table:
    langs = rng.choice(["en", "el"], n)
    classes = rng.integers(0, 1000, n)
    audio = [rng.bytes(8_000) for _ in range(n)]
    image = [rng.bytes(24_000) for _ in range(n)]
    words = [f"w{c}" for c in classes]
    return pa.table(
        {
            "lang": pa.array(langs),
            "audio": media_array(audio, [f"clip{i}.mp3" for i in range(n)]),
            "image": media_array(image, [f"img{i}.JPEG" for i in range(n)]),
            "text": pa.array([f"{w}_other" for w in words]),
            "cls": pa.array(words),
            "cls_id": pa.array(classes, pa.int64()),
            "target_text": pa.array(words),
        },
        schema=release_schema(),
    )


def write_release(root: Path, train_rows: int) -> None:
    rng = np.random.default_rng(0)
    folder = root / "symile-m3-2-xs"
    folder.mkdir(parents=True)
    for split, n in (("train", train_rows), ("val", PART_ROWS), ("test", PART_ROWS)):
        parts = -(-n // PART_ROWS)
        for i in range(parts):
            rows = min(PART_ROWS, n - i * PART_ROWS)
            pq.write_table(_part(rng, rows), folder / f"{split}-{i:05d}-of-{parts:05d}.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000)
    args = parser.parse_args()
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.rows, 10 * args.rows):
            repo = Path(tmp) / f"repo-{n}"
            write_release(repo, n)
            out = Path(tmp) / f"imported-{n}"
            cmd = [sys.executable, "-m", "symile_bench", "build", "hf-m3", "--repo-dir",
                   str(repo), "--workers", "2", "-q", "--out", str(out)]  # fmt: skip
            code, seconds, peak = run_with_peak_rss(cmd)
            if code != 0:
                raise SystemExit(f"import of {n} rows failed ({code})")
            peaks[n] = peak
            print(
                f"hf-m3 import, {n:>7,} train rows: {seconds:6.1f} s, peak RSS of the process "
                f"tree {peak / 2**20:7.0f} MiB"
            )
    ratio = peaks[10 * args.rows] / peaks[args.rows]
    print(
        f"peak RSS ratio ({10 * args.rows:,} / {args.rows:,} rows): {ratio:.2f}x (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
