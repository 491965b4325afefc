"""Console and demo fixes (reserved).

Reserved in the chain so that work on separate branches lands without renumbering; the
branch that owns it fills it in.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
