"""Per-device and per-customer detector overrides, and baseline resets.

* ``detector_overrides``: a metric's detector settings for one device or for all of one
  customer's devices (threshold, hard limits with durations, no-data interval on the
  pseudo-metric ``telemetry``, enabled); a NULL setting inherits from the layer below
  (device > customer > the model's catalog defaults). ``note`` says where a value came
  from when no person typed it ("no fault found on ticket 12");
* ``detector_tuning_version``: one row, bumped in the transaction of every override change
  (and by a trigger when a device changes owner), so a running ingest worker learns of
  changes with one cheap query;
* ``baseline_resets``: every reset of a device's learned baseline (a repaired part), with
  who, why and which metric (NULL: all). Its id is the reset's generation: a checkpoint
  row says which generation its state already includes (``detector_state.generation``),
  so a reset never loses to a checkpoint written around it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE detector_overrides (
            scope            text NOT NULL CHECK (scope IN ('device', 'customer')),
            scope_id         bigint NOT NULL,
            metric           text NOT NULL CHECK (metric <> ''),
            enabled          boolean,
            threshold        double precision CHECK (threshold > 0),
            limit_high       double precision,
            limit_high_for_s double precision CHECK (limit_high_for_s >= 0),
            limit_low        double precision,
            limit_low_for_s  double precision CHECK (limit_low_for_s >= 0),
            no_data_after_s  double precision CHECK (no_data_after_s > 0),
            note             text NOT NULL DEFAULT '',
            updated_at       timestamptz NOT NULL,
            updated_by       text NOT NULL,
            PRIMARY KEY (scope, scope_id, metric)
        );
        CREATE TABLE detector_tuning_version (
            id       boolean PRIMARY KEY DEFAULT true CHECK (id),
            version  bigint NOT NULL
        );
        INSERT INTO detector_tuning_version (version) VALUES (0);
        CREATE TABLE baseline_resets (
            id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            device_id  integer NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            metric     text,
            reason     text NOT NULL CHECK (reason <> ''),
            actor      text NOT NULL,
            at         timestamptz NOT NULL
        );
        CREATE INDEX baseline_resets_device ON baseline_resets (device_id, id);
        ALTER TABLE detector_state ADD COLUMN generation bigint NOT NULL DEFAULT 0;
        -- A device that changes hands changes whose overrides apply to it: the workers
        -- must look again (a new device they notice by the newest id).
        CREATE FUNCTION detector_tuning_touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE detector_tuning_version SET version = version + 1;
            RETURN NULL;
        END $$;
        CREATE TRIGGER devices_owner_changed AFTER UPDATE OF customer_id, device_type
            ON devices FOR EACH STATEMENT EXECUTE FUNCTION detector_tuning_touch();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER devices_owner_changed ON devices;
        DROP FUNCTION detector_tuning_touch();
        ALTER TABLE detector_state DROP COLUMN generation;
        DROP TABLE baseline_resets;
        DROP TABLE detector_tuning_version;
        DROP TABLE detector_overrides;
        """
    )
