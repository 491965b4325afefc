"""The records a service team works from: contracts, technicians, contact preferences, audit.

* ``customers.preferred_channel``: how the customer wants to be reached (email, phone,
  sms, push), shown on their tickets; what they *allow* is the consent ledger's job;
* ``service_contracts``: a customer's contract, for all their devices or one, with a tier
  (basic, standard, premium) that picks the SLA policy, and its validity;
* ``technicians``: who can be sent, with skills, a home base (for the distance to an
  install site), a region and whether they are active; optionally a staff sign-in;
* ``devices.production_batch``: the batch a device was built in, so that the fleet view
  can group faults by model, firmware and batch;
* ``audit_log``: every change to a ticket, threshold, consent or CRM record, with who,
  when and what, for the console's audit page and for the regulator.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE devices ADD COLUMN production_batch text;
        ALTER TABLE customers ADD COLUMN preferred_channel text NOT NULL DEFAULT 'email'
            CHECK (preferred_channel IN ('email', 'phone', 'sms', 'push'));
        CREATE TABLE service_contracts (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            reference    text NOT NULL UNIQUE CHECK (reference <> ''),
            customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            device_id    integer REFERENCES devices (id) ON DELETE CASCADE,
            tier         text NOT NULL CHECK (tier IN ('basic', 'standard', 'premium')),
            starts_on    date NOT NULL,
            ends_on      date NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            CHECK (ends_on >= starts_on)
        );
        CREATE INDEX service_contracts_customer ON service_contracts (customer_id);
        CREATE TABLE technicians (
            id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name           text NOT NULL CHECK (name <> ''),
            email          text NOT NULL UNIQUE,
            phone          text,
            skills         text[] NOT NULL DEFAULT '{}',
            region         text NOT NULL DEFAULT '',
            home_latitude  double precision CHECK (home_latitude BETWEEN -90 AND 90),
            home_longitude double precision CHECK (home_longitude BETWEEN -180 AND 180),
            active         boolean NOT NULL DEFAULT true,
            staff_user_id  bigint UNIQUE REFERENCES staff_users (id) ON DELETE SET NULL,
            created_at     timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE audit_log (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at         timestamptz NOT NULL,
            actor      text NOT NULL,
            entity     text NOT NULL,
            entity_id  text NOT NULL,
            action     text NOT NULL,
            detail     jsonb NOT NULL DEFAULT '{}'
        );
        CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, at);
        CREATE INDEX audit_log_at ON audit_log (at DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE audit_log;
        DROP TABLE technicians;
        DROP TABLE service_contracts;
        ALTER TABLE customers DROP COLUMN preferred_channel;
        ALTER TABLE devices DROP COLUMN production_batch;
        """
    )
