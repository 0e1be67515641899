"""Shared helpers for the leaderboard tests (no tests here): a small built XOR split with the
oracle's results, and a real `symile-bench leaderboard serve` subprocess on 127.0.0.1."""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from .conftest import run_cli

N = 200


def build_xor_with_results(root: Path) -> tuple[Path, dict]:
    """An XOR p=1 build (N test rows) and the oracle's results (top-1 exactly 1)."""
    xor = root / "xor"
    run_cli(
        "build",
        "xor",
        "--p",
        "1.0",
        "--train-n",
        "10",
        "--val-n",
        "10",
        "--test-n",
        str(N),
        "-q",
        "--out",
        xor,
    )
    run_cli(
        "evaluate",
        xor,
        "--model",
        "xor-oracle",
        "--out",
        root / "r.json",
        "--bootstrap",
        "200",
        "-q",
    )
    return xor, json.loads((root / "r.json").read_text())


def variant(results: dict, i: int, name: str) -> dict:
    """The oracle's results as model NAME with predictions of their own (0 <= i < 8 N): query
    i % N swaps its 2nd and (3 + i // N)-th candidates. Every rank stays 1 (the oracle's first
    candidate is the correct one), so each i is distinct content with the same verified score;
    the server refuses the same predictions twice, whatever the name."""
    out = copy.deepcopy(results)
    out["model"]["name"] = name
    top = out["predictions"][0]["top_k"][i % N]
    j = 2 + i // N
    top[1], top[j] = top[j], top[1]
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(db_url: str, *options: str, log: Path | None = None) -> Iterator[str]:
    """Run the server until the block ends; yields its base URL once /healthz answers."""
    port = free_port()
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "symile_bench",
            "leaderboard",
            "serve",
            "--db",
            db_url,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *options,
        ],
        stdout=out,
        stderr=out,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):  # bounded: at most ~30 s
            if proc.poll() is not None:
                raise AssertionError(f"server exited with {proc.returncode}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        else:
            raise AssertionError("server did not answer /healthz within 30 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()
