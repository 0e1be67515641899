"""How long `symile-bench` takes to answer `--help`, `build --help` and `list`, beside the
floor `python -c pass` (the interpreter alone), measured alternately in one run, and which
heavy libraries each command imports (none of torch, datasets, pyarrow, pandas or numba).

The console script's own process is timed (a fresh interpreter each time, as a user's shell
starts it), best of --repeat.

Run: python benchmarks/cli_startup.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

COMMANDS = (["--help"], ["build", "--help"], ["list"])
HEAVY = ("torch", "datasets", "pyarrow", "pandas", "numba")
#: runs the CLI as the console script does, then prints which heavy modules it imported
PROBE = (
    "import sys\n"
    "from symile_bench.cli import main\n"
    "sys.argv = ['symile-bench', *sys.argv[1:]]\n"
    "try:\n"
    "    main()\n"
    "except SystemExit:\n"
    "    pass\n"
    f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules) or '-', file=sys.stderr)\n"
)


def seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "COLUMNS": "100"}
    floor = [sys.executable, "-c", "pass"]
    best = {"floor": float("inf"), **{" ".join(c): float("inf") for c in COMMANDS}}
    for _ in range(args.repeat):  # alternate, so a busy moment hits every command alike
        best["floor"] = min(best["floor"], seconds(floor))
        for command in COMMANDS:
            argv = [sys.executable, "-m", "symile_bench", *command]
            best[" ".join(command)] = min(best[" ".join(command)], seconds(argv))
    print(f"python -c pass (floor): {best['floor']:.3f} s  (best of {args.repeat})")
    for command in COMMANDS:
        name = " ".join(command)
        probe = subprocess.run(
            [sys.executable, "-c", PROBE, *command], capture_output=True, text=True, env=env
        )
        heavy = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "?"
        extra = best[name] - best["floor"]
        print(
            f"symile-bench {name:<13}: {best[name]:.3f} s = floor + {extra:.3f} s; "
            f"heavy modules imported: {heavy}"
        )


if __name__ == "__main__":
    main()
