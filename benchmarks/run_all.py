"""Run every benchmark script and write benchmarks/RESULTS.md: the machine, the date, and each
script's figures and ratios exactly as it printed them.

Run: python benchmarks/run_all.py [--quick]   (--quick: smaller sizes, a few minutes)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent

#: script -> (full-size arguments, quick arguments)
SCRIPTS: dict[str, tuple[list[str], list[str]]] = {
    "xor_build.py": ([], ["--rows", "2000000"]),
    "m3_build.py": ([], ["--rows", "200000"]),
    "harness_scoring.py": ([], ["--quick"]),
    "harness_distinct.py": ([], ["--quick"]),
    "mimic_cohort.py": (["--sizes", "3000,20000", "--lab-rows", "100000000"], ["--sizes", "3000"]),
    "build_memory.py": ([], ["--quick"]),
    "kill_resume.py": ([], ["--quick"]),
    "small_timings.py": ([], ["--repeat", "1"]),
    "train_speed.py": ([], ["--epochs", "10", "--repeat", "1"]),
    "reliability.py": ([], []),
    "reliability_leaderboard.py": ([], []),
    "leaderboard_latency.py": ([], ["--test-n", "30000"]),
    "release_m3_memory.py": ([], ["--rows", "500"]),
    "import_release.py": ([], ["--quick"]),
    "mimic_release_checkpoint.py": ([], ["--quick"]),
    "m3_scale.py": ([], ["--size", "tiny", "--storage", "pooled", "--marginal-rows", "10000"]),
    "m3_media.py": ([], ["--pairs", "2", "--images-per-class", "10"]),
    "m3_reproduce.py": ([], ["--rows", "4000", "--repeat", "1"]),
}


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    return (
        f"{cpu}; {len(os.sched_getaffinity(0))} cores available; {mem / 2**20:.0f} GiB "
        f"RAM; Python {platform.python_version()}; {platform.system()} "
        f"{platform.release()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python benchmarks/run_all.py{' --quick' if args.quick else ''}` on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC ({mode} sizes).",
        "",
        f"Machine: {machine()}.",
        "",
        "Each section is one script's own output: its figures, and its ratios measured side "
        "by side in the same run. Targets are printed next to each ratio.",
    ]
    failures = 0
    for script, (full, quick) in SCRIPTS.items():
        cmd = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        print(f"running {script} ...", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        failures += proc.returncode != 0
        shown = " ".join(["python", f"benchmarks/{script}", *cmd[2:]])
        lines += [
            "",
            f"## {script}",
            "",
            f"`{shown}` — {seconds:.0f} s, exit {proc.returncode}",
            "",
            "```",
            proc.stdout.rstrip() or "(no output)",
            "```",
        ]
        if proc.returncode != 0:
            lines += ["", "stderr (tail):", "", "```", proc.stderr.rstrip()[-2000:], "```"]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
