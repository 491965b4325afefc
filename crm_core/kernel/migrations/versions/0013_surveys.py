"""Satisfaction surveys: one per ticket, answered once, with CSAT, NPS and a comment.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE surveys (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            ticket_id    bigint NOT NULL UNIQUE REFERENCES tickets (id) ON DELETE CASCADE,
            customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            sent_at      timestamptz NOT NULL,
            answered_at  timestamptz,
            csat         smallint CHECK (csat BETWEEN 1 AND 5),
            nps          smallint CHECK (nps BETWEEN 0 AND 10),
            comment      text NOT NULL DEFAULT '',
            CHECK (answered_at IS NOT NULL OR (csat IS NULL AND nps IS NULL))
        );
        CREATE INDEX surveys_customer ON surveys (customer_id, sent_at DESC);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE surveys")
