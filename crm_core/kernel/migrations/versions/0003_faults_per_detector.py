"""One open fault per device, metric and detector: a hard limit and a learned detector on
the same metric are two faults, each with its own onset and clearing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        DROP INDEX faults_one_open;
        DROP INDEX faults_onset;
        CREATE UNIQUE INDEX faults_one_open ON faults (device_id, metric, detector)
            WHERE status = 'open';
        CREATE UNIQUE INDEX faults_onset ON faults (device_id, metric, detector, opened_at);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX faults_one_open;
        DROP INDEX faults_onset;
        CREATE UNIQUE INDEX faults_one_open ON faults (device_id, metric) WHERE status = 'open';
        CREATE UNIQUE INDEX faults_onset ON faults (device_id, metric, opened_at);
        """
    )
