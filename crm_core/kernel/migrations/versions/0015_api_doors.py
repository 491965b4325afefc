"""Server-side console sessions, and customer scopes for API keys and staff users.

* ``staff_sessions``: one row per console sign-in. The cookie carries a random token;
  only its SHA-256 is stored, so a copy of the table signs nobody in. A session ends when
  it is signed out or revoked (``revoked_at``), idle too long, or past ``expires_at``.
* ``customer_ids`` on ``api_keys`` and ``staff_users``: NULL lets the caller see every
  customer; an array limits it to those customers (and their sites, devices, faults and
  tickets).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE staff_sessions (
            token_hash     bytea PRIMARY KEY,
            user_id        bigint NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
            created_at     timestamptz NOT NULL,
            last_seen_at   timestamptz NOT NULL,
            expires_at     timestamptz NOT NULL,
            revoked_at     timestamptz,
            client_address text NOT NULL DEFAULT '',
            user_agent     text NOT NULL DEFAULT ''
        );
        CREATE INDEX staff_sessions_live ON staff_sessions (user_id) WHERE revoked_at IS NULL;
        ALTER TABLE api_keys ADD COLUMN customer_ids bigint[];
        ALTER TABLE staff_users ADD COLUMN customer_ids bigint[];
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE staff_users DROP COLUMN customer_ids;
        ALTER TABLE api_keys DROP COLUMN customer_ids;
        DROP TABLE staff_sessions;
        """
    )
