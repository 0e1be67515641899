"""Hostile and concurrent input to `POST /api/v1/submissions` against a real server: every bad
request gets a 4xx with a clear message (never a 5xx or a dropped connection) and stores
nothing; a replay is refused whatever its bytes, name or token; injection in the model name is
stored verbatim and rendered escaped; 100 concurrent valid submissions all land; pages answer
while a large submission is being verified."""

from __future__ import annotations

import copy
import itertools
import json
import select
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest

from symile_bench.leaderboard.storage import open_db

from .conftest import DATABASES, new_database, run_cli
from .test_leaderboard_support import build_xor_with_results, serve, variant

BOARD = "xor-p1.0-test"
_variants = itertools.count()


@pytest.fixture(scope="module", params=DATABASES)
def server(tmp_path_factory, request):
    """A served board with a registered XOR split, on SQLite and on a real PostgreSQL (each
    hostile body must be refused the same way by both: e.g. PostgreSQL refuses NUL bytes in
    text that SQLite stores)."""
    root = tmp_path_factory.mktemp("lb")
    xor, results = build_xor_with_results(root)
    db = new_database(request.param, root, request)
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
    """Valid results under NAME whose predictions no other call of this module repeats."""
    return variant(results, next(_variants), name)


def refused(server, body, status: int, words: str, token: int | None = 0) -> str:
    url, tokens, _ = server
    before = entries(url)
    resp = post(url, body, None if token is None else tokens[token])
    assert resp.status_code == status, resp.text
    detail = resp.json()["detail"]
    assert words in detail, detail
    assert entries(url) == before
    return detail


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


def _reordered(value):
    """The same JSON value with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(value)}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def test_a_replay_is_refused_whatever_its_bytes_name_or_token(server):
    """The first submission is stored; then the same body from the same token, the same
    results re-serialised (indent=2, keys reordered), the same predictions in another query
    order, and the same predictions under another model name from another token are each a
    409 naming the first entry's id, and nothing more is stored."""
    url, tokens, results = server
    first = named(results, "replay-me")
    resp = post(url, json.dumps(first), tokens[1])
    assert resp.status_code == 201, resp.text
    earlier = f"entry {resp.json()['id']} on '{BOARD}' already holds this content"
    shuffled = copy.deepcopy(first)
    p = shuffled["predictions"][0]
    for field in ("query_ids", "ranks", "top_k"):
        p[field] = p[field][::-1]
    other = dict(copy.deepcopy(first), model=dict(first["model"], name="someone-else"))
    for body, token in [
        (json.dumps(first), 1),
        (json.dumps(_reordered(first), indent=2), 1),
        (json.dumps(shuffled), 3),
        (json.dumps(other), 2),
    ]:
        detail = refused(server, body, 409, earlier, token=token)
        assert "allow-duplicate" in detail


def test_a_reported_replay_is_refused(server):
    """Results without predictions are judged on their claimed rows: the same rows in another
    order under another name from another token are a 409 naming the first entry."""
    url, tokens, results = server
    body = dict(named(results, "reported-once"), predictions=[])
    body["rows"][0]["ci_low"] = 0.25  # rows no other test of this module claims
    resp = post(url, json.dumps(body), tokens[0])
    assert resp.status_code == 201 and resp.json()["status"] == "reported", resp.text
    again = dict(body, model=dict(body["model"], name="reported-again"), rows=body["rows"][::-1])
    refused(server, json.dumps(again), 409, f"entry {resp.json()['id']} on", token=2)


def test_concurrent_copies_of_one_content_store_one_entry(server):
    """20 copies of the same predictions under 20 names from 4 tokens at once: the unique index
    lets exactly one land; the other 19 are 409s naming that one."""
    url, tokens, results = server
    before = entries(url)
    i = next(_variants)
    bodies = [(json.dumps(variant(results, i, f"copy-{c}")), tokens[c % 4]) for c in range(20)]
    with ThreadPoolExecutor(20) as pool:
        replies = list(pool.map(lambda bt: post(url, *bt), bodies))
    stored = [r.json()["id"] for r in replies if r.status_code == 201]
    assert len(stored) == 1 and entries(url) == before + 1
    rest = [r for r in replies if r.status_code != 201]
    assert {r.status_code for r in rest} == {409}
    assert all(f"entry {stored[0]} on" in r.json()["detail"] for r in rest)


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
    body["rows"] = body["rows"][:1]  # claimed rows of its own: not a replay of another test's
    resp = post(url, json.dumps(body), tokens[0])
    assert resp.status_code == 201 and resp.json()["status"] == "reported"
    data = httpx.get(f"{url}/api/v1/leaderboard/{BOARD}").json()
    assert "unverifiable" in [e["model"] for e in data["reported"]]
    assert "unverifiable" not in [e["model"] for e in data["verified"]]


