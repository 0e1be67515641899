"""The FastAPI app: pages, the JSON API, and submissions.

``POST /api/v1/submissions`` (``Authorization: Bearer TOKEN``, body = a results.json):
size cap → token → rate limit → strict parse → registered fingerprint → re-score → store.
Every refusal is a 4xx with ``{"detail": "<one line>"}`` and stores nothing. A replay is the
same body (sha256) from the same token; resubmitting changed content is a new entry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from symile_bench.leaderboard import pages
from symile_bench.leaderboard.errors import LeaderboardError, SubmissionRejected
from symile_bench.leaderboard.limits import BodyLimit, RateLimiter
from symile_bench.leaderboard.ranking import board
from symile_bench.leaderboard.storage import Benchmark, Database, open_db
from symile_bench.leaderboard.verification import claimed_fingerprint, parse_submission, verify

MAX_BODY_BYTES = 32 * 1024 * 1024
RATE_LIMIT = 30  # submissions per token per minute


@dataclass(frozen=True)
class Settings:
    db_url: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    rate_limit: int = RATE_LIMIT
    rate_window_s: float = 60.0


def _parameters(meta: dict[str, Any]) -> str | None:
    for key in ("parameters", "params", "n_parameters", "num_parameters"):
        if key in meta and isinstance(meta[key], (int, float, str)):
            return str(meta[key])[:200]
    return None


def _link(meta: dict[str, Any]) -> str | None:
    for key in ("link", "url", "paper", "code"):
        if isinstance(meta.get(key), str):
            return meta[key][:2000]
    return None


def _board_json(db: Database, b: Benchmark) -> dict[str, Any]:
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
        **board(db.entries(b)),
    }


def create_app(settings: Settings | None = None, db: Database | None = None) -> Any:
    settings = settings or Settings()
    db = db or open_db(settings.db_url)
    limiter = RateLimiter(settings.rate_limit, settings.rate_window_s)
    app = FastAPI(title="symile-bench leaderboard", docs_url=None, redoc_url=None, openapi_url=None)

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
    def benchmark_page(name: str) -> str:
        b = db.benchmark(name)
        return pages.board_page(
            b,
            board(db.entries(b)),
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
    def leaderboard(name: str) -> dict[str, Any]:
        return _board_json(db, db.benchmark(name))

    @app.post("/api/v1/submissions", status_code=201)
    async def submit(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        scheme, _, secret = auth.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise SubmissionRejected("missing token: send 'Authorization: Bearer TOKEN'", 401)
        token = db.token_for(secret.strip())
        if token is None:
            raise SubmissionRejected("invalid or revoked token", 401)
        if not limiter.allow(token[1]):
            raise SubmissionRejected(
                f"rate limit: at most {settings.rate_limit} submissions per "
                f"{settings.rate_window_s:g} s per token; retry later",
                429,
            )
        body = await request.body()
        results = parse_submission(body)
        fingerprint = claimed_fingerprint(results)
        b = db.benchmark_by_fingerprint(fingerprint)
        if b is None:
            raise SubmissionRejected(
                f"unknown fingerprint {fingerprint[:16]}…: no registered benchmark was built "
                "with it (score the registered split; see GET /api/v1/benchmarks)",
                422,
            )
        if results.task.target_modality != b.target or (
            results.task.candidates.rule not in (None, b.rule)
        ):
            raise SubmissionRejected(
                f"benchmark {b.name!r} scores target {b.target!r} with candidates {b.rule!r}; "
                f"these results use {results.task.target_modality!r} / "
                f"{results.task.candidates.rule!r}",
                422,
            )
        verdict = verify(results, db.answer_key(b), b.split)
        meta = results.model.metadata
        summary = results.model_dump(mode="json", exclude={"predictions"})
        entry_id = db.add_entry(
            token,
            b,
            dict(
                status=verdict.status,
                model=results.model.name[:500],
                objective=results.model.scoring[:100],
                parameters=_parameters(meta),
                link=_link(meta),
                top1=verdict.top1,
                ci_low=verdict.ci_low,
                ci_high=verdict.ci_high,
                n=verdict.n,
                claimed_top1=verdict.claimed_top1,
                body_sha256=hashlib.sha256(body).hexdigest(),
                summary=json.dumps(summary),
            ),
        )
        return JSONResponse(
            status_code=201,
            content={
                "id": entry_id,
                "benchmark": b.name,
                "status": verdict.status,
                "top1": verdict.top1,
                "ci_low": verdict.ci_low,
                "ci_high": verdict.ci_high,
                "n": verdict.n,
                "url": "/b/" + quote(b.name, safe=""),
            },
        )

    return BodyLimit(app, settings.max_body_bytes)
