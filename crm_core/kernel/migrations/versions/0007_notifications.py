"""Consent ledger and transactional outbox.

* ``consent_records``: the append-only ledger, one row per change a customer made (or that
  was made for them): a purpose and a channel granted or withdrawn, or an objection to
  direct marketing (GDPR Art. 21) made or lifted, with its source, time, the version of
  the notice the customer saw and who recorded it. Updating a row is refused by a trigger;
  the current state is derived (the latest row per purpose and channel). Deleting the
  customer deletes their ledger (erasure).
* ``outbox``: messages written in the same transaction as the event that causes them and
  delivered by the dispatcher: at least once, retried with backoff, a claim lease so a
  dispatcher that dies mid-send is taken over, and a unique idempotency key so that a
  redelivered event adds no second message (the receiver deduplicates by it too).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE consent_records (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            customer_id     bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            action          text NOT NULL
                CHECK (action IN ('grant', 'withdraw', 'object', 'lift_objection')),
            purpose         text
                CHECK (purpose IN ('service', 'safety', 'marketing', 'location_marketing')),
            channel         text CHECK (channel IN ('email', 'sms', 'push', 'webhook')),
            source          text NOT NULL
                CHECK (source IN ('console', 'api', 'preference_page', 'import', 'app')),
            policy_version  text NOT NULL CHECK (policy_version <> ''),
            actor           text NOT NULL,
            at              timestamptz NOT NULL,
            note            text NOT NULL DEFAULT '',
            -- a grant or withdrawal names a purpose and a channel; an objection names neither
            CHECK ((action IN ('grant', 'withdraw')) = (purpose IS NOT NULL AND channel IS NOT NULL)),
            CHECK (action IN ('grant', 'withdraw') OR (purpose IS NULL AND channel IS NULL))
        );
        CREATE INDEX consent_records_customer ON consent_records (customer_id, at, id);
        CREATE FUNCTION consent_records_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'consent_records is append-only: record a new change instead';
            END $$;
        CREATE TRIGGER consent_records_no_update BEFORE UPDATE ON consent_records
            FOR EACH ROW EXECUTE FUNCTION consent_records_append_only();

        CREATE TABLE outbox (
            id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            idempotency_key  text NOT NULL UNIQUE CHECK (idempotency_key <> ''),
            customer_id      bigint REFERENCES customers (id) ON DELETE CASCADE,
            channel          text NOT NULL CHECK (channel IN ('email', 'sms', 'push', 'webhook')),
            purpose          text NOT NULL
                CHECK (purpose IN ('service', 'safety', 'marketing', 'location_marketing')),
            recipient        text NOT NULL,
            subject          text NOT NULL DEFAULT '',
            body             text NOT NULL DEFAULT '',
            payload          jsonb NOT NULL DEFAULT '{}',
            status           text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
            attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            next_attempt_at  timestamptz NOT NULL,
            claimed_until    timestamptz,
            last_error       text,
            created_at       timestamptz NOT NULL,
            sent_at          timestamptz,
            expires_at       timestamptz
        );
        -- what the dispatcher looks for: due pending rows, and sending rows whose lease ran out
        CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status IN ('pending', 'sending');
        CREATE INDEX outbox_customer ON outbox (customer_id, created_at);
        CREATE INDEX outbox_status ON outbox (status, created_at DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE outbox;
        DROP TABLE consent_records;
        DROP FUNCTION consent_records_append_only();
        """
    )
