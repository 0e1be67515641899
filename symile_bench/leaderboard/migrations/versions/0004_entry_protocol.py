"""The protocol of the numbers an entry shows (``evaluate --protocol``): ``default`` (the whole
split's top-1 with a percentile-bootstrap interval) or ``release`` (the code release's mean of 10
bootstrap samples ± its SE, whose interval is narrower by about sqrt(10)), so a board never
lists the two unmarked side by side.

Revision ID: 0004
Revises: 0003

NULL on entries stored before this revision: ``--protocol`` did not exist, so their numbers are
the default protocol's (pages and the API show ``default``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, as in 0003 (a batch operation would copy and drop `entries`).
def upgrade() -> None:
    op.add_column("entries", sa.Column("protocol", sa.String(20), nullable=True))


def downgrade() -> None:
    op.drop_column("entries", "protocol")
