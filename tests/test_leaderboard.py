"""The leaderboard end to end through its public interfaces (CLI subprocesses and HTTP): register
a built XOR test split, issue a token, submit, read the page and the JSON, restart, export."""

from __future__ import annotations

import json

import httpx
import pytest

from symile_bench.leaderboard.ranking import rank_ranges
from symile_bench.leaderboard.storage import open_db

from .conftest import run_cli
from .test_leaderboard_support import N, build_xor_with_results, serve


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("lb")
    xor, _ = build_xor_with_results(root)
    return xor, root / "r.json"


def test_register_submit_view_restart_export(tmp_path, built, lb_db):
    """A submitted oracle result is verified by the server (top-1 1.0, its own interval), shows
    on the page and in the JSON, survives a server restart (same database, migrations re-run),
    every write left an audit row, and the static export holds the entry; on SQLite and on a
    real PostgreSQL server."""
    xor, results = built
    db = lb_db
    run_cli("leaderboard", "add", xor, "--split", "test", "--db", db)
    token = run_cli("leaderboard", "token", "alice", "--db", db).stdout.strip()
    assert token.startswith("slb_")
    with serve(db) as url:
        done = run_cli("submit", results, "--server", url, "--token", token)
        assert "verified" in done.stdout
        page = httpx.get(url + "/").text
        assert "xor-p1.0-test" in page
        board = httpx.get(url + "/b/xor-p1.0-test").text
        assert "xor-oracle" in board and "1.0000" in board and "(alice)" in board
        assert "chance 1/32 = 0.0312" in board and f'data-value="{N}">{N}</td>' in board
    with serve(db) as url:  # a fresh process on the same database
        data = httpx.get(url + "/api/v1/leaderboard/xor-p1.0-test").json()
        assert httpx.get(url + "/healthz").json() == {"status": "ok"}
    [entry] = data["verified"]
    assert (entry["model"], entry["top1"], entry["ci_low"], entry["ci_high"], entry["n"]) == (
        "xor-oracle",
        1.0,
        1.0,
        1.0,
        N,
    )
    assert data["reported"] == [] and data["benchmark"]["n_queries"] == N
    assert "predictions" not in json.dumps(data)  # no per-item data leaves the server
    actions = [a["action"] for a in open_db(db).audit_rows()]
    assert actions == ["add_benchmark", "create_token", "submit"]
    run_cli("leaderboard", "export", "--html", tmp_path / "site", "--db", db)
    assert "xor-p1.0-test.html" in (tmp_path / "site" / "index.html").read_text()
    static = (tmp_path / "site" / "b" / "xor-p1.0-test.html").read_text()
    assert "xor-oracle" in static and "http" not in static.split("<body>")[1].split("<script>")[0]


def test_add_refuses_a_second_registration_and_submit_names_the_refusal(tmp_path, built):
    """Registering the same split twice is a one-line error; `submit` with a bad token exits
    non-zero showing the server's reason."""
    xor, results = built
    db = f"sqlite:///{tmp_path / 'lb.db'}"
    run_cli("leaderboard", "add", xor, "--db", db)
    again = run_cli("leaderboard", "add", xor, "--db", db, check=False)
    assert again.returncode == 1 and "already registered" in again.stderr
    assert "Traceback" not in again.stderr
    with serve(db) as url:
        bad = run_cli("submit", results, "--server", url, "--token", "nope", check=False)
    assert bad.returncode == 1 and "401" in bad.stderr and "invalid or revoked token" in bad.stderr


def test_rank_ranges_follow_interval_overlap():
    """Overlapping intervals share a rank range; a clearly separated entry has its own rank."""
    entries = [
        {"ci_low": 0.8, "ci_high": 0.9},
        {"ci_low": 0.75, "ci_high": 0.85},
        {"ci_low": 0.1, "ci_high": 0.2},
    ]
    assert rank_ranges(entries) == [(1, 2), (1, 2), (3, 3)]
