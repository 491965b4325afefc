"""Fault acknowledgement reminders and SLA notices.

* ``ticket_history.action`` gains ``notice`` (a notice about the ticket was written to the
  outbox for a member of staff: an SLA warning or breach to the assignee, an escalation to
  its target) and ``reminder`` (a fault of the ticket is still not acknowledged);
* ``fault_reminders``: each acknowledgement reminder sent for a fault, numbered from 1.
  The primary key (fault, number) is what makes the reminder job idempotent: a rerun, or
  a second scheduler racing the first, cannot send reminder n twice. ``escalated`` marks
  the ones that went to the escalation address.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE ticket_history DROP CONSTRAINT ticket_history_action_check;
        ALTER TABLE ticket_history ADD CONSTRAINT ticket_history_action_check CHECK (
            action IN ('created', 'status', 'comment', 'assignment', 'schedule',
                       'resolution', 'sla', 'escalation', 'notice', 'reminder'));
        CREATE TABLE fault_reminders (
            fault_id    bigint NOT NULL REFERENCES faults (id) ON DELETE CASCADE,
            seq         integer NOT NULL CHECK (seq >= 1),
            sent_at     timestamptz NOT NULL,
            escalated   boolean NOT NULL,
            recipient   text NOT NULL CHECK (recipient <> ''),
            outbox_key  text NOT NULL,
            PRIMARY KEY (fault_id, seq)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE fault_reminders;
        DELETE FROM ticket_history WHERE action IN ('notice', 'reminder');
        ALTER TABLE ticket_history DROP CONSTRAINT ticket_history_action_check;
        ALTER TABLE ticket_history ADD CONSTRAINT ticket_history_action_check CHECK (
            action IN ('created', 'status', 'comment', 'assignment', 'schedule',
                       'resolution', 'sla', 'escalation'));
        """
    )
