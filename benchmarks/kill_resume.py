"""Crash safety under repeated SIGKILLs: kill a multi-shard M3 build at random moments, rerun
after each kill, and compare the final fingerprint with an uninterrupted build. Only the
parent `symile-bench build` process is killed (as an OOM killer or `kill -9 PID` would), and
the workers it leaves are counted ORPHAN_WAIT seconds later: they must have exited by then.

Run: python benchmarks/kill_resume.py [--kills 20] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ARGS = [
    "build",
    "m3",
    "--languages",
    "2",
    "--train-n",
    "3000",
    "--val-n",
    "300",
    "--test-n",
    "600",
    "--audio-pool",
    "60",
    "--image-pool",
    "2",
    "--image-size",
    "64",
    "--shard-rows",
    "150",
    "--workers",
    "2",
    "-q",
]


ORPHAN_WAIT = 3.0


def session_processes(session: int) -> list[int]:
    """Live processes of the build's session (it was started with start_new_session), zombies
    excluded."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def fingerprint(out: Path) -> str:
    return json.loads((out / "manifest.json").read_text())["fingerprint"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="5 kills")
    args = parser.parse_args()
    kills = 5 if args.quick else args.kills
    rng = np.random.default_rng(args.seed)
    cli = [sys.executable, "-m", "symile_bench", *ARGS]
    with tempfile.TemporaryDirectory() as tmp:
        killed, clean = Path(tmp) / "killed", Path(tmp) / "clean"
        start = time.perf_counter()
        subprocess.run([*cli, "--out", str(clean)], check=True)
        full = time.perf_counter() - start
        landed = completed = orphans = 0
        while landed < kills:
            proc = subprocess.Popen([*cli, "--out", str(killed)], start_new_session=True)
            time.sleep(float(rng.uniform(0.3, full)))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                landed += 1
                proc.wait()
                time.sleep(ORPHAN_WAIT)
                alive = session_processes(proc.pid)
                orphans += len(alive)
                for pid in alive:  # do not let one failure spoil the next rounds
                    os.kill(pid, signal.SIGKILL)
                continue
            # the rerun finished before this kill: check it, then start a fresh build so the
            # next kills land mid-build again
            if proc.wait() != 0 or fingerprint(killed) != fingerprint(clean):
                raise SystemExit("a resumed build finished with a different fingerprint")
            completed += 1
            shutil.rmtree(killed)
        subprocess.run([*cli, "--out", str(killed)], check=True)
        same = fingerprint(killed) == fingerprint(clean)
        leftovers = list(killed.rglob(".tmp-*"))
    print(f"uninterrupted build: {full:.1f} s")
    print(
        f"SIGKILLs at random moments, each landing mid-build and followed by a rerun: {landed}"
        f" ({completed} resumed builds finished between kills, each with the same fingerprint"
        " as the uninterrupted build, and were restarted from scratch)"
    )
    print(
        f"final fingerprint equals the uninterrupted build's: {same}; temp files left: "
        f"{len(leftovers)}; workers still alive {ORPHAN_WAIT:g} s after their parent's "
        f"SIGKILL, over all kills: {orphans}"
    )
    if not same or leftovers or orphans:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