def test_an_entry_shows_the_protocol_of_its_numbers(server):
    """Pages and the JSON show each entry's protocol: a verified entry's numbers are always the
    server's own (default protocol), also from an `evaluate --protocol release` file, whose
    top-1 row (a mean of 10 redrawn samples) is not held against the predictions; a reported
    entry shows the file's own numbers and protocol."""
    url, tokens, results = server
    release = named(results, "release-verified")
    release["protocol"] = "release"
    release["rows"][0]["value"] = 0.987  # the release's statistic, not the whole split's
    resp = post(url, json.dumps(release), tokens[0])
    assert resp.status_code == 201 and resp.json()["status"] == "verified", resp.text
    reported = dict(named(results, "release-reported"), predictions=[], protocol="release")
    reported["rows"] = [dict(reported["rows"][0], value=0.9876, ci_low=0.98, ci_high=0.99)]
    assert post(url, json.dumps(reported), tokens[0]).json()["status"] == "reported"
    data = httpx.get(f"{url}/api/v1/leaderboard/{BOARD}").json()
    shown = {e["model"]: (e["protocol"], e["top1"]) for e in data["verified"] + data["reported"]}
    assert shown["release-verified"] == ("default", 1.0)
    assert shown["release-reported"] == ("release", 0.9876)
    page = httpx.get(f"{url}/b/{BOARD}").text
    assert '<th class="sortable" data-type="text">protocol</th>' in page
    assert '<td data-value="release">release</td>' in page


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


def test_a_board_filters_by_objective(server):
    """Entries carry their objective (model.scoring): `?objective=gram` on the JSON API and the
    page shows only those entries, ranked among themselves; the page links every objective
    on the board; an objective nobody submitted is an empty board, not an error."""
    url, tokens, results = server
    gram = named(results, "volume-model")
    gram["model"]["scoring"] = "gram"
    assert post(url, json.dumps(gram), tokens[0]).status_code == 201
    product = named(results, "product-model")
    assert product["model"]["scoring"] == "mip"
    assert post(url, json.dumps(product), tokens[0]).status_code == 201
    api = f"{url}/api/v1/leaderboard/{BOARD}"
    only = httpx.get(api, params={"objective": "gram"}).json()
    assert [e["model"] for e in only["verified"]] == ["volume-model"]
    assert only["objective"] == "gram" and only["verified"][0]["rank_best"] == 1
    everything = httpx.get(api).json()
    assert {e["objective"] for e in everything["verified"]} >= {"gram", "mip"}
    page = httpx.get(f"{url}/b/{BOARD}", params={"objective": "gram"}).text
    assert "volume-model" in page and 'href="?objective=mip"' in page
    assert "<b>gram</b>" in page and "product-model" not in page
    none = httpx.get(api, params={"objective": "triangle"})
    assert none.status_code == 200 and none.json()["verified"] == []


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


def _with_metadata(results: dict, raw: str) -> str:
    """Valid, unseen results whose model.metadata is the raw JSON text RAW."""
    body = named(results, "hostile")
    body["model"]["metadata"] = "@@"
    return json.dumps(body).replace('"@@"', raw, 1)


def _edited(results: dict, path: tuple, value) -> str:
    body = named(results, "hostile")
    *parents, last = path
    target = body
    for key in parents:
        target = target[key]
    target[last] = value
    return json.dumps(body)


