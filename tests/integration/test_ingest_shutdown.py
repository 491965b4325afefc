"""Stopping ingest while the database is away: prompt, and nothing acknowledged."""

from __future__ import annotations

import time

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.embedded.mosquitto import MosquittoProcess
from devices.catalog import Catalog
from tests.integration.conftest import register_devices
from tests.integration.harness import (
    RunningIngest,
    TestPublisher,
    count,
    good_reading,
    new_client_id,
    settings_for,
    wait_for,
)
from tests.integration.proxy import CuttableProxy

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def test_a_stop_during_an_outage_is_prompt_and_the_broker_keeps_the_messages(
    db: Pool, database_url: str, broker: MosquittoProcess, catalog: Catalog
) -> None:
    register_devices(db, ["FR-000001"])
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    proxy = CuttableProxy(str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432))
    info.update(host="127.0.0.1", port=str(proxy.port))
    via_proxy = psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]
    client_id = new_client_id()
    run = RunningIngest(settings_for(via_proxy, broker.port, client_id), catalog).start()
    publisher = TestPublisher(broker.port)
    try:
        proxy.cut()
        base = time.time() - 600
        for i in range(50):
            publisher.publish("dt/FR-000001/senml", good_reading("FR-000001", base + i))
        publisher.flush()
        assert run.ingest is not None
        worker = run.ingest.worker
        wait_for(lambda: worker.stats.db_retries >= 2, what="retrying")
        started = time.monotonic()
        run.stop()
        assert time.monotonic() - started < 15  # not the 60 s of two 30-s joins
        assert run.acked == []
        proxy.restore()
        again = RunningIngest(settings_for(database_url, broker.port, client_id), catalog)
        again.start()
        try:
            wait_for(lambda: count(database_url, "SELECT count(*) FROM readings") == 50)
        finally:
            again.stop()
    finally:
        publisher.close()
        proxy.close()
