"""Wall time of scoring the released Symile-MIMIC checkpoint on the full test split.

Writes a synthetic tree in the exact PhysioNet Symile-MIMIC 1.0.0 layout with the release's 464
test queries x 10 candidates (4,640 rows, 5.7 GB of CXR arrays; `build/release/synthetic.py`),
imports it, writes a random-weight checkpoint in the release's exact layout at d = 8192 with a
full AdamW state (~770 MB, like the real file; `tests/fixtures_release_ckpt.py`), then times

    symile-bench evaluate DIR --model symile-mimic-release --model-arg path=CKPT -o r.json -q

as a user runs it (loading the checkpoint, encoding 464 ECGs, 464 lab vectors and 464 CXRs once
each, scoring 464 x 10 candidates, 1,000 bootstrap resamples), and the checkpoint load alone.

Run: python benchmarks/mimic_release_checkpoint.py [--queries 464] [--d 8192] [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))  # tests/: the release-layout ckpt writer
from proctree import run_or_exit

from builders.mimic.build.release.synthetic import write_synthetic_release
from tests.fixtures_release_ckpt import write_release_checkpoint

LOAD = (
    "from symile_bench.harness.models import load_model; "
    "load_model('symile-mimic-release', {{'path': {path!r}}})"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=464, help="test queries (release: 464)")
    parser.add_argument("--d", type=int, default=8192, help="embedding size (release: 8192)")
    parser.add_argument("--quick", action="store_true", help="20 queries, d = 512")
    args = parser.parse_args()
    queries, d = (20, 512) if args.quick else (args.queries, args.d)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        write_synthetic_release(root / "release", train=10, val=10, test=queries)
        imported = [sys.executable, "-m", "symile_bench", "import", "symile-mimic"]
        imported += [str(root / "release"), "--out", str(root / "imported"), "--workers", "2"]
        run_or_exit([*imported, "-q"], "import")
        prepared = time.perf_counter() - start
        ckpt = write_release_checkpoint(root / "symile_mimic_model.ckpt", d, full_optimizer=True)
        size = ckpt.stat().st_size
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", LOAD.format(path=str(ckpt))], check=True)
        load = time.perf_counter() - start
        cmd = [sys.executable, "-m", "symile_bench", "evaluate", str(root / "imported")]
        cmd += ["--model", "symile-mimic-release", "--model-arg", f"path={ckpt}"]
        cmd += ["-o", str(root / "r.json"), "-q"]
        seconds, peak = run_or_exit(cmd, "evaluate")
    print(
        f"release tree with {queries} test queries x 10 candidates written and imported in "
        f"{prepared:.0f} s; checkpoint d = {d:,} ({size / 2**20:,.0f} MiB with its AdamW state)"
    )
    print(f"checkpoint load (process start, checks, weights) {load:6.1f} s")
    print(
        f"evaluate, {queries} queries x 10 candidates: {seconds:6.1f} s wall "
        f"({seconds / queries:.2f} s per admission), peak RSS of the process tree "
        f"{peak / 2**20:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
