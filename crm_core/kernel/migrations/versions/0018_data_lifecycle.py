"""Readings rollups for long-range charts, and what retention and compression need.

Rollups: ``readings_5m`` and ``readings_1h`` hold, per device, metric and bucket, the count,
minimum, sum and maximum of the readings (the average is sum / count, which re-buckets
exactly). Where TimescaleDB has continuous aggregates (community licence) they are
continuous aggregates over ``time_bucket`` with real-time aggregation, refreshed by
TimescaleDB's own policies; elsewhere (Apache licence, plain PostgreSQL) they are plain
tables that the scheduler's rollup job keeps (:mod:`devices.lifecycle.rollups`), and
``rollup_watermarks`` says up to when each is complete (NULL: not yet; newer readings are
aggregated on the fly by the chart query). A continuous aggregate is marked complete up to
'infinity' (its real-time aggregation already covers the newest readings).

Compression (community licence only): readings chunks older than seven days are compressed,
segmented by device and metric and ordered by time, the order every chart and detector
query reads them in.

Plain PostgreSQL gets a BRIN index on ``readings.ts``: the rollup job and retention read
by time range across devices, which the (device, metric, ts) index cannot serve; a BRIN
index costs next to nothing on insert (readings arrive in time order). Hypertables have
chunk exclusion and TimescaleDB's own ``ts`` index instead.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

WIDTHS = {"readings_5m": "5 minutes", "readings_1h": "1 hour"}
WIDTH_S = {"readings_5m": 300, "readings_1h": 3600}

ROLLUP_TABLE = """
CREATE TABLE {name} (
    device_id integer NOT NULL,
    metric_id smallint NOT NULL,
    bucket    timestamptz NOT NULL,
    n         bigint NOT NULL,
    vmin      double precision NOT NULL,
    vsum      double precision NOT NULL,
    vmax      double precision NOT NULL,
    PRIMARY KEY (device_id, metric_id, bucket)
);
CREATE INDEX {name}_bucket ON {name} USING brin (bucket);
"""

CONTINUOUS_AGGREGATE = """
CREATE MATERIALIZED VIEW {name}
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT device_id, metric_id, time_bucket(INTERVAL '{width}', ts) AS bucket,
       count(*) AS n, min(value) AS vmin, sum(value) AS vsum, max(value) AS vmax
  FROM readings
 GROUP BY device_id, metric_id, time_bucket(INTERVAL '{width}', ts)
WITH NO DATA
"""


def _scalar(query: str) -> object:
    return op.get_bind().execute(text(query)).scalar()


def _licence() -> str | None:
    if not _scalar("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"):
        return None
    return str(_scalar("SELECT current_setting('timescaledb.license', true)"))


def _hypertable() -> bool:
    return bool(
        _scalar(
            "SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = 'readings'"
        )
    )


def upgrade() -> None:
    op.execute(
        "CREATE TABLE rollup_watermarks ("
        " name text PRIMARY KEY,"
        " width_s integer NOT NULL,"
        " complete_until timestamptz)"
    )
    licence = _licence()
    hypertable = licence is not None and _hypertable()
    community = hypertable and licence == "timescale"
    for name, width in WIDTHS.items():
        if community:
            op.execute(CONTINUOUS_AGGREGATE.format(name=name, width=width))
            op.execute(
                f"SELECT add_continuous_aggregate_policy('{name}', "
                "start_offset => INTERVAL '3 days', "
                f"end_offset => INTERVAL '{width}', schedule_interval => INTERVAL '{width}')"
            )
            until = "'infinity'"
        else:
            op.execute(ROLLUP_TABLE.format(name=name))
            until = "NULL"
        op.execute(f"INSERT INTO rollup_watermarks VALUES ('{name}', {WIDTH_S[name]}, {until})")
    if community:
        op.execute(
            "ALTER TABLE readings SET (timescaledb.compress, "
            "timescaledb.compress_segmentby = 'device_id, metric_id', "
            "timescaledb.compress_orderby = 'ts DESC')"
        )
        op.execute("SELECT add_compression_policy('readings', INTERVAL '7 days')")
    if not hypertable:
        op.execute("CREATE INDEX readings_ts_brin ON readings USING brin (ts)")


def downgrade() -> None:
    licence = _licence()
    hypertable = licence is not None and _hypertable()
    if hypertable and licence == "timescale":
        op.execute("SELECT remove_compression_policy('readings', if_exists => true)")
        for name in WIDTHS:
            op.execute(f"DROP MATERIALIZED VIEW IF EXISTS {name}")
    else:
        for name in WIDTHS:
            op.execute(f"DROP TABLE IF EXISTS {name}")
    op.execute("DROP INDEX IF EXISTS readings_ts_brin")
    op.execute("DROP TABLE rollup_watermarks")
