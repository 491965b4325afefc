"""Faults are acknowledged by someone, with a comment; every step of a fault is history.

* ``faults.status`` gains ``acknowledged`` (open -> acknowledged -> cleared); an
  acknowledged fault is still live, so the one-live-fault rule covers it;
* ``faults.acknowledged_at`` and ``acknowledged_by``;
* ``fault_notes``: who did what to a fault, when, with what comment.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE faults DROP CONSTRAINT faults_status_check;
        ALTER TABLE faults ADD CONSTRAINT faults_status_check
            CHECK (status IN ('open', 'acknowledged', 'cleared'));
        ALTER TABLE faults ADD COLUMN acknowledged_at timestamptz;
        ALTER TABLE faults ADD COLUMN acknowledged_by text;
        ALTER TABLE faults ADD CONSTRAINT faults_acknowledged_check
            CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL));
        DROP INDEX faults_one_open;
        CREATE UNIQUE INDEX faults_one_open ON faults (device_id, metric, detector)
            WHERE status <> 'cleared';
        CREATE TABLE fault_notes (
            id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            fault_id  bigint NOT NULL REFERENCES faults (id) ON DELETE CASCADE,
            at        timestamptz NOT NULL,
            author    text NOT NULL,
            action    text NOT NULL CHECK (action IN ('acknowledged', 'commented', 'absorbed')),
            comment   text NOT NULL DEFAULT ''
        );
        CREATE INDEX fault_notes_fault ON fault_notes (fault_id, at);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE fault_notes;
        DROP INDEX faults_one_open;
        CREATE UNIQUE INDEX faults_one_open ON faults (device_id, metric, detector)
            WHERE status = 'open';
        UPDATE faults SET status = 'open' WHERE status = 'acknowledged';
        ALTER TABLE faults DROP CONSTRAINT faults_acknowledged_check;
        ALTER TABLE faults DROP COLUMN acknowledged_by;
        ALTER TABLE faults DROP COLUMN acknowledged_at;
        ALTER TABLE faults DROP CONSTRAINT faults_status_check;
        ALTER TABLE faults ADD CONSTRAINT faults_status_check
            CHECK (status IN ('open', 'cleared'));
        """
    )
