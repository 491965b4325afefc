"""Cold chain, traceability and recalls.

The supply chain (products, lots, sites with GLNs, shipments and their legs, lots on
pallets per leg, loggers assigned to legs, deliveries, purchases), what the online
evaluation of the loggers' readings found (per leg and product: TOR, MKT terms, single
excursions) and recalls with their scope, approval and notices.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UPGRADE = """
-- Quality staff approve recalls (crm_core.auth.principals).
ALTER TABLE staff_users DROP CONSTRAINT IF EXISTS staff_users_role_check;
ALTER TABLE staff_users ADD CONSTRAINT staff_users_role_check
    CHECK (role IN ('admin', 'agent', 'quality', 'viewer'));
ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
    CHECK (role IN ('admin', 'agent', 'quality', 'viewer', 'device'));

-- A product's labelled range and its stability budget (minutes allowed out of range in
-- total, across every leg of a lot); the single-event rule is "out of range for more than
-- single_limit_min minutes in one run".
CREATE TABLE products (
    gtin              char(14) PRIMARY KEY,
    name              text NOT NULL,
    temp_class        text NOT NULL,
    range_min         double precision NOT NULL,
    range_max         double precision NOT NULL CHECK (range_max > range_min),
    single_limit_min  integer NOT NULL CHECK (single_limit_min >= 0),
    budget_min        integer NOT NULL CHECK (budget_min >= 0),
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE lots (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gtin          char(14) NOT NULL REFERENCES products (gtin),
    lot_code      text NOT NULL CHECK (length(lot_code) BETWEEN 1 AND 20),
    produced_on   date,
    expires_on    date,
    UNIQUE (gtin, lot_code)
);

-- Plants, depots, stores: where goods are (not the CRM's customer sites).
CREATE TABLE supply_sites (
    gln     char(13) PRIMARY KEY,
    name    text NOT NULL,
    kind    text NOT NULL CHECK (kind IN ('plant', 'depot', 'store')),
    email   text
);

CREATE TABLE shipments (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference  text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shipment_legs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shipment_id     bigint NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
    seq             smallint NOT NULL,
    origin_gln      char(13) NOT NULL REFERENCES supply_sites (gln),
    destination_gln char(13) NOT NULL REFERENCES supply_sites (gln),
    carrier         text NOT NULL DEFAULT '',
    vehicle         text NOT NULL DEFAULT '',
    planned_departure timestamptz,
    planned_arrival   timestamptz,
    departed_at     timestamptz NOT NULL,
    arrived_at      timestamptz,
    UNIQUE (shipment_id, seq)
);

CREATE TABLE leg_lots (
    leg_id   bigint NOT NULL REFERENCES shipment_legs (id) ON DELETE CASCADE,
    lot_id   bigint NOT NULL REFERENCES lots (id),
    sscc     char(18) NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (leg_id, lot_id, sscc)
);
CREATE INDEX leg_lots_lot ON leg_lots (lot_id);

-- A logger travels with a leg from one time to another; its readings in that window are
-- the leg's temperature history.
CREATE TABLE logger_assignments (
    leg_id    bigint NOT NULL REFERENCES shipment_legs (id) ON DELETE CASCADE,
    device_id integer NOT NULL REFERENCES devices (id),
    from_ts   timestamptz NOT NULL,
    to_ts     timestamptz,
    PRIMARY KEY (leg_id, device_id, from_ts)
);
CREATE INDEX logger_assignments_device ON logger_assignments (device_id, from_ts);

CREATE TABLE deliveries (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lot_id    bigint NOT NULL REFERENCES lots (id),
    store_gln char(13) NOT NULL REFERENCES supply_sites (gln),
    leg_id    bigint REFERENCES shipment_legs (id) ON DELETE SET NULL,
    quantity  integer NOT NULL CHECK (quantity > 0),
    delivered_at timestamptz NOT NULL,
    UNIQUE (lot_id, store_gln, delivered_at)
);
CREATE INDEX deliveries_store ON deliveries (store_gln);

CREATE TABLE purchases (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    lot_id      bigint NOT NULL REFERENCES lots (id),
    store_gln   char(13) NOT NULL REFERENCES supply_sites (gln),
    receipt     text NOT NULL,
    quantity    integer NOT NULL DEFAULT 1 CHECK (quantity > 0),
    bought_at   timestamptz NOT NULL,
    UNIQUE (receipt, lot_id)
);
CREATE INDEX purchases_lot ON purchases (lot_id, customer_id);
CREATE INDEX purchases_customer ON purchases (customer_id);

-- What the evaluation of a leg found for each product it carries; recomputed whole when
-- readings of the leg arrive (late uploads included), so it is always the full history.
CREATE TABLE leg_evaluations (
    leg_id       bigint NOT NULL REFERENCES shipment_legs (id) ON DELETE CASCADE,
    gtin         char(14) NOT NULL REFERENCES products (gtin),
    readings     integer NOT NULL,
    first_ts     timestamptz,
    last_ts      timestamptz,
    min_temp     double precision,
    max_temp     double precision,
    mean_temp    double precision,
    mkt          double precision,
    mkt_weight   double precision NOT NULL DEFAULT 0,
    mkt_sum      double precision NOT NULL DEFAULT 0,
    tor_min      double precision NOT NULL DEFAULT 0,
    longest_min  double precision NOT NULL DEFAULT 0,
    door_open_min double precision NOT NULL DEFAULT 0,
    gaps         integer NOT NULL DEFAULT 0,
    breached     text[] NOT NULL DEFAULT '{}',
    evaluated_at timestamptz NOT NULL,
    PRIMARY KEY (leg_id, gtin)
);

CREATE TABLE excursions (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    leg_id    bigint NOT NULL REFERENCES shipment_legs (id) ON DELETE CASCADE,
    gtin      char(14) NOT NULL REFERENCES products (gtin),
    kind      text NOT NULL CHECK (kind IN ('high', 'low', 'door_open', 'logger_gap')),
    started_at timestamptz NOT NULL,
    ended_at  timestamptz NOT NULL,
    minutes   double precision NOT NULL,
    peak      double precision,
    breaches_rule boolean NOT NULL DEFAULT false,
    UNIQUE (leg_id, gtin, kind, started_at)
);

CREATE TABLE recalls (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status        text NOT NULL CHECK (status IN ('proposed', 'approved', 'closed', 'dismissed')),
    origin        text NOT NULL,
    origin_key    text NOT NULL UNIQUE,
    recall_class  text CHECK (recall_class IN ('I', 'II', 'III')),
    reason        text NOT NULL,
    evidence      jsonb NOT NULL,
    proposed_at   timestamptz NOT NULL,
    approved_by   text,
    approved_at   timestamptz,
    closed_at     timestamptz,
    report        jsonb
);

CREATE TABLE recall_lots (
    recall_id bigint NOT NULL REFERENCES recalls (id) ON DELETE CASCADE,
    lot_id    bigint NOT NULL REFERENCES lots (id),
    included  boolean NOT NULL,
    why       text NOT NULL,
    rank      integer NOT NULL,
    PRIMARY KEY (recall_id, lot_id)
);

-- A customer's complaint about a product, resolved to its lot; several about one lot within
-- a window open an investigation (one open investigation per lot).
CREATE TABLE complaints (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint REFERENCES customers (id) ON DELETE SET NULL,
    lot_id      bigint NOT NULL REFERENCES lots (id),
    receipt     text,
    description text NOT NULL,
    received_at timestamptz NOT NULL,
    investigation_id bigint
);
CREATE INDEX complaints_lot ON complaints (lot_id, received_at);

CREATE TABLE investigations (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lot_id    bigint NOT NULL REFERENCES lots (id),
    status    text NOT NULL CHECK (status IN ('open', 'closed')),
    opened_at timestamptz NOT NULL,
    reason    text NOT NULL
);
CREATE UNIQUE INDEX investigations_open_lot ON investigations (lot_id) WHERE status = 'open';

CREATE TABLE recall_notices (
    recall_id   bigint NOT NULL REFERENCES recalls (id) ON DELETE CASCADE,
    level       text NOT NULL CHECK (level IN ('store', 'customer')),
    consignee   text NOT NULL,
    outbox_key  text,
    acknowledged_at timestamptz,
    returned_qty integer NOT NULL DEFAULT 0,
    PRIMARY KEY (recall_id, level, consignee)
);
"""

DOWNGRADE = """
DELETE FROM staff_users WHERE role = 'quality';
DELETE FROM api_keys WHERE role = 'quality';
ALTER TABLE staff_users DROP CONSTRAINT IF EXISTS staff_users_role_check;
ALTER TABLE staff_users ADD CONSTRAINT staff_users_role_check
    CHECK (role IN ('admin', 'agent', 'viewer'));
ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
    CHECK (role IN ('admin', 'agent', 'viewer', 'device'));
DROP TABLE IF EXISTS complaints, investigations, recall_notices, recall_lots, recalls, excursions, leg_evaluations,
    purchases, deliveries, logger_assignments, leg_lots, shipment_legs, shipments,
    supply_sites, lots, products;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
