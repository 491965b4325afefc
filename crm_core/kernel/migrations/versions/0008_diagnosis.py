"""Fault diagnosis and urgency; the multi-metric detector (reserved).

Reserved in the chain so that work on separate branches lands without renumbering; the
branch that owns it fills it in.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
