"""Broker credentials: one account per device (and per careline service), and their history.

* ``broker_accounts``: the accounts the broker's password file is written from. A device's
  account is named after its serial (the ACL lets user ``X`` publish only under
  ``dt/X/...``); a service account (ingest, presence, push, simulator) has no device. Only
  the broker's hash of the secret is kept (Mosquitto's PBKDF2-SHA512 ``$7$`` form), never
  the secret: a copy of the table logs nobody in. NATS (the scale-out broker) takes bcrypt
  instead, kept beside it (``nats_password_hash``). A revoked account keeps its row, with
  no hash.
* ``broker_account_events``: every issue, rotation and revocation, when and by whom.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE broker_accounts (
            username      text PRIMARY KEY
                          CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
            kind          text NOT NULL CHECK (kind IN ('device', 'service')),
            device_id     integer UNIQUE REFERENCES devices (id) ON DELETE CASCADE,
            password_hash text CHECK (password_hash ~ '^\\$7\\$[0-9]+\\$[A-Za-z0-9+/=]+\\$[A-Za-z0-9+/=]+$'),
            nats_password_hash text CHECK (nats_password_hash ~ '^\\$2[aby]\\$[0-9]{2}\\$[./A-Za-z0-9]{53}$'),
            issued_at     timestamptz NOT NULL,
            rotated_at    timestamptz,
            revoked_at    timestamptz,
            CHECK ((kind = 'device') = (device_id IS NOT NULL)),
            CHECK ((revoked_at IS NULL) = (password_hash IS NOT NULL)),
            CHECK ((revoked_at IS NULL) = (nats_password_hash IS NOT NULL))
        );
        CREATE TABLE broker_account_events (
            id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            username  text NOT NULL REFERENCES broker_accounts (username) ON DELETE CASCADE,
            event     text NOT NULL CHECK (event IN ('issued', 'rotated', 'revoked')),
            at        timestamptz NOT NULL,
            actor     text NOT NULL
        );
        CREATE INDEX broker_account_events_by_account ON broker_account_events (username, at);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE broker_account_events;
        DROP TABLE broker_accounts;
        """
    )
