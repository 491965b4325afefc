"""EPCIS exchange and lot transformations.

A transformation (EPCIS TransformationEvent, CBV bizStep ``repackaging``) consumes input
lots and produces output lots at a site, so that traces follow a lot through repacking:
forward from an input lot to the customers of the output lots, backward from an output lot
to the legs its inputs travelled. Its reference is its natural key (an imported document
replayed changes nothing).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE lot_transformations (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference      text NOT NULL UNIQUE CHECK (length(reference) BETWEEN 1 AND 100),
    site_gln       char(13) NOT NULL REFERENCES supply_sites (gln),
    transformed_at timestamptz NOT NULL
);

CREATE TABLE transformation_lots (
    transformation_id bigint NOT NULL REFERENCES lot_transformations (id) ON DELETE CASCADE,
    role     text NOT NULL CHECK (role IN ('input', 'output')),
    lot_id   bigint NOT NULL REFERENCES lots (id),
    quantity integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (transformation_id, role, lot_id)
);
-- traces walk from a lot to the transformations that consumed or produced it
CREATE INDEX transformation_lots_lot ON transformation_lots (lot_id, role);
"""

DOWNGRADE = "DROP TABLE IF EXISTS transformation_lots, lot_transformations;"


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
