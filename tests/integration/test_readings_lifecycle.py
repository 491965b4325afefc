"""Readings retention (chunks dropped, traceability holds kept), rollups, bounded charts,
and late readings into an old (compressed, where TimescaleDB can) chunk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.scheduler import start_scheduler
from careline.settings import load_settings
from crm_core.kernel.capabilities import Capabilities
from devices.catalog import Catalog, load_catalog
from devices.lifecycle.retention import purge_readings
from devices.lifecycle.rollups import refresh_rollups
from devices.lifecycle.settings import LifecycleSettings
from devices.metric_ids import sync_metric_ids
from devices.ranges import range_series
from ingest.batch import Batch
from ingest.messages import received
from ingest.store import BatchStore
from tests.integration.conftest import register_devices
from tests.integration.harness import wait_for

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def metric_id(db: Pool, key: str) -> int:
    with db.connection() as conn:
        return sync_metric_ids(conn, load_catalog())[key]


def seed(db: Pool, device: int, metric: int, start: datetime, end: datetime, every_s: int) -> int:
    """One reading every ``every_s`` seconds in [start, end): a value that rises in steps."""
    with db.connection() as conn:
        return conn.execute(
            "INSERT INTO readings (device_id, metric_id, ts, value, received_at) "
            "SELECT %(d)s, %(m)s, t, (extract(epoch FROM t)::bigint / 3600) %% 7, t "
            "FROM generate_series(%(s)s, %(e)s - interval '1 microsecond', "
            "make_interval(secs => %(every)s)) AS t",
            {"d": device, "m": metric, "s": start, "e": end, "every": every_s},
        ).rowcount


def count(db: Pool, query: str, *params: object) -> int:
    with db.connection() as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def add_leg(
    db: Pool, logger: int, departed: datetime, arrived: datetime | None, ref: str
) -> tuple[int, int]:
    """A shipment leg with one lot on it and ``logger`` assigned for its trip: (leg, lot)."""
    with db.connection() as conn:
        conn.execute(
            "INSERT INTO supply_sites (gln, name, kind) VALUES "
            "('4000000000001', 'Plant', 'plant'), ('4000000000002', 'Depot', 'depot') "
            "ON CONFLICT DO NOTHING"
        )
        conn.execute(
            "INSERT INTO products (gtin, name, temp_class, range_min, range_max, "
            "single_limit_min, budget_min) VALUES ('04000000000017', 'Yoghurt', 'chilled', "
            "2, 8, 30, 120) ON CONFLICT DO NOTHING"
        )
        lot = conn.execute(
            "INSERT INTO lots (gtin, lot_code) VALUES ('04000000000017', %s) RETURNING id", (ref,)
        ).fetchone()[0]  # type: ignore[index]
        shipment = conn.execute(
            "INSERT INTO shipments (reference) VALUES (%s) RETURNING id", (ref,)
        ).fetchone()[0]  # type: ignore[index]
        leg = conn.execute(
            "INSERT INTO shipment_legs (shipment_id, seq, origin_gln, destination_gln, "
            "departed_at, arrived_at) VALUES (%s, 1, '4000000000001', '4000000000002', %s, %s) "
            "RETURNING id",
            (shipment, departed, arrived),
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO leg_lots (leg_id, lot_id, sscc, quantity) "
            "VALUES (%s, %s, '340000000000000018', 10)",
            (leg, lot),
        )
        conn.execute(
            "INSERT INTO logger_assignments (leg_id, device_id, from_ts, to_ts) "
            "VALUES (%s, %s, %s, %s)",
            (leg, logger, departed, arrived),
        )
    return leg, lot


def test_retention_drops_old_chunks_and_rows_but_keeps_what_traceability_holds(
    db: Pool, capabilities: Capabilities
) -> None:
    ids = register_devices(db, ["FR-000001"])
    loggers = register_devices(
        db,
        ["LG-000001", "LG-000002", "LG-000003", "LG-000004"],
        "temperature_logger",
        with_customer=False,
    )
    temp = metric_id(db, "cabinet_temp")
    load = metric_id(db, "load_temp")
    start = NOW - 500 * DAY
    assert seed(db, ids["FR-000001"], temp, start, NOW, 3600) == 500 * 24
    for logger_id in loggers.values():
        seed(db, logger_id, load, start, NOW, 3600)
    settings = LifecycleSettings(readings_retention_days=400, traceability_retention_days=460)
    # a leg 450 days ago: younger than the traceability retention (460), older than the
    # readings' (400)
    add_leg(db, loggers["LG-000001"], NOW - 450 * DAY, NOW - 449 * DAY, "RECENT")
    # legs 480 days ago, beyond what readings keep: held by a recall / an investigation
    _, recalled_lot = add_leg(db, loggers["LG-000002"], NOW - 480 * DAY, NOW - 479 * DAY, "RC")
    _, probed_lot = add_leg(db, loggers["LG-000003"], NOW - 480 * DAY, NOW - 479 * DAY, "INV")
    with db.connection() as conn:
        recall = conn.execute(
            "INSERT INTO recalls (status, origin, origin_key, reason, evidence, proposed_at) "
            "VALUES ('approved', 'test', 'r1', 'warm truck', '{}', %s) RETURNING id",
            (NOW - 10 * DAY,),
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO recall_lots (recall_id, lot_id, included, why, rank) "
            "VALUES (%s, %s, true, 'on the leg', 1)",
            (recall, recalled_lot),
        )
        conn.execute(
            "INSERT INTO investigations (lot_id, status, opened_at, reason) "
            "VALUES (%s, 'open', %s, 'complaints')",
            (probed_lot, NOW - DAY),
        )
    # the fourth logger's leg is older than the traceability retention, with nothing open:
    # its readings go like any others
    add_leg(db, loggers["LG-000004"], NOW - 480 * DAY, NOW - 479 * DAY, "OLD")
    report = purge_readings(db, NOW, settings)

    cutoff = NOW - 400 * DAY
    assert report.cutoff == cutoff
    assert report.holds == 3
    if capabilities.readings_hypertable:
        assert report.chunks_dropped >= 90  # whole days before the cutoff with no hold
        assert report.chunks_kept_for_holds == 4  # the two days of each held leg
    fridge_left = count(
        db,
        "SELECT count(*) FROM readings WHERE device_id = %s AND ts < %s",
        ids["FR-000001"],
        cutoff,
    )
    assert fridge_left == 0
    assert count(db, "SELECT count(*) FROM readings WHERE device_id = %s", ids["FR-000001"]) == (
        400 * 24
    )
    for serial, window in (("LG-000001", 450), ("LG-000002", 480), ("LG-000003", 480)):
        logger = loggers[serial]
        held = count(
            db,
            "SELECT count(*) FROM readings WHERE device_id = %s AND ts < %s",
            logger,
            cutoff,
        )
        # exactly the leg's readings (departure to arrival, both ends) are left before the cutoff
        assert held == 25, serial
        assert (
            count(
                db,
                "SELECT count(*) FROM readings WHERE device_id = %s AND ts < %s AND ts >= %s",
                logger,
                cutoff,
                NOW - window * DAY,
            )
            == 25
        )
    # the old leg's readings went
    assert (
        count(
            db,
            "SELECT count(*) FROM readings WHERE device_id = %s AND ts < %s",
            loggers["LG-000004"],
            cutoff,
        )
        == 0
    )
    # a second run finds nothing more to drop
    again = purge_readings(db, NOW, settings)
    assert (again.chunks_dropped, again.rows_deleted) == (0, 0)
    # once the recall is closed (long ago) and the investigation too, their legs' readings
    # go; the young leg's stay
    with db.connection() as conn:
        conn.execute("UPDATE recalls SET status = 'closed', closed_at = %s", (NOW - 800 * DAY,))
        conn.execute(
            "UPDATE investigations SET status = 'closed', outcome = 'no_issue_found', "
            "closed_at = %s",
            (NOW - 800 * DAY,),
        )
    assert purge_readings(db, NOW, settings).holds == 1
    assert count(db, "SELECT count(*) FROM readings WHERE ts < %s", cutoff) == 25


def test_a_leg_younger_than_the_traceability_retention_holds_its_logger_readings(
    db: Pool,
) -> None:
    loggers = register_devices(db, ["LG-000009"], "temperature_logger", with_customer=False)
    load = metric_id(db, "load_temp")
    seed(db, loggers["LG-000009"], load, NOW - 60 * DAY, NOW, 3600)
    add_leg(db, loggers["LG-000009"], NOW - 50 * DAY, NOW - 49 * DAY, "YOUNG")
    report = purge_readings(
        db, NOW, LifecycleSettings(readings_retention_days=30, traceability_retention_days=365)
    )
    assert report.holds == 1
    assert count(db, "SELECT count(*) FROM readings WHERE ts < %s", NOW - 30 * DAY) == 25


def test_rollups_match_the_readings_and_catch_late_ones_within_the_lookback(
    db: Pool, capabilities: Capabilities
) -> None:
    if capabilities.continuous_aggregates:
        pytest.skip("rollups are continuous aggregates here: TimescaleDB refreshes them")
    ids = register_devices(db, ["FR-000001"])
    temp = metric_id(db, "cabinet_temp")
    device = ids["FR-000001"]
    seed(db, device, temp, NOW - 3 * DAY, NOW, 60)
    reports = refresh_rollups(db, NOW, timedelta(hours=2))
    assert [r.rollup for r in reports] == ["readings_5m", "readings_1h"]
    with db.connection() as conn:
        hourly = conn.execute(
            "SELECT count(*), sum(n), min(vmin), max(vmax) FROM readings_1h WHERE device_id = %s",
            (device,),
        ).fetchone()
        raw = conn.execute(
            "SELECT count(*), min(value), max(value) FROM readings WHERE device_id = %s",
            (device,),
        ).fetchone()
    assert hourly == (72, raw[0], raw[1], raw[2])  # type: ignore[index]
    assert count(db, "SELECT count(*) FROM readings_5m") == 3 * 24 * 12
    # a late reading an hour back: the next run (2 h lookback) counts it
    with db.connection() as conn:
        conn.execute(
            "INSERT INTO readings VALUES (%s, %s, %s, 99.0, %s)",
            (device, temp, NOW - timedelta(minutes=61, seconds=30), NOW),
        )
    refresh_rollups(db, NOW + timedelta(minutes=5), timedelta(hours=2))
    assert count(db, "SELECT max(vmax)::int FROM readings_1h") == 99
    assert count(db, "SELECT sum(n) FROM readings_5m") == 3 * 24 * 60 + 1
    # rerunning changes nothing (idempotent slices)
    refresh_rollups(db, NOW + timedelta(minutes=5), timedelta(hours=2))
    assert count(db, "SELECT sum(n) FROM readings_1h") == 3 * 24 * 60 + 1


def test_a_90_day_chart_has_a_bounded_number_of_points(db: Pool, catalog: Catalog) -> None:
    ids = register_devices(db, ["FR-000001"])
    temp = metric_id(db, "cabinet_temp")
    device = ids["FR-000001"]
    seeded = seed(db, device, temp, NOW - 90 * DAY, NOW, 60)
    assert seeded == 90 * 24 * 60  # 129 600 readings
    refresh_rollups(db, NOW - 6 * timedelta(hours=1), timedelta(hours=2))  # 6 h behind
    with db.connection() as conn:
        (series,) = range_series(
            conn,
            catalog,
            device,
            "refrigerator",
            NOW - 90 * DAY,
            NOW,
            points=800,
            metrics=["cabinet_temp"],
        )
        raw = conn.execute(
            "SELECT min(value), max(value), avg(value) FROM readings WHERE device_id = %s",
            (device,),
        ).fetchone()
    assert series.source == "readings_1h"
    assert series.step_s == 3 * 3600
    assert 700 <= len(series.points) <= 800
    # every reading is in the chart, those newer than the rollups' watermark included
    assert sum(p.n for p in series.points) == seeded
    assert raw is not None
    assert min(p.low for p in series.points) == raw[0]
    assert max(p.high for p in series.points) == raw[1]
    mean = sum(p.mean * p.n for p in series.points) / seeded
    assert mean == pytest.approx(raw[2])
    with db.connection() as conn:
        (short,) = range_series(
            conn,
            catalog,
            device,
            "refrigerator",
            NOW - timedelta(hours=6),
            NOW,
            points=800,
            metrics=["cabinet_temp"],
        )
    # six hours at one reading a minute: every reading as it is
    assert short.source == "readings"
    assert len(short.points) == 360
    assert all(p.n == 1 and p.low == p.high == p.mean for p in short.points)


def test_late_readings_into_an_old_chunk_are_stored_compressed_or_not(
    db: Pool, capabilities: Capabilities
) -> None:
    """Ingest's own write path (staging, then INSERT ... ON CONFLICT DO NOTHING) into a chunk
    a month old; where TimescaleDB compresses, the chunk is compressed first (DML on
    compressed chunks: TimescaleDB 2.11 and later)."""
    ids = register_devices(db, ["FR-000001"])
    temp = metric_id(db, "cabinet_temp")
    device = ids["FR-000001"]
    old = (datetime.now(UTC) - 30 * DAY).replace(minute=0, second=0, microsecond=0)
    seed(db, device, temp, old - DAY, old + DAY, 600)
    compressed = 0
    if capabilities.compression:
        with db.connection() as conn:
            compressed = len(
                conn.execute(
                    "SELECT compress_chunk(c, if_not_compressed => true) "
                    "FROM show_chunks('readings', older_than => now() - interval '7 days') c"
                ).fetchall()
            )
        assert compressed >= 1
    late = old + timedelta(seconds=30)  # between two readings
    existing = old  # a reading already stored
    now = datetime.now(UTC).timestamp()
    message = received(b"dt/FR-000001/senml", b"[]", now, 1, 1, 1024)
    batch = Batch(
        [message],
        rows=[
            (device, temp, late.timestamp(), 21.5, now),
            (device, temp, existing.timestamp(), -40.0, now),  # a redelivery: not overwritten
        ],
    )
    store = BatchStore(db)
    try:
        store.write(batch)
    finally:
        store.close()
    with db.connection() as conn:
        stored = conn.execute(
            "SELECT value FROM readings WHERE device_id = %s AND ts = %s", (device, late)
        ).fetchone()
        kept = conn.execute(
            "SELECT count(*), min(value) FROM readings WHERE device_id = %s AND ts = %s",
            (device, existing),
        ).fetchone()
    assert stored == (21.5,)
    assert kept is not None
    assert kept[0] == 1
    assert kept[1] != -40.0
    # a manual rollup over that time counts it
    refresh_rollups(db, datetime.now(UTC), timedelta(hours=1), since=old - DAY)
    with db.connection() as conn:
        n = conn.execute(
            "SELECT n FROM readings_5m WHERE device_id = %s AND bucket = %s",
            (device, old),
        ).fetchone()
    assert n == (2,)  # the reading on the hour and the late one


def test_the_scheduler_runs_retention_and_rollups_at_start(
    db: Pool, database_url: str, catalog: Catalog, capabilities: Capabilities
) -> None:
    ids = register_devices(db, ["FR-000001"])
    temp = metric_id(db, "cabinet_temp")
    seed(db, ids["FR-000001"], temp, NOW - 20 * DAY, NOW, 3600)
    settings = load_settings(lifecycle={"readings_retention_days": 10})
    scheduler = start_scheduler(db, settings, catalog, clock=lambda: NOW)
    try:
        wait_for(lambda: count(db, "SELECT count(*) FROM readings") == 10 * 24)
        assert {"readings retention", "readings rollups"} <= set(scheduler.job_names)
        if not capabilities.continuous_aggregates:
            wait_for(lambda: count(db, "SELECT count(*) FROM readings_1h") >= 10 * 24)
    finally:
        scheduler.shutdown()
