"""Symile-M3 at the paper's size on this machine: pooled storage against the inline estimate.

1. `build m3 --languages 10 --size l` (11M rows; storage auto = pooled at this size): wall
   time, bytes on disk, peak resident memory of the whole process tree (parent + workers),
   and the inline build's size estimated from the same pools (each row would carry its own
   image and clip: mean pooled medium bytes x rows). Targets: < 15 min, < 15 GB, < 2 GB.
2. Cost per extra million rows once the pools exist: two pooled builds with the same fixed
   pools (`--image-pool 10 --audio-pool 100`) at N and N + 1M train rows; the difference in
   wall time and bytes is what a million more rows cost.
3. The build of 1. with `--executor ray` on a local two-node Ray cluster (a head and a worker
   started with `ray start`, one CPU each, separate temp dirs): every file byte-identical.

Run: python benchmarks/m3_scale.py [--size l] [--languages 10] [--skip-ray] [--keep DIR]
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from proctree import run_or_exit

GIB = 2**30
PR_SET_CHILD_SUBREAPER = 36


def build_cmd(out: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "symile_bench", "build", "m3", "-q", "--out", str(out), *options]


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def inline_estimate(out: Path) -> tuple[int, float]:
    """(bytes, mean media bytes per row) an inline build of the same rows would hold: every
    row carries one image and one clip, of the pools' mean sizes, beside its own columns."""
    manifest = json.loads((out / "manifest.json").read_text())
    pools = manifest["pools"]
    mean = sum(sum(f["bytes"] for f in p["files"]) / p["rows"] for p in pools.values())
    rows = sum(r["rows"] for v in manifest["variants"].values() for r in v["splits"].values())
    row_bytes = disk_bytes(out / "data")
    return int(row_bytes + mean * rows), mean


def file_hashes(out: Path) -> dict[str, str]:
    return {
        str(f.relative_to(out)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(out.rglob("*"))
        if f.is_file()
    }


def adopt_orphans() -> None:
    """Make this process the reaper of its descendants' orphans (Linux): a build worker's
    espeak-ng helper outlives it by a moment, and its CPU time only counts once reaped."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_orphans(grace: float = 10.0) -> None:
    """Wait (at most `grace` seconds) for adopted orphans to exit, reaping each."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.1)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def full_build(out: Path, options: list[str]) -> float:
    cpu = children_cpu()
    seconds, peak = run_or_exit(build_cmd(out, *options), "the full build")
    reap_orphans()
    cpu = children_cpu() - cpu
    size = disk_bytes(out)
    inline, mean = inline_estimate(out)
    print(f"full build `build m3 {' '.join(options)}`, 2 workers:")
    print(f"  wall time     : {seconds / 60:6.1f} min   (target < 15 min)")
    print(f"  CPU time      : {cpu / 60:6.1f} min   (user + system, build and workers)")
    print(f"  bytes on disk : {size / GIB:6.2f} GiB   (target < 15 GB)")
    print(f"  peak RSS      : {peak / GIB:6.2f} GiB   (process tree; target < 2 GB)")
    print(
        f"  inline estimate: {inline / GIB:6.1f} GiB ({mean / 1e3:.1f} kB of media a row); "
        f"pooled / inline = {size / inline:.3f}"
    )
    return seconds


def marginal(tmp: Path, languages: str, rows: int) -> None:
    fixed = ["--languages", languages, "--storage", "pooled", "--image-pool", "10"]
    fixed += ["--audio-pool", "100", "--val-n", "0", "--test-n", "0"]
    results = {}
    for n in (rows, rows + 1_000_000):
        out = tmp / f"marginal-{n}"
        seconds, _ = run_or_exit(build_cmd(out, *fixed, "--train-n", str(n)), f"{n} rows")
        results[n] = (seconds, disk_bytes(out))
        shutil.rmtree(out)
    (s0, b0), (s1, b1) = results[rows], results[rows + 1_000_000]
    print(f"cost per extra million rows (pools fixed; {rows:,} vs {rows + 1_000_000:,} rows):")
    print(f"  {s1 - s0:5.1f} s and {(b1 - b0) / 2**20:6.1f} MiB per million rows")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ray_build(tmp: Path, reference: Path, options: list[str], local_seconds: float) -> None:
    """The same build on a two-node local Ray cluster; compared file by file. The cluster
    uses token authentication with a fresh token (Ray 2.5x requires one when a token file
    exists in ~/.ray), passed to every node and to the build through the environment."""
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    port = free_port()
    head = ["ray", "start", "--head", "--port", str(port), "--num-cpus", "1"]
    head += [
        "--temp-dir",
        str(tmp / "ray-head"),
        "--include-dashboard=false",
        "--disable-usage-stats",
    ]
    worker = ["ray", "start", "--address", f"127.0.0.1:{port}", "--num-cpus", "1"]
    # a worker node inherits the head's session dir; its own logs go under its own temp dir
    worker += ["--temp-dir", str(tmp / "ray-worker"), "--disable-usage-stats"]
    try:
        subprocess.run(head, check=True, capture_output=True)
        subprocess.run(worker, check=True, capture_output=True)
        nodes = _active_nodes(port)
        print(f"  Ray cluster: {nodes} active nodes (a head and a worker)")
        if nodes != 2:
            raise SystemExit("the two-node Ray cluster did not come up")
        out = tmp / "ray"
        cmd = [*options, "--executor", "ray", "--ray-address", f"127.0.0.1:{port}"]
        seconds, _ = run_or_exit(build_cmd(out, *cmd), "the Ray build")
    finally:
        subprocess.run(["ray", "stop", "--force"], capture_output=True)
    ours, theirs = file_hashes(reference), file_hashes(out)
    same = ours == theirs
    print("the same build with --executor ray on a two-node local cluster (1 CPU each):")
    print(f"  wall time {seconds / 60:.1f} min ({seconds / local_seconds:.2f}x processes)")
    print(f"  {len(theirs):,} files, byte-identical to the process-pool build: {same}")
    if not same:
        differ = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
        print(f"  differing: {', '.join(differ[:5])}")
        raise SystemExit(1)


def _active_nodes(port: int) -> int:
    """Nodes `ray status` lists as active (waits up to 30 s for the worker to register)."""
    for _ in range(30):
        status = subprocess.run(
            ["ray", "status", "--address", f"127.0.0.1:{port}"], capture_output=True, text=True
        ).stdout
        active = status.split("Active:")[-1].split("Pending:")[0]
        nodes = sum(1 for line in active.splitlines() if " node_" in line)
        if nodes >= 2:
            return nodes
        time.sleep(1)
    return nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="l")
    parser.add_argument("--languages", default="10")
    parser.add_argument("--marginal-rows", type=int, default=1_000_000)
    parser.add_argument("--storage", default="auto", help="auto is pooled at sizes m and l")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--keep", type=Path, help="build the full dataset here and keep it")
    args = parser.parse_args()
    adopt_orphans()
    options = ["--languages", args.languages, "--size", args.size]
    options += [] if args.storage == "auto" else ["--storage", args.storage]
    with tempfile.TemporaryDirectory(dir=args.keep.parent if args.keep else None) as name:
        tmp = Path(name)
        full = args.keep or tmp / "full"
        started = time.perf_counter()
        seconds = full_build(full, options)
        marginal(tmp, args.languages, args.marginal_rows)
        if not args.skip_ray:
            ray_build(tmp, full, options, seconds)
        print(f"benchmark total: {(time.perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
