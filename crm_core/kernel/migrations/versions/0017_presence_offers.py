"""In-store presence: stores, zones, beacons, app installations, zone events and visits.

Tables carry a ``presence_`` prefix so that they do not collide with traceability's stores
(the cold-chain branch owns those); a store here is where shoppers are seen, with its
opening hours and time zone.

Data minimisation (GDPR Art. 5(1)(c)): raw sightings are not kept. What stays is the
debounce state per installation and zone (``presence_tracks``, small and overwritten), the
zone enter/exit events and visits (the time series), and anonymous daily counts per zone
(``presence_zone_counts``) that survive a customer's erasure.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE presence_stores (
            id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            code           text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
            name           text NOT NULL CHECK (name <> ''),
            timezone       text NOT NULL DEFAULT 'UTC',
            opening_hours  jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at     timestamptz NOT NULL
        );
        CREATE TABLE presence_zones (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            store_id    bigint NOT NULL REFERENCES presence_stores (id) ON DELETE CASCADE,
            code        text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
            name        text NOT NULL CHECK (name <> ''),
            categories  text[] NOT NULL DEFAULT '{}',
            UNIQUE (store_id, code)
        );
        CREATE TABLE presence_beacons (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            zone_id     bigint NOT NULL REFERENCES presence_zones (id) ON DELETE CASCADE,
            -- 'ibeacon:<uuid>:<major>:<minor>' or 'eddystone:<namespace hex>:<instance hex>'
            identifier  text NOT NULL UNIQUE,
            kind        text NOT NULL CHECK (kind IN ('ibeacon', 'eddystone'))
        );
        CREATE INDEX presence_beacons_zone ON presence_beacons (zone_id);
        CREATE TABLE presence_installations (
            id             text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
            customer_id    bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            registered_at  timestamptz NOT NULL
        );
        CREATE INDEX presence_installations_customer ON presence_installations (customer_id);
        -- Sightings messages already applied: a redelivery changes nothing. Pruned by age.
        CREATE TABLE presence_seen (
            digest       bytea PRIMARY KEY,
            received_at  timestamptz NOT NULL
        );
        CREATE INDEX presence_seen_received ON presence_seen (received_at);
        CREATE TABLE presence_tracks (
            installation_id  text NOT NULL
                REFERENCES presence_installations (id) ON DELETE CASCADE,
            zone_id          bigint NOT NULL REFERENCES presence_zones (id) ON DELETE CASCADE,
            state            text NOT NULL CHECK (state IN ('candidate', 'inside')),
            first_seen       timestamptz NOT NULL,
            last_seen        timestamptz NOT NULL,
            sightings        integer NOT NULL,
            entered_at       timestamptz,
            visit_id         bigint,
            PRIMARY KEY (installation_id, zone_id)
        );
        CREATE TABLE presence_visits (
            id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            installation_id  text NOT NULL
                REFERENCES presence_installations (id) ON DELETE CASCADE,
            customer_id      bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            zone_id          bigint NOT NULL REFERENCES presence_zones (id) ON DELETE CASCADE,
            entered_at       timestamptz NOT NULL,
            exited_at        timestamptz,
            dwell_seconds    double precision
        );
        CREATE INDEX presence_visits_zone ON presence_visits (zone_id, entered_at DESC);
        CREATE INDEX presence_visits_customer ON presence_visits (customer_id, entered_at DESC);
        CREATE TABLE presence_zone_events (
            at               timestamptz NOT NULL,
            visit_id         bigint NOT NULL REFERENCES presence_visits (id) ON DELETE CASCADE,
            customer_id      bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            zone_id          bigint NOT NULL REFERENCES presence_zones (id) ON DELETE CASCADE,
            kind             text NOT NULL CHECK (kind IN ('zone_enter', 'zone_exit')),
            dwell_seconds    double precision,
            UNIQUE (visit_id, kind)
        );
        CREATE INDEX presence_zone_events_zone ON presence_zone_events (zone_id, at DESC);
        -- Anonymous: no customer; kept when a customer is erased.
        CREATE TABLE presence_zone_counts (
            zone_id        bigint NOT NULL REFERENCES presence_zones (id) ON DELETE CASCADE,
            day            date NOT NULL,
            visits         integer NOT NULL DEFAULT 0,   -- entries
            exits          integer NOT NULL DEFAULT 0,   -- visits closed, with their dwell
            dwell_seconds  double precision NOT NULL DEFAULT 0,
            PRIMARY KEY (zone_id, day)
        );

        -- Offer campaigns. kind 'promotion' is ordinary marketing; kind 'service' helps a
        -- customer whose appliance (of device_types) is failing: the part or a successor.
        CREATE TABLE campaigns (
            id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            code             text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
            name             text NOT NULL CHECK (name <> ''),
            kind             text NOT NULL CHECK (kind IN ('promotion', 'service')),
            message          text NOT NULL,
            starts_at        timestamptz NOT NULL,
            ends_at          timestamptz NOT NULL CHECK (ends_at > starts_at),
            zone_ids         bigint[] NOT NULL DEFAULT '{}',
            categories       text[] NOT NULL DEFAULT '{}',
            device_types     text[] NOT NULL DEFAULT '{}',
            discount_percent numeric(5, 2) NOT NULL CHECK (discount_percent > 0
                                                            AND discount_percent <= 100),
            value_cents      integer NOT NULL CHECK (value_cents >= 0),
            cost_cents       integer NOT NULL CHECK (cost_cents >= 0),
            budget_cents     integer NOT NULL CHECK (budget_cents >= 0),
            spent_cents      integer NOT NULL DEFAULT 0,
            stock            integer NOT NULL CHECK (stock >= 0),
            min_dwell_s      integer NOT NULL DEFAULT 0,
            days_apart       integer NOT NULL DEFAULT 7 CHECK (days_apart >= 0),
            max_per_customer integer NOT NULL DEFAULT 3 CHECK (max_per_customer >= 1),
            offer_ttl_s      integer NOT NULL DEFAULT 1800 CHECK (offer_ttl_s > 0),
            created_at       timestamptz NOT NULL
        );
        -- One decision per zone entry (visit): sent, suppressed or held out, with why.
        CREATE TABLE offer_decisions (
            id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at                 timestamptz NOT NULL,
            customer_id        bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            visit_id           bigint NOT NULL UNIQUE
                REFERENCES presence_visits (id) ON DELETE CASCADE,
            zone_id            bigint NOT NULL REFERENCES presence_zones (id) ON DELETE CASCADE,
            campaign_id        bigint REFERENCES campaigns (id) ON DELETE SET NULL,
            outcome            text NOT NULL CHECK (outcome IN ('sent', 'suppressed', 'holdout')),
            reason             text NOT NULL,
            rule               text NOT NULL,
            consent_record_id  bigint,
            outbox_key         text,
            expires_at         timestamptz,
            redeemed_at        timestamptz,
            receipt_id         text UNIQUE,
            amount_cents       integer,
            detail             jsonb NOT NULL DEFAULT '{}'::jsonb
        );
        CREATE INDEX offer_decisions_customer ON offer_decisions (customer_id, at DESC);
        CREATE INDEX offer_decisions_campaign ON offer_decisions (campaign_id, at DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS offer_decisions, campaigns, presence_zone_counts, presence_zone_events, presence_visits, "
        "presence_tracks, presence_seen, presence_installations, presence_beacons, "
        "presence_zones, presence_stores CASCADE"
    )
