"""A device registered while ingest runs is accepted at once, not after the unknown-device
cache's time to live: the registry's NOTIFY reaches the worker's listener."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from devices.catalog import Catalog
from devices.records import DeviceFields, save_device
from tests.integration.brokers import TestBroker
from tests.integration.harness import (
    RunningIngest,
    TestPublisher,
    count,
    good_reading,
    new_client_id,
    settings_for,
    wait_for,
)

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
SERIAL = "FR-800001"


def test_a_device_registered_while_ingest_runs_is_accepted_within_a_second(
    db: Pool, database_url: str, broker: TestBroker, catalog: Catalog, publisher: TestPublisher
) -> None:
    # An hour-long negative cache: without the notification the device would wait an hour.
    settings = settings_for(database_url, broker.port, new_client_id(), unknown_device_ttl_s=3600.0)
    run = RunningIngest(settings, catalog).start()
    try:
        assert run.ingest is not None
        wait_for(run.ingest.listener.listening.is_set, what="the registry listener")
        publisher.publish(f"dt/{SERIAL}/senml", good_reading(SERIAL, time.time() - 5))
        publisher.flush()
        unknown = "SELECT count(*) FROM dead_letters WHERE reason = 'unknown_device'"
        wait_for(lambda: count(database_url, unknown) == 1, what="the unknown-device letter")
        assert run.ingest.directory.unknown_cached == 1
        fields = DeviceFields(serial=SERIAL, device_type="refrigerator", model="CoolFrost CF-300")
        with db.connection() as conn:
            save_device(conn, None, fields, catalog, actor="test", now=datetime.now(UTC))
        registered = time.monotonic()
        # The device reports as devices do; the notification and the next message race,
        # so one message may still meet the old answer. Within a second one gets in.
        while count(database_url, "SELECT count(*) FROM readings") == 0:
            assert time.monotonic() - registered < 5.0, "the new device was not accepted"
            publisher.publish(f"dt/{SERIAL}/senml", good_reading(SERIAL, time.time()))
            publisher.flush()
            time.sleep(0.2)
        assert time.monotonic() - registered < 5.0
    finally:
        run.stop()
