"""The leaderboard under hostile and concurrent submissions, on SQLite and on a real
PostgreSQL, through HTTP against a served board on 127.0.0.1: every hostile body (the test
suite's cases, tests/test_leaderboard_hostile.py) and every replay in another form must be a
4xx that stores nothing (a 5xx or a dropped connection is the defect to count), and 100
different valid submissions from 20 tokens sent at once must all be stored exactly once.

Run: python benchmarks/reliability_leaderboard.py   (about a minute on 2 cores; needs the
dev install: Debian postgresql, psycopg)
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import run_cli
from tests.pg_server import postgres_server
from tests.test_leaderboard_hostile import HOSTILE
from tests.test_leaderboard_support import build_xor_with_results, serve, variant

TOKENS, CONCURRENT = 20, 100


def classify(send: Callable[[], httpx.Response]) -> str:
    """'refused' (a 4xx with a detail), 'stored' (2xx), '5xx' or 'dropped' (the defects)."""
    try:
        reply = send()
    except httpx.TransportError:
        return "dropped"
    if reply.status_code >= 500:
        return "5xx"
    if reply.status_code >= 400:
        return "refused" if reply.json().get("detail") else "4xx without detail"
    return "stored"


@contextmanager
def board(db: str, root: Path, xor: Path) -> Iterator[tuple[str, list[str]]]:
    run_cli("leaderboard", "add", xor, "--db", db)
    tokens = [
        run_cli("leaderboard", "token", f"user{i}", "--db", db).stdout.strip()
        for i in range(TOKENS)
    ]
    with serve(db, "--rate-limit", "1000", log=root / "server.log") as url:
        yield url, tokens


def post(url: str, body: str, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return httpx.post(url + "/api/v1/submissions", content=body, headers=headers, timeout=120)


def entries(url: str) -> int:
    name = httpx.get(url + "/api/v1/benchmarks").json()[0]["name"]
    data = httpx.get(f"{url}/api/v1/leaderboard/{name}").json()
    return len(data["verified"]) + len(data["reported"])


def trial(db: str, root: Path, xor: Path, results: dict) -> dict[str, object]:
    with board(db, root, xor) as (url, tokens):
        hostile: Counter[str] = Counter()
        for make, _field, _limit in HOSTILE.values():
            body = make(results)
            hostile[classify(lambda b=body: post(url, b, tokens[0]))] += 1
        original = variant(results, 0, "first")
        assert classify(lambda: post(url, json.dumps(original), tokens[0])) == "stored"
        replays = [
            (json.dumps(original, indent=2), tokens[0]),
            (json.dumps(original, sort_keys=True, separators=(",", ":")), tokens[0]),
            (json.dumps(dict(original, model={**original["model"], "name": "other"})), tokens[0]),
            (json.dumps(original), tokens[1]),
        ]
        replay = Counter(classify(lambda b=b, t=t: post(url, b, t)) for b, t in replays)
        before = entries(url)
        bodies = [
            (json.dumps(variant(results, i + 1, f"model-{i}")), tokens[i % TOKENS])
            for i in range(CONCURRENT)
        ]
        with ThreadPoolExecutor(30) as pool:
            codes = Counter(pool.map(lambda bt: classify(lambda: post(url, *bt)), bodies))
        stored = entries(url) - before
    return {
        "hostile": hostile,
        "replay": replay,
        "stored": stored,
        "lost": CONCURRENT - min(stored, codes["stored"]),
        "duplicated": max(0, stored - CONCURRENT),
        "codes": codes,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as name, postgres_server() as pg:
        root = Path(name)
        xor, results = build_xor_with_results(root)
        trials = {
            "sqlite": trial(f"sqlite:///{root / 'lb.db'}", root, xor, results),
            "postgresql": trial(pg.new_database(), root, xor, results),
        }
    print(
        "| database | hostile bodies | refused (4xx) | 5xx | dropped | replays in another form "
        "| refused (409) | concurrent valid | stored | lost | duplicated |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    failed = False
    for kind, t in trials.items():
        h, r = t["hostile"], t["replay"]
        assert isinstance(h, Counter) and isinstance(r, Counter)
        print(
            f"| {kind} | {sum(h.values())} | {h['refused']} | {h['5xx']} | {h['dropped']} "
            f"| {sum(r.values())} | {r['refused']} | {CONCURRENT} | {t['stored']} "
            f"| {t['lost']} | {t['duplicated']} |"
        )
        failed |= h["refused"] != sum(h.values()) or r["refused"] != sum(r.values())
        failed |= t["lost"] != 0 or t["duplicated"] != 0
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
