"""A private, throwaway PostgreSQL server for the leaderboard tests (no tests here).

The server is Debian's `postgresql` package (installed by `scripts/install.sh --dev`): the
distribution's own maintained build, found under /usr/lib/postgresql/<version>/bin, so nothing
is downloaded at test time and CI (Debian, root) tests the server a Debian operator runs. It
runs from a fresh data directory in a temp folder and listens only on a unix socket in that
folder (`listen_addresses=''`: no TCP at all). Root may not run postgres, so as root every
server command runs as the `postgres` system user the package creates (`runuser`). Durability
is switched off (fsync, synchronous commit): the data is thrown away at the end.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SUPERUSER = "postgres"
_SETTINGS = (
    "-c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=200"
)


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries (or no user to run them as) on this machine."""


def server_bin() -> Path:
    """The folder holding initdb and pg_ctl: on PATH, else the newest Debian version."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not debian:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin); "
            "run `bash scripts/install.sh --dev` (it installs Debian's postgresql package)"
        )
    return Path(debian[-1]).parent


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", SUPERUSER, "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str]) -> None:
    done = subprocess.run(
        _as_server_user(command), capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise PostgresUnavailable(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a server in a fresh temp folder; stop it and delete the folder afterwards."""
    bindir = server_bin()
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root and there is no {SUPERUSER!r} user to run the server as "
                "(Debian's postgresql package creates it)"
            ) from None
    # /tmp, not pytest's tmp_path or $TMPDIR: their parents may be private to root, where
    # the server user cannot go; a short path also keeps the socket under its 107-byte limit
    root = Path(tempfile.mkdtemp(prefix="symile-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(root, SUPERUSER)
    data = root / "data"
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust"]
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-w", "-t", "60"]
    try:
        _run([*initdb, "-E", "UTF8", "--no-sync"])
        _run([*pg_ctl, "-l", str(root / "log"), "-o", f"-k {root} {_SETTINGS}", "start"])
        try:
            yield PostgresServer(root)
        finally:
            _run([*pg_ctl, "-m", "immediate", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


class PostgresServer:
    """A running server: ``new_database()`` gives each test an empty database of its own."""

    def __init__(self, socket_dir: Path) -> None:
        self.socket_dir = socket_dir
        self._names = itertools.count()

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def new_database(self) -> str:
        import psycopg

        name = f"lb{next(self._names)}"
        with psycopg.connect(
            dbname="postgres", user=SUPERUSER, host=str(self.socket_dir), autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
