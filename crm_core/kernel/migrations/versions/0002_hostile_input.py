"""Ingest survives any message: a quarantine of raw bytes, and dead letters kept bounded.

* ``quarantine``: messages that could not even be dead-lettered, byte for byte. Only
  ``bytea`` columns (and a time the server fills in), so that nothing a message carries
  can make the insert fail.
* ``dead_letters.payload_complete``: false when only the head of an oversized payload was
  kept; such a dead letter cannot be replayed.
* an index on ``dead_letters.last_received_at`` for the retention job, which deletes dead
  letters not seen again for ``ingest.dead_letter_retention_days``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE quarantine (
            id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            topic          bytea NOT NULL,
            payload        bytea NOT NULL,
            error          bytea NOT NULL,
            quarantined_at timestamptz NOT NULL DEFAULT now()
        );
        ALTER TABLE dead_letters ADD COLUMN payload_complete boolean NOT NULL DEFAULT true;
        CREATE INDEX dead_letters_last_received ON dead_letters (last_received_at);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX dead_letters_last_received;
        ALTER TABLE dead_letters DROP COLUMN payload_complete;
        DROP TABLE quarantine;
        """
    )
