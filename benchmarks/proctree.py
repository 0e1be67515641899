"""Run a command and sample the total resident memory of its whole process tree (Linux /proc),
so a build's peak counts the parent and every worker it has at the same moment."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

PAGE = 4096


def _children(pid: int) -> list[int]:
    """The children of `pid`'s threads; none once it has exited (the listing itself may
    vanish while it is read)."""
    kids: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return kids
    for task in tasks:
        try:
            kids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return kids


def tree_rss(pid: int) -> int:
    """Bytes resident in `pid` and all its descendants right now."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        stack += _children(current)
    return total


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of `pid`, the children it has reaped and its live
    descendants: what a process tree has spent so far, helpers that outlive a task included."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        stack += _children(current)
    return total / os.sysconf("SC_CLK_TCK")


def run_with_peak_rss(cmd: list[str], interval: float = 0.05) -> tuple[int, float, int]:
    """(exit code, seconds, peak bytes of the process tree)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = proc.wait()
    stop.set()
    sampler.join()
    return code, time.perf_counter() - start, peak


def run_or_exit(cmd: list[str], what: str) -> tuple[float, int]:
    """(seconds, peak bytes of the process tree) of `cmd`; exits naming `what` if it fails."""
    code, seconds, peak = run_with_peak_rss(cmd)
    if code != 0:
        raise SystemExit(f"{what} failed ({code})")
    return seconds, peak


def print_peak_ratio(peaks: dict[int, int], target: float = 1.5) -> None:
    """The ratio of the peak RSS at the largest row count to the one at the smallest."""
    small, large = min(peaks), max(peaks)
    ratio = peaks[large] / peaks[small]
    print(f"peak RSS ratio ({large:,} rows / {small:,} rows): {ratio:.2f}x (target <= {target}x)")
