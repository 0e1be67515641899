"""The leaderboard end to end through its public interfaces (CLI subprocesses and HTTP): register
a built XOR test split, issue a token, submit, read the page and the JSON, restart, export."""

from __future__ import annotations

import functools
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from symile_bench.leaderboard.ranking import rank_ranges
from symile_bench.leaderboard.storage import open_db

from .conftest import run_cli
from .test_leaderboard_support import N, build_xor_with_results, serve, variant


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


def test_operator_accepts_a_flagged_duplicate_by_hand(tmp_path, built):
    """bob's results with alice's predictions are a 409 naming alice's entry and the command
    that accepts them; the operator runs `leaderboard allow-duplicate ENTRY --submitter bob`
    (bad ids and names are one-line errors), bob's resubmission is stored once, as a
    duplicate of that entry, and a third copy is refused again."""
    xor, results = built
    db = f"sqlite:///{tmp_path / 'lb.db'}"
    run_cli("leaderboard", "add", xor, "--db", db)
    alice = run_cli("leaderboard", "token", "alice", "--db", db).stdout.strip()
    bob = run_cli("leaderboard", "token", "bob", "--db", db).stdout.strip()
    mine = tmp_path / "bob.json"
    mine.write_text(json.dumps(variant(json.loads(results.read_text()), 0, "bob-model")))
    with serve(db) as url:
        board = url + "/api/v1/leaderboard/xor-p1.0-test"
        run_cli(
            "submit",
            variant_file(tmp_path, results, "alice-model"),
            "--server",
            url,
            "--token",
            alice,
        )
        [first] = httpx.get(board).json()["verified"]
        refused = run_cli("submit", mine, "--server", url, "--token", bob, check=False)
        assert refused.returncode == 1 and "409" in refused.stderr
        assert f"entry {first['id']} on 'xor-p1.0-test' already holds" in refused.stderr
        assert f"allow-duplicate {first['id']} --submitter bob" in refused.stderr
        assert len(httpx.get(board).json()["verified"]) == 1
        for entry, who, words in [(999, "bob", "entry 999 is not"), (first["id"], "eve", "eve")]:
            bad = run_cli(
                "leaderboard", "allow-duplicate", entry, "--submitter", who, "--db", db, check=False
            )
            assert bad.returncode == 1 and words in bad.stderr and "Traceback" not in bad.stderr
        ok = run_cli(
            "leaderboard", "allow-duplicate", first["id"], "--submitter", "bob", "--db", db
        )
        assert "bob may submit the content of entry" in ok.stdout
        assert "verified" in run_cli("submit", mine, "--server", url, "--token", bob).stdout
        again = run_cli("submit", mine, "--server", url, "--token", bob, check=False)
        assert again.returncode == 1 and "409" in again.stderr
        models = sorted(e["model"] for e in httpx.get(board).json()["verified"])
    assert models == ["alice-model", "bob-model"]
    actions = [a["action"] for a in open_db(db).audit_rows()]
    assert actions.count("allow_duplicate") == 1 and actions.count("submit") == 2