HOSTILE = {
    "500 levels in metadata": (
        lambda r: _with_metadata(r, '{"deep": ' + "[" * 500 + "]" * 500 + "}"),
        "invalid field model.metadata.deep.0.0",
        "nested deeper than the limit of 32 levels",
    ),
    "100,000 levels": (
        lambda r: "[" * 100_000 + "]" * 100_000,
        "invalid field 0.0.0",
        "nested deeper than the limit of 32 levels",
    ),
    "lone surrogate in the name": (
        lambda r: _edited(r, ("model", "name"), "model-\ud800"),
        "invalid field model.name",
        "lone UTF-16 surrogate",
    ),
    "lone surrogate in a metadata key": (
        lambda r: _with_metadata(r, '{"ok": 1, "\\ud800": 2}'),
        "invalid field model.metadata.",
        "lone UTF-16 surrogate",
    ),
    "lone surrogate in a row": (
        lambda r: _edited(r, ("rows", 1, "split"), "\udfff"),
        "invalid field rows.1.split",
        "lone UTF-16 surrogate",
    ),
    "10**30 as a row's n": (
        lambda r: _edited(r, ("rows", 0, "n"), 10**30),
        "invalid field rows.0.n",
        "beyond the 64-bit range",
    ),
    "10**30 in metadata": (
        lambda r: _with_metadata(r, '{"params": ' + str(10**30) + "}"),
        "invalid field model.metadata.params",
        "beyond the 64-bit range",
    ),
    "a 5000-digit integer": (
        lambda r: _with_metadata(r, '{"params": ' + "9" * 5000 + "}"),
        "invalid field model.metadata.params",
        "more than 40 digits",
    ),
    "1e999 as a row's value": (
        lambda r: json.dumps(named(r, "hostile")).replace('"value": 1.0', '"value": 1e999', 1),
        "invalid field rows.0.value",
        "beyond the float64 range",
    ),
    "-1e999 as a candidate id": (
        lambda r: _edited(r, ("predictions", 0, "top_k", 3, 1), "@@").replace('"@@"', "-1e999"),
        "invalid field predictions.0.top_k.3.1",
        "beyond the float64 range",
    ),
    "NUL in the name": (
        lambda r: _edited(r, ("model", "name"), "a\x00b"),
        "invalid field model.name",
        "NUL character",
    ),
    "NUL in a metadata key": (
        lambda r: _with_metadata(r, '{"a\\u0000": 1}'),
        "invalid field model.metadata.a",
        "NUL character",
    ),
    "a 201-character name": (
        lambda r: _edited(r, ("model", "name"), "m" * 201),
        "invalid field model.name",
        "201 characters; the limit is 200",
    ),
    "70 kB of metadata": (
        lambda r: _edited(r, ("model", "metadata"), {"notes": "x" * 70_000}),
        "invalid field model.metadata",
        "bytes as compact JSON; the limit is 65536",
    ),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_body_is_a_422_naming_the_field_and_the_limit(server, case):
    """Depth, lone surrogates, numbers beyond int64/float64, NUL, an over-long name and
    oversized metadata anywhere in an otherwise valid (unseen) submission: a 422 whose detail
    names the field and the limit, never a 5xx or a reset, and nothing stored."""
    make, field, limit = HOSTILE[case]
    detail = refused(server, make(server[2]), 422, limit)
    assert field in detail


def test_an_unterminated_string_of_escaped_quotes_is_refused(server):
    """2 MB of escaped quotes with no closing quote: a 400 (not a worker busy for hours on a
    string scan that restarts at every quote)."""
    refused(server, '{"model": "' + '\\"' * 1_000_000, 400, "not valid JSON")


def _raw_post(url: str, body: bytes, token: str) -> socket.socket:
    """Send a whole submission on a raw socket and return it unread."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    head = (
        f"POST /api/v1/submissions HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def test_pages_answer_while_a_large_submission_is_verified(server):
    """A 7 MB submission (extra train-split predictions, parsed and validated in full) is sent;
    once it is in the server's hands, GET /healthz and GET / are answered while that
    submission's reply has not come yet: verification does not hold the event loop (inline,
    the probes would wait for the verification to finish). The submission is then stored."""
    url, tokens, results = server
    body = named(results, "large")
    extra = 180_000
    body["predictions"].append(
        {
            "split": "train",
            "condition": None,
            "k": 10,
            "query_ids": list(range(extra)),
            "ranks": [1] * extra,
            "top_k": [list(range(10))] * extra,
        }
    )
    data = json.dumps(body).encode()
    assert 7e6 < len(data) < 8 * 1024 * 1024  # the fixture server takes up to 8 MiB
    before = entries(url)
    sock = _raw_post(url, data, tokens[3])
    try:
        time.sleep(0.2)  # not a timing assertion: lets the server finish reading the body
        for path in ("/healthz", "/"):
            assert httpx.get(url + path, timeout=60).status_code == 200
            pending, _, _ = select.select([sock], [], [], 0)
            assert not pending, f"GET {path} was answered only after the submission"
        sock.settimeout(120)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    finally:
        sock.close()
    assert reply.startswith(b"HTTP/1.1 201"), reply[:300]
    assert entries(url) == before + 1
