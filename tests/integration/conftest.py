"""Integration helpers and fixtures: registering devices, a publisher, a running worker."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from devices.catalog import Catalog
from tests.integration.brokers import TestBroker
from tests.integration.harness import RunningIngest, TestPublisher, new_client_id, settings_for

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def register_devices(
    pool: ConnectionPool[psycopg.Connection[TupleRow]],
    serials: list[str],
    device_type: str = "refrigerator",
    *,
    with_customer: bool = True,
) -> dict[str, int]:
    """Register devices (owned by one customer unless told otherwise): serial -> id."""
    with pool.connection() as conn:
        customer_id = None
        if with_customer:
            customer_id = conn.execute(
                "INSERT INTO customers (kind, name, email) VALUES ('person', 'Test Owner', "
                "'owner@example.net') RETURNING id"
            ).fetchone()[0]  # type: ignore[index]
        ids = {}
        for serial in serials:
            ids[serial] = conn.execute(
                "INSERT INTO devices (serial, device_type, model, customer_id) "
                "VALUES (%s, %s, 'CoolFrost CF-300', %s) RETURNING id",
                (serial, device_type, customer_id),
            ).fetchone()[0]  # type: ignore[index]
    return ids


@pytest.fixture
def publisher(broker: TestBroker) -> Iterator[TestPublisher]:
    pub = TestPublisher(broker.port)
    yield pub
    pub.close()


@pytest.fixture
def running(
    db: Pool, database_url: str, broker: TestBroker, catalog: Catalog
) -> Iterator[RunningIngest]:
    """An ingest worker with default settings, and two registered fridges."""
    register_devices(db, ["FR-000001", "FR-000002"])
    run = RunningIngest(settings_for(database_url, broker.port, new_client_id()), catalog)
    run.start()
    yield run
    run.stop()
