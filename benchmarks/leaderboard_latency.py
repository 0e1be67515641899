"""Latency of `GET /` while a leaderboard verifies 20 large submissions, with verification
inline on the event loop (before issue 14) and off it (after), side by side.

Setup: an XOR build with --test-n queries (default 100,000: 4.9 MB as sent, about a second
of parsing and re-scoring each), registered on a fresh SQLite database per mode. Each
mode starts its own server (a subprocess on 127.0.0.1 only), sends one warm-up submission,
then 20 distinct valid submissions at once while one client requests `GET /` every
--probe-interval seconds (a page view or health check, not a flood that would itself compete
for the CPU) until they are all answered (bounded: at most --max-probes requests).
Modes (Settings.verify_in):

- loop: parse + re-score inline in the async handler (the old code path);
- thread: in the server's thread pool (the GIL is held inside json/pydantic/numpy calls);
- process: in a pool of worker processes (what `leaderboard serve` runs).

Run: PYTHONPATH=. python benchmarks/leaderboard_latency.py [--test-n N] [--submissions 20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

from symile_bench.leaderboard.answerkey import answer_key_from_dataset
from symile_bench.leaderboard.storage import open_db

HOST = "127.0.0.1"  # never any other interface
MODES = ("loop", "thread", "process")


def cli(*args: str | Path) -> None:
    subprocess.run([sys.executable, "-m", "symile_bench", *map(str, args)], check=True)


def variant(results: dict, i: int) -> bytes:
    """Distinct predictions with the same score: query i swaps its 2nd and 3rd candidates."""
    top = results["predictions"][0]["top_k"][i]
    top[1], top[2] = top[2], top[1]
    body = json.dumps(dict(results, model=dict(results["model"], name=f"m{i}"))).encode()
    top[1], top[2] = top[2], top[1]
    return body


def serve_forever(mode: str, db_url: str, port: int) -> None:
    import uvicorn

    from symile_bench.leaderboard.app import Settings, create_app

    settings = Settings(db_url=db_url, rate_limit=10_000, verify_in=mode)  # type: ignore[arg-type]
    uvicorn.run(create_app(settings), host=HOST, port=port, log_level="warning")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def measure(
    mode: str, db_url: str, token: str, bodies: list[bytes], max_probes: int, interval: float
) -> dict:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", mode, db_url, str(port)],
    )
    url = f"http://{HOST}:{port}"
    try:
        with httpx.Client(timeout=600) as client:
            for _ in range(240):  # bounded wait for the server: at most ~60 s
                try:
                    if client.get(url + "/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.25)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

            def submit(body: bytes) -> int:
                r = httpx.post(
                    url + "/api/v1/submissions", content=body, headers=headers, timeout=600
                )
                return r.status_code

            assert submit(bodies[0]) == 201  # warm-up (starts the worker processes, if any)
            done = threading.Event()
            start = time.perf_counter()
            with ThreadPoolExecutor(len(bodies) - 1) as pool:
                futures = [pool.submit(submit, b) for b in bodies[1:]]
                threading.Thread(
                    target=lambda: ([f.result() for f in futures], done.set()), daemon=True
                ).start()
                latencies = []
                while not done.is_set() and len(latencies) < max_probes:
                    t = time.perf_counter()
                    assert client.get(url + "/").status_code == 200
                    latencies.append(time.perf_counter() - t)
                    done.wait(interval)
                codes = [f.result() for f in futures]
            wall = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)
    ms = np.asarray(latencies) * 1e3
    return {
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "max": float(ms.max()),
        "probes": len(ms),
        "stored": codes.count(201),
        "wall": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--test-n", type=int, default=100_000)
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--max-probes", type=int, default=50_000)
    parser.add_argument("--probe-interval", type=float, default=0.02)
    parser.add_argument("--serve", nargs=3, metavar=("MODE", "DB", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_forever(args.serve[0], args.serve[1], int(args.serve[2]))
        return

    work = Path(tempfile.mkdtemp(prefix="lb-latency-"))
    try:
        xor = work / "xor"
        cli("build", "xor", "--p", "1.0", "--train-n", "10", "--val-n", "10", "--test-n",
            str(args.test_n), "-q", "--out", xor)  # fmt: skip
        cli("evaluate", xor, "--model", "xor-oracle", "--out", work / "r.json", "-q")
        results = json.loads((work / "r.json").read_text())
        bodies = [variant(results, i) for i in range(args.submissions + 1)]
        template = work / "template.db"
        db = open_db(f"sqlite:///{template}")
        db.add_benchmark("xor", answer_key_from_dataset(xor, "test", None, None, None))
        token = db.create_token("bench")
        db.engine.dispose()
        rows = {}
        for mode in MODES:
            shutil.copy(template, work / f"{mode}.db")
            url = f"sqlite:///{work / f'{mode}.db'}"
            rows[mode] = measure(mode, url, token, bodies, args.max_probes, args.probe_interval)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    mb = len(bodies[0]) / 1e6
    print(
        f"GET / latency while {args.submissions} submissions of {args.test_n:,} queries "
        f"({mb:.1f} MB each) are verified"
    )
    print(
        f"{'mode':<9}{'p50 ms':>9}{'p99 ms':>10}{'max ms':>10}"
        f"{'probes':>8}{'stored':>8}{'wall s':>8}"
    )
    for mode, r in rows.items():
        print(
            f"{mode:<9}{r['p50']:>9.1f}{r['p99']:>10.1f}{r['max']:>10.1f}{r['probes']:>8}"
            f"{r['stored']:>8}{r['wall']:>8.1f}"
        )
    before, after = rows["loop"], rows["process"]
    ratio = before["p99"] / after["p99"]
    print(
        f"before (loop) / after (process): p50 {before['p50'] / after['p50']:.1f}x, "
        f"p99 {ratio:.1f}x (target >= 10x: {'met' if ratio >= 10 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
