"""Replays judged on canonical content: entries.content_sha256 unique per benchmark, operator
allowances for accepted duplicates.

``content_sha256`` is the hash of what the server verified (``verification.verify``), unique
per benchmark among original entries (``duplicate_of`` NULL; a partial index, which SQLite and
PostgreSQL both enforce). An entry the operator accepted as an honest duplicate points at the
original through ``duplicate_of``; ``duplicate_allowances`` holds each acceptance until the
submitter's resubmission uses it. The per-token raw-body index goes: a byte-identical body is
the same content, so the new index covers it (and would otherwise block an accepted duplicate).
Entries stored before this migration keep ``content_sha256`` NULL: their predictions were
never kept, so their content cannot be recomputed (NULLs never collide).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ORIGINALS = sa.text("duplicate_of IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("content_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("duplicate_of", sa.Integer, nullable=True))
        batch.create_foreign_key("fk_entries_duplicate_of", "entries", ["duplicate_of"], ["id"])
        batch.drop_constraint("uq_entries_token_body", type_="unique")
    op.create_index(
        "uq_entries_benchmark_content",
        "entries",
        ["benchmark_id", "content_sha256"],
        unique=True,
        sqlite_where=ORIGINALS,
        postgresql_where=ORIGINALS,
    )
    op.create_table(
        "duplicate_allowances",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id"), nullable=False),
        sa.Column("token_id", sa.Integer, sa.ForeignKey("tokens.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("entry_id", "token_id", name="uq_allowances_entry_token"),
    )


def downgrade() -> None:
    op.drop_table("duplicate_allowances")
    op.drop_index("uq_entries_benchmark_content", table_name="entries")
    with op.batch_alter_table("entries") as batch:
        batch.drop_constraint("fk_entries_duplicate_of", type_="foreignkey")
        batch.drop_column("duplicate_of")
        batch.drop_column("content_sha256")
        batch.create_unique_constraint("uq_entries_token_body", ["token_id", "body_sha256"])
