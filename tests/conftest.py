"""Shared helpers: run the real CLI in a subprocess, as a user would."""

from __future__ import annotations

import contextlib
import os
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


# -- the leaderboard's databases: every test that takes `lb_db` runs on SQLite and PostgreSQL --
DATABASES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres():
    """One private PostgreSQL server for the whole run (tests/pg_server.py), started on first
    use. Missing PostgreSQL fails the run in CI (CI=true) and skips with the reason locally."""
    from .pg_server import PostgresUnavailable, postgres_server

    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(postgres_server())
        except PostgresUnavailable as e:
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail(f"CI needs PostgreSQL for the leaderboard tests: {e}", pytrace=False)
            pytest.skip(f"PostgreSQL tests skipped: {e}")
        yield server


def new_database(kind: str, folder: Path, request: pytest.FixtureRequest) -> str:
    """An empty database of ``kind`` ("sqlite": a file in ``folder``; "postgresql": a new
    database on the session's server) as a SQLAlchemy URL."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'lb.db'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture(params=DATABASES)
def lb_db(request, tmp_path) -> str:
    """A fresh, empty leaderboard database URL, once per database kind."""
    return new_database(request.param, tmp_path, request)
