"""The leaderboard on both databases it supports, SQLite and a real PostgreSQL server
(`lb_db`, tests/conftest.py): concurrent submissions from many tokens all land exactly once,
an older schema with entries is migrated when the server starts, and values longer than a
column are refused the same way on both (PostgreSQL would refuse them with a traceback)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from alembic import command
from sqlalchemy import create_engine, insert

from symile_bench.leaderboard import schema as t
from symile_bench.leaderboard.answerkey import answer_key_from_dataset
from symile_bench.leaderboard.storage import migration_config, open_db

from .conftest import run_cli
from .test_leaderboard_support import N, build_xor_with_results, serve, variant

TOKENS, SUBMISSIONS, REPLAYS = 20, 100, 20


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_xor_with_results(tmp_path_factory.mktemp("lb"))


def test_100_concurrent_submissions_from_20_tokens_none_lost_none_duplicated(lb_db, built):
    """100 different valid submissions from 20 tokens (5 each) and 20 byte-identical replays
    of some of them, all at once, 30 in flight: every submission is stored exactly once (201,
    one row, one audit row), every replay is a 409 that stores nothing."""
    xor, results = built
    db = open_db(lb_db)
    sk = answer_key_from_dataset(xor)
    db.add_benchmark(sk.default_name, sk)
    tokens = [db.create_token(f"user{i}") for i in range(TOKENS)]
    bodies = [
        (json.dumps(variant(results, i, f"model-{i}")), tokens[i % TOKENS])
        for i in range(SUBMISSIONS)
    ]
    sent = bodies + bodies[:REPLAYS]
    with serve(lb_db, "--rate-limit", "1000") as url:

        def post(item: tuple[str, str]) -> httpx.Response:
            body, token = item
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            return httpx.post(
                url + "/api/v1/submissions", content=body, headers=headers, timeout=120
            )

        with ThreadPoolExecutor(30) as pool:
            replies = list(pool.map(post, sent))
    codes = [r.status_code for r in replies]
    assert codes.count(201) == SUBMISSIONS and codes.count(409) == REPLAYS, codes
    for i in range(REPLAYS):  # of each pair, whichever came second was the replay
        assert sorted((codes[i], codes[SUBMISSIONS + i])) == [201, 409]
    stored = db.entries(db.benchmark(sk.default_name))
    ids = {r.json()["id"] for r in replies if r.status_code == 201}
    assert len(stored) == SUBMISSIONS and {e["id"] for e in stored} == ids  # 0 lost
    assert sorted(e["model"] for e in stored) == sorted(f"model-{i}" for i in range(SUBMISSIONS))
    assert {e["top1"] for e in stored} == {1.0}  # each its own predictions, all correct
    per_token = [sum(e["submitter"] == f"user{i}" for e in stored) for i in range(TOKENS)]
    assert per_token == [SUBMISSIONS // TOKENS] * TOKENS  # 0 duplicated, none misattributed
    assert [a["action"] for a in db.audit_rows()].count("submit") == SUBMISSIONS


def test_an_older_schema_with_entries_is_migrated_when_the_server_starts(lb_db, built):
    """A database left at the first revision, holding a benchmark and an entry, is upgraded
    to the newest schema by `leaderboard serve`; the entry is still served, and the benchmark
    registered before descriptions existed gets a page that says so. Every migration also
    goes back down to the first revision and up again without losing the entry."""
    xor, _ = built
    sk = answer_key_from_dataset(xor)
    engine = create_engine(lb_db)
    cfg = migration_config()
    now = datetime.now(UTC)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(
            insert(t.benchmarks).values(
                id=1,
                name="old",
                builder=sk.builder,
                config=sk.config,
                split=sk.split,
                fingerprint=sk.fingerprint,
                dataset_fingerprint=sk.dataset_fingerprint,
                task=sk.task,
                target=sk.target,
                rule=sk.rule,
                n_queries=N,
                answer_key=sk.key.to_bytes(),
                created_at=now,
            )
        )
        conn.execute(
            insert(t.tokens).values(
                id=1, name="ann", token_hash="0" * 64, revoked=False, created_at=now
            )
        )
        conn.execute(
            insert(t.entries).values(
                benchmark_id=1,
                token_id=1,
                status="verified",
                model="kept",
                objective="mip",
                top1=0.5,
                ci_low=0.4,
                ci_high=0.6,
                n=N,
                body_sha256="1" * 64,
                summary="{}",
                submitted_at=now,
            )
        )
    with serve(lb_db) as url:
        data = httpx.get(url + "/api/v1/leaderboard/old").json()
        page = httpx.get(url + "/b/old").text
    assert [(e["model"], e["n"], e["submitter"]) for e in data["verified"]] == [("kept", N, "ann")]
    assert "kept" in page and "No chance level recorded" in page
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    engine.dispose()
    db = open_db(lb_db)  # up again
    assert [e["model"] for e in db.entries(db.benchmark("old"))] == ["kept"]


def test_a_value_longer_than_its_column_is_one_line_on_both(lb_db):
    """A 201-character submitter name (the column holds 200): exit 1 naming the field and the
    limit, no traceback, nothing stored; PostgreSQL alone would raise a DataError."""
    done = run_cli("leaderboard", "token", "x" * 201, "--db", lb_db, check=False)
    assert done.returncode == 1 and "name 'xxx" in done.stderr
    assert "longer than 200 characters" in done.stderr and "Traceback" not in done.stderr
    assert open_db(lb_db).audit_rows() == []
