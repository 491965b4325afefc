"""Product issues (the fleet view) and daily report snapshots.

* ``product_issues``: devices of one model, firmware or production batch that fault alike
  within a window, grouped into one issue for quality and engineering. At most one live
  (not resolved) issue per group and fault signature, whatever races: the partial unique
  index is what two ingest workers meet on;
* ``product_issue_faults``: the faults behind an issue (a fault belongs to one issue at
  most); its devices, tickets and customers follow from them;
* ``product_issue_notes``: the issue's history (opened, status changes, comments);
* ``report_snapshots``: one row per report and day, written by the scheduler, so that a
  report's figures as they were that day can be read back.

(The surveys this slot was first reserved with have their own slot, 0013.)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE product_issues (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            dimension       text NOT NULL CHECK (dimension IN ('batch', 'firmware', 'model')),
            device_type     text NOT NULL,
            group_value     text NOT NULL CHECK (group_value <> ''),
            signature       text NOT NULL CHECK (signature <> ''),
            title           text NOT NULL,
            status          text NOT NULL CHECK (status IN ('open', 'investigating', 'resolved')),
            first_fault_at  timestamptz NOT NULL,
            last_fault_at   timestamptz NOT NULL,
            opened_at       timestamptz NOT NULL,
            updated_at      timestamptz NOT NULL,
            resolved_at     timestamptz,
            CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
            CHECK (last_fault_at >= first_fault_at)
        );
        CREATE UNIQUE INDEX product_issues_one_live
            ON product_issues (dimension, device_type, group_value, signature)
            WHERE status <> 'resolved';
        CREATE INDEX product_issues_opened ON product_issues (opened_at DESC);
        CREATE TABLE product_issue_faults (
            issue_id   bigint NOT NULL REFERENCES product_issues (id) ON DELETE CASCADE,
            fault_id   bigint NOT NULL UNIQUE REFERENCES faults (id) ON DELETE CASCADE,
            device_id  integer NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            linked_at  timestamptz NOT NULL,
            PRIMARY KEY (issue_id, fault_id)
        );
        CREATE INDEX product_issue_faults_device ON product_issue_faults (device_id);
        CREATE TABLE product_issue_notes (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            issue_id    bigint NOT NULL REFERENCES product_issues (id) ON DELETE CASCADE,
            at          timestamptz NOT NULL,
            author      text NOT NULL,
            action      text NOT NULL CHECK (action IN ('opened', 'status', 'comment')),
            old_status  text,
            new_status  text,
            comment     text NOT NULL DEFAULT ''
        );
        CREATE INDEX product_issue_notes_issue ON product_issue_notes (issue_id, at);
        CREATE TABLE report_snapshots (
            name          text NOT NULL,
            day           date NOT NULL,
            generated_at  timestamptz NOT NULL,
            rows          jsonb NOT NULL,
            PRIMARY KEY (name, day)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE report_snapshots;
        DROP TABLE product_issue_notes;
        DROP TABLE product_issue_faults;
        DROP TABLE product_issues;
        """
    )
