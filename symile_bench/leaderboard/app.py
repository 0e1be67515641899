"""The FastAPI app: pages, the JSON API, and submissions.

``POST /api/v1/submissions`` (``Authorization: Bearer TOKEN``, body = a results.json):
size cap → token → rate limit → strict parse → registered fingerprint → re-score → store.
Every refusal is a 4xx with ``{"detail": "<one line>"}`` and stores nothing. A replay is
content already on the benchmark (``verification.verify``'s hash, whatever the bytes, model
name or token): 409 naming the earlier entry. Parsing and re-scoring run in worker processes
(``submission.Checker``), so the event loop keeps serving pages meanwhile.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from symile_bench.leaderboard import pages
from symile_bench.leaderboard.errors import LeaderboardError, SubmissionRejected
from symile_bench.leaderboard.limits import BodyLimit, RateLimiter
from symile_bench.leaderboard.ranking import board
from symile_bench.leaderboard.storage import Benchmark, Database, default_url, open_db
from symile_bench.leaderboard.submission import Checker, VerifyIn

T = TypeVar("T")

MAX_BODY_BYTES = 32 * 1024 * 1024
RATE_LIMIT = 30  # submissions per token per minute
VERIFY_WORKERS = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class Settings:
    db_url: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    rate_limit: int = RATE_LIMIT
    rate_window_s: float = 60.0
    verify_workers: int = VERIFY_WORKERS
    # "process" serves; "thread"/"loop" only for benchmarks/leaderboard_latency.py
    verify_in: VerifyIn = "process"


def _board_json(db: Database, b: Benchmark, objective: str | None = None) -> dict[str, Any]:
    return {
        "benchmark": {
            "name": b.name,
            "builder": b.builder,
            "config": b.config,
            "split": b.split,
            "fingerprint": b.fingerprint,
            "task": b.task,
            "target": b.target,
            "candidates": b.rule,
            "n_queries": b.n_queries,
            **pages.public_description(b),
        },
        "objective": objective,
        **board(db.entries(b), objective),
    }


def create_app(settings: Settings | None = None) -> Any:
    settings = settings or Settings()
    db_url = settings.db_url or default_url()
    db = open_db(db_url)
    limiter = RateLimiter(settings.rate_limit, settings.rate_window_s)
    checker = Checker(db, db_url, settings.verify_in, settings.verify_workers)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        checker.close()

    app = FastAPI(
        title="symile-bench leaderboard",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )

    @app.exception_handler(SubmissionRejected)
    async def _rejected(_request: Request, exc: SubmissionRejected) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(LeaderboardError)
    async def _not_found(_request: Request, exc: LeaderboardError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        db.ping()
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return pages.index_page(db.benchmarks())

    @app.get("/b/{name}", response_class=HTMLResponse)
    def benchmark_page(name: str, objective: str | None = None) -> str:
        b = db.benchmark(name)
        entries = db.entries(b)
        return pages.board_page(
            b,
            board(entries, objective),
            objectives=(sorted({e["objective"] for e in entries}), objective),
            json_url="/api/v1/leaderboard/" + quote(name, safe=""),
            card_url=pages.served_url(name) + "/card" if b.description.get("card") else None,
        )

    @app.get("/b/{name}/card", response_class=PlainTextResponse)
    def card(name: str) -> str:
        """The dataset card registered with the benchmark, as plain text (never rendered)."""
        text = db.benchmark(name).description.get("card")
        if not text:
            raise LeaderboardError(f"benchmark {name!r} was registered without its dataset card")
        return str(text)

    @app.get("/api/v1/benchmarks")
    def benchmarks() -> list[dict[str, Any]]:
        return [
            {"name": b.name, "fingerprint": b.fingerprint, "entries": n} for b, n in db.benchmarks()
        ]

    @app.get("/api/v1/leaderboard/{name}")
    def leaderboard(name: str, objective: str | None = None) -> dict[str, Any]:
        return _board_json(db, db.benchmark(name), objective)

    async def offload(fn: Callable[..., T], *args: Any) -> T:
        """A blocking database call, off the event loop (inline in the benchmark's loop mode)."""
        if settings.verify_in == "loop":
            return fn(*args)
        return await run_in_threadpool(fn, *args)

    @app.post("/api/v1/submissions", status_code=201)
    async def submit(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        scheme, _, secret = auth.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise SubmissionRejected("missing token: send 'Authorization: Bearer TOKEN'", 401)
        token = await offload(db.token_for, secret.strip())
        if token is None:
            raise SubmissionRejected("invalid or revoked token", 401)
        if not limiter.allow(token[1]):
            raise SubmissionRejected(
                f"rate limit: at most {settings.rate_limit} submissions per "
                f"{settings.rate_window_s:g} s per token; retry later",
                429,
            )
        checked = await checker(await request.body())
        b, entry = checked.benchmark, checked.entry
        entry_id = await offload(db.add_entry, token, b, entry)
        return JSONResponse(
            status_code=201,
            content={
                "id": entry_id,
                "benchmark": b.name,
                **{k: entry[k] for k in ("status", "top1", "ci_low", "ci_high", "n")},
                "url": "/b/" + quote(b.name, safe=""),
            },
        )

    return BodyLimit(app, settings.max_body_bytes)
