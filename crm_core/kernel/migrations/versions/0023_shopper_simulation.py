"""Receipts from stores' point-of-sale backends, kept once per store and receipt id.

A receipt arrives over MQTT (``pos/<store_code>/receipts``); its lines may carry the
``offer_id`` of a coupon the shopper's app showed at the till. The row is the replay guard
(a redelivered receipt finds it and changes nothing) and keeps, per line, what the receipt
did to an offer: redeemed, counted as a holdout conversion, or refused and why.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE pos_receipts (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            store_code   text NOT NULL,
            receipt_id   text NOT NULL CHECK (receipt_id <> ''),
            customer_id  bigint REFERENCES customers (id) ON DELETE CASCADE,
            at           timestamptz NOT NULL,
            received_at  timestamptz NOT NULL,
            total_cents  bigint NOT NULL CHECK (total_cents >= 0),
            digest       bytea NOT NULL,
            lines        jsonb NOT NULL,
            outcomes     jsonb NOT NULL DEFAULT '[]',
            UNIQUE (store_code, receipt_id)
        );
        CREATE INDEX pos_receipts_customer ON pos_receipts (customer_id, at DESC);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE pos_receipts")
