"""Shared helpers: run the real CLI in a subprocess, as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(
    *args: str | Path, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run `symile-bench ARGS` (via `python -m symile_bench`, same entry point)."""
    proc = subprocess.run(
        [sys.executable, "-m", "symile_bench", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"symile-bench {args} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


@pytest.fixture
def cli():
    return run_cli
