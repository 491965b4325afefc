"""The no-data check: a silent fridge becomes a fault and a ticket; its next reading clears it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.bootstrap import event_bus
from careline.scheduler import no_data_check
from crm_core.kernel.clock import frozen
from devices.catalog import Catalog
from devices.faults.postgres import PostgresFaultsUnitOfWork
from devices.faults.service import acknowledge
from tests.integration.conftest import register_devices

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def heard(db: Pool, device_id: int, at: datetime) -> None:
    with db.connection() as conn:
        conn.execute(
            "INSERT INTO device_status (device_id, last_seen_at, last_received_at) "
            "VALUES (%s, %s, %s) ON CONFLICT (device_id) DO UPDATE "
            "SET last_seen_at = excluded.last_seen_at, "
            "last_received_at = excluded.last_received_at",
            (device_id, at, at),
        )


def rows(db: Pool, sql: str) -> list[tuple[Any, ...]]:
    with db.connection() as conn:
        return conn.execute(sql).fetchall()


def test_a_silent_fridge_gets_a_fault_and_a_ticket_once_and_clears_when_heard(
    db: Pool, catalog: Catalog
) -> None:
    ids = register_devices(db, ["FR-000001", "FR-000002"])
    heard(db, ids["FR-000001"], NOW - timedelta(minutes=90))  # silent past the hour
    heard(db, ids["FR-000002"], NOW - timedelta(minutes=5))  # fine
    check = no_data_check(db, catalog, event_bus(catalog, frozen(NOW)), frozen(NOW))
    check()
    check()  # still silent: nothing new
    faults = rows(db, "SELECT device_id, metric, detector, status, opened_at FROM faults")
    assert faults == [
        (ids["FR-000001"], "telemetry", "no_data", "open", NOW - timedelta(minutes=90))
    ]
    [(subject, priority)] = rows(db, "SELECT subject, priority FROM tickets")
    assert subject == "Refrigerator FR-000001: no data since 2026-11-30 10:30 UTC"
    assert priority == 3

    heard(db, ids["FR-000001"], NOW - timedelta(minutes=1))
    check()
    assert rows(db, "SELECT status, cleared_at FROM faults") == [
        ("cleared", NOW - timedelta(minutes=1))
    ]


def test_an_acknowledged_no_data_fault_still_clears_and_the_next_silence_is_a_new_fault(
    db: Pool, catalog: Catalog
) -> None:
    ids = register_devices(db, ["FR-000001"])
    device = ids["FR-000001"]
    bus = event_bus(catalog, frozen(NOW))
    heard(db, device, NOW - timedelta(minutes=90))
    no_data_check(db, catalog, bus, frozen(NOW))()
    [(fault_id,)] = rows(db, "SELECT id FROM faults")
    with db.connection() as conn:
        acknowledge(PostgresFaultsUnitOfWork(conn), int(fault_id), "agent", "calling", NOW)
    heard(db, device, NOW + timedelta(minutes=1))
    no_data_check(db, catalog, bus, frozen(NOW + timedelta(minutes=2)))()
    assert rows(db, "SELECT status FROM faults") == [("cleared",)]
    later = NOW + timedelta(hours=3)
    no_data_check(db, catalog, bus, frozen(later))()  # silent again for two hours and more
    assert rows(db, "SELECT status FROM faults ORDER BY id") == [("cleared",), ("open",)]


def test_the_first_run_does_not_open_a_fault_for_every_long_retired_device(
    db: Pool, catalog: Catalog
) -> None:
    ids = register_devices(db, ["FR-000001"])
    heard(db, ids["FR-000001"], NOW - timedelta(days=30))  # gone long before the check ran
    no_data_check(db, catalog, event_bus(catalog, frozen(NOW)), frozen(NOW))()
    assert rows(db, "SELECT count(*) FROM faults") == [(0,)]
