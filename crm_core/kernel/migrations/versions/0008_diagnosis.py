"""Faults carry their diagnosis: probable cause, part to bring, advice and time to failure.

* ``faults.diagnosis`` (jsonb): what :func:`devices.diagnosis.diagnose` found when the fault
  was recorded (cause, label, part, visit, advice, cleared_hint, signature,
  hours_to_failure, confidence, urgency_note); null when not diagnosed (no data, or a
  fault recorded before this revision);
* ``faults.hours_to_failure``: the urgency estimate as a column, for priority rules and for
  sorting a queue by it;
* ``faults.cause``: the diagnosed cause (null when none), generated from ``diagnosis``: the
  product-issue grouping reads it (``to_jsonb(f) ->> 'cause'``) to call faults alike.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE faults ADD COLUMN diagnosis jsonb;
        ALTER TABLE faults ADD COLUMN hours_to_failure double precision
            CHECK (hours_to_failure IS NULL OR hours_to_failure >= 0);
        ALTER TABLE faults ADD COLUMN cause text
            GENERATED ALWAYS AS (nullif(diagnosis ->> 'cause', '')) STORED;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE faults DROP COLUMN cause;
        ALTER TABLE faults DROP COLUMN hours_to_failure;
        ALTER TABLE faults DROP COLUMN diagnosis;
        """
    )
