"""EPCIS exchange and lot transformations (reserved).

Reserved in the chain so that work on separate branches lands without renumbering; the
branch that owns it fills it in.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
