"""The leaderboard database: open (and migrate) it, and every read and write the app and the
operator commands need. SQLite by default (WAL, so readers never wait for a submission),
PostgreSQL or any SQLAlchemy URL otherwise. Each write adds its audit row in the same
transaction, so there is no write without one."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, String, Table, create_engine, delete, event, func, insert, select
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError

from symile_bench.leaderboard import schema as t
from symile_bench.leaderboard.answerkey import AnswerKey, SplitKey
from symile_bench.leaderboard.errors import LeaderboardError, SubmissionRejected
from symile_bench.leaderboard.tokens import hash_token, new_token

DEFAULT_URL = "sqlite:///symile-leaderboard.db"
ENV_URL = "SYMILE_LEADERBOARD_DB"


def default_url() -> str:
    return os.environ.get(ENV_URL, DEFAULT_URL)


def _now() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


@dataclass(frozen=True)
class Benchmark:
    id: int
    name: str
    builder: str
    config: str
    split: str
    fingerprint: str
    task: str
    target: str
    rule: str
    n_queries: int
    created_at: datetime
    # answerkey.describe: build settings, chance and reference levels, card ({} if older)
    description: dict[str, Any] = field(default_factory=dict)


def _check_lengths(table: Table, row: dict[str, Any]) -> None:
    """Refuse a value longer than its column: SQLite stores it anyway, PostgreSQL refuses it
    with a database error, so the limit is checked here, the same for both."""
    for name, value in row.items():
        limit = getattr(table.c[name].type, "length", None)
        if isinstance(table.c[name].type, String) and limit and len(str(value)) > limit:
            raise LeaderboardError(f"{name} {str(value)[:40]!r}… is longer than {limit} characters")


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- operator writes ------------------------------------------------------------------------
    def add_benchmark(self, name: str, sk: SplitKey, actor: str = "operator") -> Benchmark:
        row = dict(
            name=name,
            builder=sk.builder,
            config=sk.config,
            split=sk.split,
            fingerprint=sk.fingerprint,
            dataset_fingerprint=sk.dataset_fingerprint,
            task=sk.task,
            target=sk.target,
            rule=sk.rule,
            n_queries=len(sk.key.query_ids),
            answer_key=sk.key.to_bytes(),
            created_at=_now(),
            description=sk.description,
        )
        _check_lengths(t.benchmarks, row)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(t.benchmarks).values(**row))
                self._audit(conn, actor, "add_benchmark", name, f"fingerprint {sk.fingerprint}")
        except IntegrityError:
            raise LeaderboardError(
                f"a benchmark named {name!r} or with fingerprint {sk.fingerprint[:16]}… is "
                "already registered; pick another --name"
            ) from None
        return self.benchmark(name)

    def create_token(self, name: str, actor: str = "operator") -> str:
        """A new secret for submitter ``name``; only its sha256 is stored, so it is shown once."""
        secret = new_token()
        row = dict(name=name, token_hash=hash_token(secret), revoked=False, created_at=_now())
        _check_lengths(t.tokens, row)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(t.tokens).values(**row))
                self._audit(conn, actor, "create_token", name)
        except IntegrityError:
            raise LeaderboardError(f"a token named {name!r} already exists") from None
        return secret

    # -- submissions ---------------------------------------------------------------------------
    def token_for(self, secret: str) -> tuple[int, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.tokens.c.id, t.tokens.c.name).where(
                    t.tokens.c.token_hash == hash_token(secret), t.tokens.c.revoked.is_(False)
                )
            ).first()
        return None if row is None else (row.id, row.name)

    def add_entry(self, token: tuple[int, str], benchmark: Benchmark, entry: dict[str, Any]) -> int:
        """Store one entry. Content already on this benchmark (``entry["content_sha256"]``, the
        unique index decides, so concurrent copies cannot both land) is a replay: 409 naming
        the earlier entry, unless the operator allowed this token one duplicate of it."""
        try:
            with self.engine.begin() as conn:
                return self._insert_entry(conn, token, benchmark, entry, None)
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            original = conn.execute(
                select(t.entries.c.id).where(
                    t.entries.c.benchmark_id == benchmark.id,
                    t.entries.c.content_sha256 == entry["content_sha256"],
                    t.entries.c.duplicate_of.is_(None),
                )
            ).scalar_one()
            allowance = t.duplicate_allowances.c
            used = conn.execute(
                delete(t.duplicate_allowances).where(
                    allowance.entry_id == original, allowance.token_id == token[0]
                )
            ).rowcount
            if used:
                return self._insert_entry(conn, token, benchmark, entry, original)
        raise SubmissionRejected(
            f"replayed submission: entry {original} on {benchmark.name!r} already holds this "
            f"content ({entry['status']}, sha256 {entry['content_sha256'][:16]}…), whatever "
            "the model name, token or JSON formatting; if it is another model that gives "
            "identical results, ask the operator to accept it with `symile-bench leaderboard "
            f"allow-duplicate {original} --submitter {token[1]}` and submit again",
            409,
        )

    def _insert_entry(
        self,
        conn: Any,
        token: tuple[int, str],
        benchmark: Benchmark,
        entry: dict[str, Any],
        duplicate_of: int | None,
    ) -> int:
        entry_id: int = conn.execute(
            insert(t.entries)
            .values(
                benchmark_id=benchmark.id,
                token_id=token[0],
                submitted_at=_now(),
                duplicate_of=duplicate_of,
                **entry,
            )
            .returning(t.entries.c.id)
        ).scalar_one()
        accepted = "" if duplicate_of is None else f" accepted duplicate of entry {duplicate_of}"
        self._audit(
            conn,
            token[1],
            "submit",
            benchmark.name,
            f"entry {entry_id} {entry['status']} content {entry['content_sha256']}{accepted}",
        )
        return entry_id

    def allow_duplicate(self, entry_id: int, submitter: str, actor: str = "operator") -> str:
        """Let ``submitter`` store the content of entry ``entry_id`` once more (an operator's
        decision that two models honestly give identical results); returns its benchmark."""
        e, tok = t.entries.c, t.tokens.c
        try:
            with self.engine.begin() as conn:
                row = conn.execute(
                    select(e.duplicate_of, e.content_sha256, t.benchmarks.c.name)
                    .join(t.benchmarks, t.benchmarks.c.id == e.benchmark_id)
                    .where(e.id == entry_id)
                ).first()
                token_id = conn.execute(select(tok.id).where(tok.name == submitter)).scalar()
                if row is None or row.duplicate_of is not None or row.content_sha256 is None:
                    raise LeaderboardError(
                        f"entry {entry_id} is not an original entry with known content (give "
                        "the id the 409 reply names)"
                    )
                if token_id is None:
                    raise LeaderboardError(
                        f"no token named {submitter!r} (see `leaderboard token`)"
                    )
                conn.execute(
                    insert(t.duplicate_allowances).values(
                        entry_id=entry_id, token_id=token_id, created_at=_now()
                    )
                )
                self._audit(
                    conn, actor, "allow_duplicate", row.name, f"entry {entry_id} {submitter}"
                )
        except IntegrityError:
            raise LeaderboardError(
                f"{submitter!r} may already submit one duplicate of entry {entry_id}"
            ) from None
        return str(row.name)

    # -- reads ---------------------------------------------------------------------------------
    def benchmarks(self) -> list[tuple[Benchmark, int]]:
        counts = (
            select(t.entries.c.benchmark_id, func.count().label("n"))
            .group_by(t.entries.c.benchmark_id)
            .subquery()
        )
        query = (
            select(t.benchmarks, counts.c.n)
            .outerjoin(counts, counts.c.benchmark_id == t.benchmarks.c.id)
            .order_by(t.benchmarks.c.name)
        )
        with self.engine.connect() as conn:
            return [(self._benchmark(r), int(r.n or 0)) for r in conn.execute(query)]

    def benchmark(self, name: str) -> Benchmark:
        return self._benchmark(self._one(t.benchmarks.c.name == name, f"no benchmark {name!r}"))

    def benchmark_by_fingerprint(self, fingerprint: str) -> Benchmark | None:
        """The benchmark of a split fingerprint (or, for results that name only the dataset's,
        the first split registered from that build)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.benchmarks)
                .where(
                    (t.benchmarks.c.fingerprint == fingerprint)
                    | (t.benchmarks.c.dataset_fingerprint == fingerprint)
                )
                .order_by(t.benchmarks.c.id)
            ).first()
        return None if row is None else self._benchmark(row)

    def answer_key(self, benchmark: Benchmark) -> AnswerKey:
        with self.engine.connect() as conn:
            data = conn.execute(
                select(t.benchmarks.c.answer_key).where(t.benchmarks.c.id == benchmark.id)
            ).scalar_one()
        return AnswerKey.from_bytes(data)

    def entries(self, benchmark: Benchmark) -> list[dict[str, Any]]:
        cols = [c for c in t.entries.c if c.name not in ("summary", "token_id", "benchmark_id")]
        query = (
            select(*cols, t.tokens.c.name.label("submitter"))
            .join(t.tokens, t.tokens.c.id == t.entries.c.token_id)
            .where(t.entries.c.benchmark_id == benchmark.id)
            .order_by(t.entries.c.top1.desc(), t.entries.c.id)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def audit_rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t.audit).order_by(t.audit.c.id))]

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))

    # -- helpers -------------------------------------------------------------------------------
    def _one(self, where: Any, missing: str) -> Any:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.benchmarks).where(where)).first()
        if row is None:
            raise LeaderboardError(missing)
        return row

    @staticmethod
    def _benchmark(row: Any) -> Benchmark:
        return Benchmark(
            row.id,
            row.name,
            row.builder,
            row.config,
            row.split,
            row.fingerprint,
            row.task,
            row.target,
            row.rule,
            row.n_queries,
            row.created_at,
            row.description or {},
        )

    @staticmethod
    def _audit(conn: Any, actor: str, action: str, target: str, detail: str = "") -> None:
        conn.execute(
            insert(t.audit).values(
                at=_now(), actor=actor, action=action, target=target, detail=detail
            )
        )


def migration_config() -> Config:
    """Alembic's configuration for the migrations shipped in the package (no ini file)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files("symile_bench.leaderboard") / "migrations"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is already there)."""
    cfg = migration_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_db(url: str | None = None, *, migrate: bool = True) -> Database:
    """Connect to ``url`` (default: $SYMILE_LEADERBOARD_DB or ./symile-leaderboard.db) and
    migrate it (``migrate=False``: a verification worker, whose server has migrated it)."""
    url = url or default_url()
    if url.startswith("postgresql://"):  # the driver the `leaderboard` extra installs
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as e:
        raise LeaderboardError(f"--db {url!r} is not a usable database URL ({e})") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        db_path = engine.url.database
        if db_path and db_path != ":memory:" and not Path(db_path).parent.exists():
            raise LeaderboardError(f"--db {url!r}: folder {Path(db_path).parent} does not exist")
    try:
        if migrate:
            upgrade(engine)
    except OperationalError as e:
        raise LeaderboardError(f"--db {url!r}: cannot open the database ({e.orig})") from None
    return Database(engine)
