"""Shared helpers: run the real CLI in a subprocess, as a user would."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest


def run_cli(
    *args: str | Path, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run `symile-bench ARGS` as a user would and return what they would see.

    By default in this process: the console entry point `symile_bench.cli.main` with `sys.argv`
    set, stdout and stderr captured, its exit code taken from `SystemExit` and an uncaught
    exception written to stderr as the traceback a user would see (exit 1). A fresh interpreter
    per call (~1.5 s of imports) would cost more than the suite's tests themselves;
    `SYMILE_BENCH_TEST_SUBPROCESS=1` runs every call as `python -m symile_bench` instead, and
    tests that need a process of their own (signals, import side effects) start one directly.
    """
    if os.environ.get("SYMILE_BENCH_TEST_SUBPROCESS") == "1":
        proc = subprocess.run(
            [sys.executable, "-m", "symile_bench", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    else:
        proc = _in_process([str(a) for a in args])
    if check and proc.returncode != 0:
        raise AssertionError(f"symile-bench {args} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def _in_process(args: list[str]) -> subprocess.CompletedProcess:
    from symile_bench.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    code: int = 0
    sys.argv = ["symile-bench", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
            except Exception:
                traceback.print_exc()
                code = 1
    finally:
        sys.argv = argv
    return subprocess.CompletedProcess(
        ["symile-bench", *args], code, out.getvalue(), err.getvalue()
    )


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
