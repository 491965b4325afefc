"""Server-side sessions, sign-in throttling and API key scopes (reserved).

Reserved in the chain so that work on separate branches lands without renumbering; the
branch that owns it fills it in.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
