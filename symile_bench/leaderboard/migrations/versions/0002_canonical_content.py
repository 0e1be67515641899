"""PLACEHOLDER for the "lb" branch's revision 0002 (canonical-content replay detection).

Revision ID: 0002
Revises: 0001

This file only exists so that 0003 (which follows 0002) has a parent on this branch; the real
0002 replaces it, file and all, when the branches merge. It changes nothing.
"""

from __future__ import annotations

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
