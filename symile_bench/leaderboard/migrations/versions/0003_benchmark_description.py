"""What a reader needs to read a board's rows: the benchmark's description (build settings,
chance level and reference levels, card), as one JSON document on the benchmarks table.

Revision ID: 0003
Revises: 0002

One JSON column rather than a column per field: the fields are display-only (nothing queries
them) and builders declare different settings. NULL on benchmarks registered before this
revision: their pages show what the other columns hold.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("benchmarks") as batch:
        batch.add_column(sa.Column("description", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("benchmarks") as batch:
        batch.drop_column("description")