def variant_file(tmp_path, results, name: str):
    """The oracle's results file with the predictions of ``variant(..., 0, ...)`` under NAME."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(variant(json.loads(results.read_text()), 0, name), indent=2))
    return path


def test_upgrade_from_0001_keeps_entries_and_then_detects_replays(tmp_path, built):
    """A database at migration 0001 holding the same body from two tokens (allowed then) is
    upgraded by the next command: both entries stay (their content unknown), and the first new
    submission is stored while its replay is a 409."""
    from alembic import command
    from sqlalchemy import create_engine, insert, select, text

    from symile_bench.leaderboard import schema, storage

    xor, results = built
    scratch = f"sqlite:///{tmp_path / 'scratch.db'}"
    run_cli("leaderboard", "add", xor, "--db", scratch)
    with open_db(scratch).engine.connect() as conn:
        registered = dict(conn.execute(select(schema.benchmarks)).mappings().one())
        registered.pop("description", None)  # a column of 0003, not in a 0001 database
    db = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = storage.migration_config()
    with create_engine(db).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(insert(schema.benchmarks).values(**registered))
        conn.execute(text("INSERT INTO tokens VALUES (1, 'a', 'h1', 0, '2025-01-01')"))
        conn.execute(text("INSERT INTO tokens VALUES (2, 'b', 'h2', 0, '2025-01-01')"))
        for token in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO entries (benchmark_id, token_id, status, model, objective, "
                    "top1, ci_low, ci_high, n, body_sha256, summary, submitted_at) VALUES "
                    f"({registered['id']}, {token}, 'verified', 'old', 'mip', 1, 1, 1, {N}, "
                    "'same-body', '{}', '2025-01-01')"
                )
            )
    token = run_cli("leaderboard", "token", "carol", "--db", db).stdout.strip()  # migrates
    path = variant_file(tmp_path, results, "new-model")
    with serve(db) as url:
        assert "verified" in run_cli("submit", path, "--server", url, "--token", token).stdout
        again = run_cli("submit", path, "--server", url, "--token", token, check=False)
        data = httpx.get(url + "/api/v1/leaderboard/xor-p1.0-test").json()
    assert again.returncode == 1 and "409" in again.stderr
    assert sorted(e["model"] for e in data["verified"]) == ["new-model", "old", "old"]


def _verification_workers(port: int) -> list[int]:
    """Pids of the worker processes spawned by the server listening on PORT (from /proc)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = stat.read_text().rsplit(")", 1)[1].split()[1]
            mine = (stat.parent / "cmdline").read_bytes()
            parent = Path(f"/proc/{ppid}/cmdline").read_bytes()
        except (OSError, IndexError):
            continue  # exited meanwhile
        if b"spawn_main" in mine and b"--port\x00%d\x00" % port in parent:
            pids.append(int(stat.parent.name))
    return pids


def test_a_killed_verification_worker_is_a_503_then_the_pool_restarts(tmp_path, built):
    """A worker killed between submissions (as the OOM killer would): the next submission is a
    503 saying nothing was stored and to submit again; the one after is verified and stored.
    When the server stops, its new worker stops with it (no process left behind)."""
    xor, results = built
    db = f"sqlite:///{tmp_path / 'lb.db'}"
    run_cli("leaderboard", "add", xor, "--db", db)
    token = run_cli("leaderboard", "token", "alice", "--db", db).stdout.strip()
    bodies = [json.dumps(variant(json.loads(results.read_text()), i, f"m{i}")) for i in range(2)]
    headers = {"Authorization": f"Bearer {token}"}
    with serve(db, "--verify-workers", "1") as url:
        post = functools.partial(httpx.post, url + "/api/v1/submissions", headers=headers,
                                 timeout=60)  # fmt: skip
        assert post(content=bodies[0]).status_code == 201
        [worker] = _verification_workers(int(url.rsplit(":", 1)[1]))
        os.kill(worker, signal.SIGKILL)
        lost = post(content=bodies[1])
        assert lost.status_code == 503 and "nothing was stored" in lost.json()["detail"]
        assert len(httpx.get(url + "/api/v1/leaderboard/xor-p1.0-test").json()["verified"]) == 1
        assert post(content=bodies[1]).status_code == 201
        [restarted] = _verification_workers(int(url.rsplit(":", 1)[1]))
    for _ in range(100):  # bounded: at most ~10 s after the server has exited
        if not _alive(restarted):
            break
        time.sleep(0.1)
    assert not _alive(restarted)


def _alive(pid: int) -> bool:
    """Running (a zombie awaiting its reaper counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_rank_ranges_follow_interval_overlap():
    """Overlapping intervals share a rank range; a clearly separated entry has its own rank."""
    entries = [
        {"ci_low": 0.8, "ci_high": 0.9},
        {"ci_low": 0.75, "ci_high": 0.85},
        {"ci_low": 0.1, "ci_high": 0.2},
    ]
    assert rank_ranges(entries) == [(1, 2), (1, 2), (3, 3)]
