"""One submission from body to the entry to store, and where that CPU work runs.

``check`` parses, matches the registered benchmark and re-scores (``verification``); on a
large file that is a second or more of CPU inside C calls (``json``, pydantic, numpy) that hold
the GIL throughout, so a worker *thread* would still stall the event loop for each of those
calls. ``Checker`` therefore runs it in a bounded pool of worker processes, each with its own
database connection, and the event loop only waits on a future: pages and health checks keep
answering while submissions are verified. ``thread`` and ``loop`` (inline, the old behaviour)
exist for ``benchmarks/leaderboard_latency.py``, which compares the three.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal

from starlette.concurrency import run_in_threadpool

from symile_bench.executors import _worker_init as worker_init
from symile_bench.leaderboard.errors import SubmissionRejected
from symile_bench.leaderboard.storage import Benchmark, Database, open_db
from symile_bench.leaderboard.verification import claimed_fingerprint, parse_submission, verify

VerifyIn = Literal["process", "thread", "loop"]


@dataclass(frozen=True)
class Checked:
    """A verified (or reported) entry, ready for ``Database.add_entry``."""

    benchmark: Benchmark
    entry: dict[str, Any]


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


def check(db: Database, body: bytes) -> Checked:
    """Everything between the token check and storing: reads the database, writes nothing."""
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
    entry = dict(
        status=verdict.status,
        model=results.model.name,  # its length is bounded by parse_submission, never cut
        objective=results.model.scoring[:100],
        parameters=_parameters(meta),
        link=_link(meta),
        top1=verdict.top1,
        ci_low=verdict.ci_low,
        ci_high=verdict.ci_high,
        n=verdict.n,
        claimed_top1=verdict.claimed_top1,
        body_sha256=hashlib.sha256(body).hexdigest(),
        content_sha256=verdict.content_sha256,
        protocol=verdict.protocol,
        summary=json.dumps(summary),
    )
    return Checked(b, entry)


_worker_dbs: dict[str, Database] = {}


def _check_in_worker(db_url: str, body: bytes) -> Checked:
    """``check`` in a worker process, on that process's own connection (opened once)."""
    if db_url not in _worker_dbs:
        _worker_dbs[db_url] = open_db(db_url, migrate=False)
    return check(_worker_dbs[db_url], body)


class Checker:
    """Runs ``check`` where ``verify_in`` says: ``process`` (a pool of ``workers`` spawned
    processes, started on first use), ``thread`` (the server's thread pool) or ``loop``."""

    def __init__(self, db: Database, db_url: str, verify_in: VerifyIn, workers: int) -> None:
        self.db, self.db_url, self.verify_in, self.workers = db, db_url, verify_in, workers
        self._pool: ProcessPoolExecutor | None = None

    async def __call__(self, body: bytes) -> Checked:
        if self.verify_in == "loop":
            return check(self.db, body)
        if self.verify_in == "thread":
            return await run_in_threadpool(check, self.db, body)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=worker_init,  # exit with the server, even a SIGKILLed one
                initargs=(os.getpid(),),
            )
        try:
            return await asyncio.wrap_future(self._pool.submit(_check_in_worker, self.db_url, body))
        except BrokenProcessPool:  # a worker was killed (e.g. out of memory): start afresh
            self.close()
            raise SubmissionRejected(
                "the verification worker stopped; nothing was stored, submit again", 503
            ) from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
