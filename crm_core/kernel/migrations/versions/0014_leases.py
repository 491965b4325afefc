"""Named leases (one scheduler at a time, taken over when one dies) and the job store.

``apscheduler_jobs`` is APScheduler's SQLAlchemy job store table, made here rather than by
APScheduler at run time, so that the schema is all in migrations.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE leases (
            name        text PRIMARY KEY,
            holder      text NOT NULL,
            token       bigint NOT NULL,
            expires_at  timestamptz NOT NULL
        );
        CREATE TABLE apscheduler_jobs (
            id             varchar(191) PRIMARY KEY,
            next_run_time  double precision,
            job_state      bytea NOT NULL
        );
        CREATE INDEX ix_apscheduler_jobs_next_run_time ON apscheduler_jobs (next_run_time);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE leases; DROP TABLE apscheduler_jobs;")
