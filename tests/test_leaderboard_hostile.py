"""Hostile and concurrent input to `POST /api/v1/submissions` against a real server: every bad
request gets a 4xx with a clear message (never a 5xx) and stores nothing; injection in the model
name is stored verbatim and rendered escaped; 100 concurrent valid submissions all land."""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from symile_bench.leaderboard.storage import open_db

from .conftest import run_cli
from .test_leaderboard_support import build_xor_with_results, serve

BOARD = "xor-p1.0-test"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("lb")
    xor, results = build_xor_with_results(root)
    db = f"sqlite:///{root / 'lb.db'}"
    run_cli("leaderboard", "add", xor, "--db", db)
    tokens = [
        run_cli("leaderboard", "token", f"user{i}", "--db", db).stdout.strip() for i in range(4)
    ]
    with serve(db, "--rate-limit", "1000", "--max-body-mb", "8", log=root / "server.log") as url:
        yield url, tokens, results


def post(url: str, body: bytes | str, token: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    content = body.encode() if isinstance(body, str) else body
    return httpx.post(url + "/api/v1/submissions", content=content, headers=headers, timeout=60)


def entries(url: str) -> int:
    data = httpx.get(f"{url}/api/v1/leaderboard/{BOARD}").json()
    return len(data["verified"]) + len(data["reported"])


def named(results: dict, name: str) -> dict:
    out = copy.deepcopy(results)
    out["model"]["name"] = name
    return out


def refused(server, body, status: int, words: str, token: int | None = 0) -> None:
    url, tokens, _ = server
    before = entries(url)
    resp = post(url, body, None if token is None else tokens[token])
    assert resp.status_code == status, resp.text
    assert words in resp.json()["detail"]
    assert entries(url) == before


def test_malformed_json(server):
    """Truncated JSON: 400 naming the parse error."""
    refused(server, '{"schema_version": 1, "dataset": ', 400, "not valid JSON")


def test_unknown_schema_version(server):
    """A future schema version: 422 naming the version and the supported ones."""
    body = dict(server[2], schema_version=99)
    refused(server, json.dumps(body), 422, "schema_version 99 is not supported")


def test_unknown_fingerprint(server):
    """Results of a build the operator never registered: 422."""
    body = copy.deepcopy(server[2])
    body["dataset"]["fingerprint"] = body["dataset"]["split_fingerprint"] = "0" * 64
    refused(server, json.dumps(body), 422, "unknown fingerprint")


def test_predictions_of_the_wrong_length(server):
    """One query short: 422 naming both counts."""
    body = copy.deepcopy(server[2])
    p = body["predictions"][0]
    for field in ("query_ids", "ranks", "top_k"):
        p[field] = p[field][:-1]
    refused(server, json.dumps(body), 422, "hold 199 queries but the benchmark has 200")


def test_out_of_range_candidate_ids(server):
    """A candidate id outside the 2^5 XOR vectors: 422 naming the id and the valid range."""
    body = copy.deepcopy(server[2])
    body["predictions"][0]["top_k"][3][1] = 10**6
    refused(server, json.dumps(body), 422, "candidate id 1000000 is out of range")


def test_nan(server):
    """NaN is not JSON: 400."""
    text = json.dumps(server[2]).replace('"value": 1.0', '"value": NaN', 1)
    assert "NaN" in text
    refused(server, text, 400, "not valid JSON")


def test_claimed_score_disagreeing_with_the_predictions(server):
    """A claimed top-1 of 0.5 for predictions that re-score to 1.0: 422 showing both."""
    body = copy.deepcopy(server[2])
    row = next(r for r in body["rows"] if r["metric"] == "top1" and r["condition"] is None)
    row["value"], row["ci_low"] = 0.5, 0.4
    refused(server, json.dumps(body), 422, "claimed top1 0.5 disagrees with the verified top1 1.0")


def test_100_mb_body(server):
    """A 100 MB body is refused with 413 before it is parsed (limit 8 MiB here)."""
    refused(server, b" " * (100 * 1024 * 1024), 413, "request body too large")


@pytest.mark.parametrize("token", [None, "bad"])
def test_missing_or_bad_token(server, token):
    """No Authorization header, or an unknown token: 401."""
    url, _, results = server
    before = entries(url)
    resp = post(url, json.dumps(named(results, f"tok-{token}")), token)
    assert resp.status_code == 401 and "token" in resp.json()["detail"]
    assert entries(url) == before


def test_replayed_submission(server):
    """The same body from the same token twice: the second is 409 and nothing more is stored;
    the same body from another token is a separate entry."""
    url, tokens, results = server
    body = json.dumps(named(results, "replay-me"))
    before = entries(url)
    assert post(url, body, tokens[1]).status_code == 201
    refused(server, body, 409, "replayed submission", token=1)
    assert post(url, body, tokens[2]).status_code == 201
    assert entries(url) == before + 2


def test_injection_in_the_model_name_is_stored_verbatim_and_rendered_escaped(server):
    """SQL and HTML in the model name (and a javascript: link) are data: the JSON returns the
    exact string, the page shows it escaped and renders no script or javascript: href."""
    url, tokens, results = server
    name = "x'); DROP TABLE entries; -- <script>alert(1)</script>"
    body = named(results, name)
    body["model"]["metadata"] = {"link": "javascript:alert(1)", "parameters": "<b>7</b>"}
    assert post(url, json.dumps(body), tokens[0]).status_code == 201
    data = httpx.get(f"{url}/api/v1/leaderboard/{BOARD}").json()
    assert name in [e["model"] for e in data["verified"]]
    page = httpx.get(f"{url}/b/{BOARD}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;7&lt;/b&gt;" in page
    assert "<script>alert" not in page and "javascript:" not in page


def test_results_without_predictions_are_reported_apart(server):
    """No predictions: stored as reported with the file's own numbers, in the reported list."""
    url, tokens, results = server
    body = dict(named(results, "unverifiable"), predictions=[])
    resp = post(url, json.dumps(body), tokens[0])
    assert resp.status_code == 201 and resp.json()["status"] == "reported"
    data = httpx.get(f"{url}/api/v1/leaderboard/{BOARD}").json()
    assert [e["model"] for e in data["reported"]] == ["unverifiable"]
    assert "unverifiable" not in [e["model"] for e in data["verified"]]


def test_100_concurrent_valid_submissions_are_all_stored(server):
    """100 distinct valid submissions from 4 tokens, 25 at a time: all 201, all stored."""
    url, tokens, results = server
    before = entries(url)
    bodies = [(json.dumps(named(results, f"concurrent-{i}")), tokens[i % 4]) for i in range(100)]
    with ThreadPoolExecutor(25) as pool:
        codes = list(pool.map(lambda bt: post(url, *bt).status_code, bodies))
    assert codes == [201] * 100
    data = httpx.get(f"{url}/api/v1/leaderboard/{BOARD}").json()
    names = {e["model"] for e in data["verified"]}
    assert {f"concurrent-{i}" for i in range(100)} <= names
    assert entries(url) == before + 100


def test_rate_limit_per_token(tmp_path, server):
    """With --rate-limit 2, a token's third submission within the window is 429; another token
    is unaffected."""
    _, _, results = server
    db_url = f"sqlite:///{tmp_path / 'rl.db'}"
    db = open_db(db_url)
    a, b = db.create_token("a"), db.create_token("b")
    with serve(db_url, "--rate-limit", "2") as url:
        codes = [post(url, json.dumps(named(results, f"r{i}")), a).status_code for i in range(3)]
        other = post(url, json.dumps(named(results, "r-b")), b).status_code
        detail = post(url, "{}", a).json()["detail"]
    assert codes[2] == 429 and "rate limit" in detail
    assert other != 429  # 422 here: this database has no benchmark registered
