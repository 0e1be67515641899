"""Table definitions (SQLAlchemy Core). The Alembic migrations in ``migrations/`` create and
evolve these tables; a change here needs a new migration so an upgrade keeps existing entries."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

benchmarks = Table(
    "benchmarks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("builder", String(100), nullable=False),
    Column("config", String(200), nullable=False),
    Column("split", String(100), nullable=False),
    Column("fingerprint", String(128), nullable=False, unique=True),
    Column("dataset_fingerprint", String(128), nullable=False),
    Column("task", String(100), nullable=False),
    Column("target", String(100), nullable=False),
    Column("rule", String(100), nullable=False),
    Column("n_queries", Integer, nullable=False),
    Column("answer_key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # build settings, chance and reference levels, card (answerkey.describe); display only
    Column("description", JSON, nullable=True),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

entries = Table(
    "entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("benchmark_id", Integer, ForeignKey("benchmarks.id"), nullable=False),
    Column("token_id", Integer, ForeignKey("tokens.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("model", String(500), nullable=False),
    Column("objective", String(100), nullable=False),
    Column("parameters", String(200), nullable=True),
    Column("link", String(2000), nullable=True),
    Column("top1", Float, nullable=False),
    Column("ci_low", Float, nullable=False),
    Column("ci_high", Float, nullable=False),
    Column("n", Integer, nullable=False),
    Column("claimed_top1", Float, nullable=True),
    Column("body_sha256", String(64), nullable=False),
    Column("summary", Text, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    # what the server verified (NULL for entries stored before migration 0002)
    Column("content_sha256", String(64), nullable=True),
    # the protocol of the numbers shown (migration 0004; NULL before it: default)
    Column("protocol", String(20), nullable=True),
    # set on a duplicate the operator accepted (`leaderboard allow-duplicate`)
    Column(
        "duplicate_of",
        Integer,
        ForeignKey("entries.id", name="fk_entries_duplicate_of"),
        nullable=True,
    ),
    Index(
        "uq_entries_benchmark_content",
        "benchmark_id",
        "content_sha256",
        unique=True,
        sqlite_where=text("duplicate_of IS NULL"),
        postgresql_where=text("duplicate_of IS NULL"),
    ),
)

duplicate_allowances = Table(
    "duplicate_allowances",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entry_id", Integer, ForeignKey("entries.id"), nullable=False),
    Column("token_id", Integer, ForeignKey("tokens.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("entry_id", "token_id", name="uq_allowances_entry_token"),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(50), nullable=False),
    Column("target", String(500), nullable=False),
    Column("detail", Text, nullable=False, default=""),
)
