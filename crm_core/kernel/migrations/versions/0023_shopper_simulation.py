"""Shopper simulation and app receipts (reserved).

Reserved in the chain so that work on separate branches lands without renumbering; the
branch that owns it fills it in.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
