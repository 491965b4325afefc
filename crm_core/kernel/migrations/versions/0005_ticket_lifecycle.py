"""The field-service ticket lifecycle, and every change of a ticket in its history.

States (conventions §4.4): new -> assigned -> scheduled -> in_progress ->
waiting_for_customer (pauses the SLA clock) -> resolved -> closed, and cancelled. The old
helpdesk states map onto them: open -> in_progress, pending and on_hold ->
waiting_for_customer, solved -> resolved. ``ticket_history`` records who did what, when:
the creation, each change of status, each comment.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE tickets DROP CONSTRAINT tickets_status_check;
        DROP INDEX tickets_one_live_proactive;
        UPDATE tickets SET status = CASE status
            WHEN 'open' THEN 'in_progress'
            WHEN 'pending' THEN 'waiting_for_customer'
            WHEN 'on_hold' THEN 'waiting_for_customer'
            WHEN 'solved' THEN 'resolved'
            ELSE status END;
        ALTER TABLE tickets ADD CONSTRAINT tickets_status_check CHECK (status IN (
            'new', 'assigned', 'scheduled', 'in_progress', 'waiting_for_customer',
            'resolved', 'closed', 'cancelled'));
        CREATE UNIQUE INDEX tickets_one_live_proactive ON tickets (device_id)
            WHERE kind = 'proactive' AND status NOT IN ('resolved', 'closed', 'cancelled');
        CREATE TABLE ticket_history (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            ticket_id   bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
            at          timestamptz NOT NULL,
            actor       text NOT NULL,
            action      text NOT NULL CHECK (action IN ('created', 'status', 'comment')),
            old_status  text,
            new_status  text,
            comment     text NOT NULL DEFAULT ''
        );
        CREATE INDEX ticket_history_ticket ON ticket_history (ticket_id, at);
        INSERT INTO ticket_history (ticket_id, at, actor, action, new_status)
            SELECT id, created_at, 'careline', 'created', status FROM tickets;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE ticket_history;
        ALTER TABLE tickets DROP CONSTRAINT tickets_status_check;
        DROP INDEX tickets_one_live_proactive;
        UPDATE tickets SET status = CASE status
            WHEN 'assigned' THEN 'open' WHEN 'scheduled' THEN 'open'
            WHEN 'in_progress' THEN 'open' WHEN 'waiting_for_customer' THEN 'pending'
            WHEN 'resolved' THEN 'solved' WHEN 'cancelled' THEN 'closed'
            ELSE status END;
        ALTER TABLE tickets ADD CONSTRAINT tickets_status_check CHECK (status IN (
            'new', 'open', 'pending', 'on_hold', 'solved', 'closed'));
        CREATE UNIQUE INDEX tickets_one_live_proactive ON tickets (device_id)
            WHERE kind = 'proactive' AND status NOT IN ('solved', 'closed');
        """
    )
