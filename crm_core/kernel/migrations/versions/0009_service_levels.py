"""SLA policies, assignment, entitlement and resolution.

* ``tickets``: the priority assessment (impact, urgency, severity, safety, the
  time-to-failure estimate), the contract tier whose SLA policy applies (fixed when the
  ticket opens), the assigned technician and appointment window, the queue it was
  escalated to, the resolution code and whether it was a first-time fix;
* ``ticket_history.action`` gains assignment, schedule, resolution, sla, escalation;
* ``sla_alerts``: each SLA warning and breach raised, once per ticket, clock and kind (the
  primary key is what makes the every-minute job idempotent, also with two schedulers);
* an index for a technician's live tickets (their load, their day).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE tickets
            ADD COLUMN impact text CHECK (impact IN ('high', 'medium', 'low')),
            ADD COLUMN urgency text CHECK (urgency IN ('high', 'medium', 'low')),
            ADD COLUMN severity text CHECK (severity IN ('high', 'medium', 'low')),
            ADD COLUMN safety boolean NOT NULL DEFAULT false,
            ADD COLUMN hours_to_failure double precision CHECK (hours_to_failure >= 0),
            ADD COLUMN sla_tier text NOT NULL DEFAULT 'none'
                CHECK (sla_tier IN ('premium', 'standard', 'basic', 'none')),
            ADD COLUMN technician_id bigint REFERENCES technicians (id) ON DELETE SET NULL,
            ADD COLUMN window_start timestamptz,
            ADD COLUMN window_end timestamptz,
            ADD COLUMN queue text,
            ADD COLUMN resolution_code text,
            ADD COLUMN first_time_fix boolean,
            ADD CONSTRAINT tickets_window CHECK (window_end > window_start);
        CREATE INDEX tickets_technician ON tickets (technician_id, window_start)
            WHERE technician_id IS NOT NULL;
        ALTER TABLE ticket_history DROP CONSTRAINT ticket_history_action_check;
        ALTER TABLE ticket_history ADD CONSTRAINT ticket_history_action_check CHECK (
            action IN ('created', 'status', 'comment', 'assignment', 'schedule',
                       'resolution', 'sla', 'escalation'));
        CREATE TABLE sla_alerts (
            ticket_id  bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
            metric     text NOT NULL CHECK (metric IN ('first_response', 'resolution')),
            kind       text NOT NULL CHECK (kind IN ('warning', 'breach')),
            raised_at  timestamptz NOT NULL,
            due_at     timestamptz,
            PRIMARY KEY (ticket_id, metric, kind)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE sla_alerts;
        DELETE FROM ticket_history WHERE action NOT IN ('created', 'status', 'comment');
        ALTER TABLE ticket_history DROP CONSTRAINT ticket_history_action_check;
        ALTER TABLE ticket_history ADD CONSTRAINT ticket_history_action_check CHECK (
            action IN ('created', 'status', 'comment'));
        DROP INDEX tickets_technician;
        ALTER TABLE tickets
            DROP CONSTRAINT tickets_window,
            DROP COLUMN first_time_fix,
            DROP COLUMN resolution_code,
            DROP COLUMN queue,
            DROP COLUMN window_end,
            DROP COLUMN window_start,
            DROP COLUMN technician_id,
            DROP COLUMN sla_tier,
            DROP COLUMN hours_to_failure,
            DROP COLUMN safety,
            DROP COLUMN severity,
            DROP COLUMN urgency,
            DROP COLUMN impact;
        """
    )
