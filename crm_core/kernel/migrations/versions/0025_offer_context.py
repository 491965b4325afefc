"""Offer learner context: each customer's spend per category and month, from receipts.

The offer learner's segment and purchase history (``crm_core.campaigns.context``) come
from what the customer bought. Summing receipt lines at every decision would grow with
the history; this table keeps the sums, one row per customer, category and month, added
to in the transaction that records a new receipt (a replayed receipt adds nothing), so a
batch of decisions reads its customers' profiles in one indexed query. Existing receipts
are summed here once. It is a derived profile: erasure of a customer's presence and
offers deletes it, and the data export lists it.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE customer_category_spend (
            customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            category    text NOT NULL,
            month       date NOT NULL,
            spend_cents bigint NOT NULL,
            lines       integer NOT NULL,
            PRIMARY KEY (customer_id, category, month)
        );
        INSERT INTO customer_category_spend (customer_id, category, month, spend_cents, lines)
        SELECT r.customer_id, l->>'category', date_trunc('month', r.at AT TIME ZONE 'UTC')::date,
               sum((l->>'amount_cents')::bigint), count(*)
        FROM pos_receipts r, jsonb_array_elements(r.lines) AS l
        WHERE r.customer_id IS NOT NULL AND coalesce(l->>'category', '') <> ''
        GROUP BY 1, 2, 3;
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE customer_category_spend")
