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
            visits         integer NOT NULL DEFAULT 0,
            dwell_seconds  double precision NOT NULL DEFAULT 0,
            PRIMARY KEY (zone_id, day)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS presence_zone_counts, presence_zone_events, presence_visits, "
        "presence_tracks, presence_seen, presence_installations, presence_beacons, "
        "presence_zones, presence_stores CASCADE"
    )
