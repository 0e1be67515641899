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


# Plain ALTER TABLE on both databases (SQLite >= 3.35 drops columns): a batch operation would
# copy and drop `benchmarks`, which SQLite refuses while entries reference it.
def upgrade() -> None:
    op.add_column("benchmarks", sa.Column("description", sa.JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("benchmarks", "description")
