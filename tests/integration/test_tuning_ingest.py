"""A running ingest worker (real Mosquitto, real PostgreSQL) takes overrides and baseline
resets without a restart, and a reset never loses to a checkpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.embedded.mosquitto import MosquittoProcess
from devices.catalog import Catalog
from devices.detector_state import UPSERT_STATE
from devices.tuning.model import Override
from devices.tuning.postgres import PostgresTuningUnitOfWork
from devices.tuning.service import reset_baseline, set_customer_override, set_device_override
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

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
POLL_S = 0.2


@pytest.fixture
def worker(
    database_url: str, broker: MosquittoProcess, catalog: Catalog
) -> Iterator[RunningIngest]:
    settings = settings_for(
        database_url, broker.port, new_client_id(), tuning_poll_s=POLL_S, checkpoint_every_s=0.2
    )
    run = RunningIngest(settings, catalog).start()
    yield run
    run.stop()


def publish_run(
    publisher: TestPublisher, serial: str, start: float, minutes: int, value: float
) -> None:
    for minute in range(minutes):
        publisher.publish(f"dt/{serial}/senml", good_reading(serial, start + 60 * minute, value))
    publisher.flush()


def open_limit_faults(database_url: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT d.serial FROM faults f JOIN devices d ON d.id = f.device_id "
            "WHERE f.detector = 'limit_high' AND f.status = 'open'"
        ).fetchall()
    return {str(r[0]) for r in rows}


def test_overrides_reach_the_running_worker_both_ways(
    db: Pool,
    database_url: str,
    broker: MosquittoProcess,
    catalog: Catalog,
    worker: RunningIngest,
) -> None:
    ids = register_devices(db, ["FR-000001", "FR-000002"])  # one customer
    register_devices(db, ["FR-000003"], with_customer=False)  # the control: model defaults
    publisher = TestPublisher(broker.port)
    start = time.time() - 3 * 3600
    for serial in ("FR-000001", "FR-000002", "FR-000003"):  # monitors exist before the change
        publish_run(publisher, serial, start, 3, 4.0)
    wait_for(lambda: count(database_url, "SELECT count(*) FROM readings") == 9, what="warm")

    with db.connection() as conn:
        customer_id = conn.execute(
            "SELECT customer_id FROM devices WHERE id = %s", (ids["FR-000002"],)
        ).fetchone()[0]  # type: ignore[index]
    now = datetime.now(UTC)
    with db.connection() as conn:  # 9 °C is fine for this fridge; 7 °C is not for theirs
        set_device_override(
            PostgresTuningUnitOfWork(conn),
            catalog,
            "FR-000001",
            "cabinet_temp",
            Override(limit_high=10.0),
            "test",
            now,
        )
    with db.connection() as conn:
        set_customer_override(
            PostgresTuningUnitOfWork(conn),
            catalog,
            customer_id,
            "cabinet_temp",
            Override(limit_high=6.0),
            "test",
            now,
        )
    time.sleep(2 * POLL_S)  # the documented bound: in force after tuning_poll_s

    later = start + 5 * 60
    publish_run(publisher, "FR-000001", later, 25, 9.0)  # default: a fault; override: none
    publish_run(publisher, "FR-000002", later, 25, 7.0)  # default: none; customer's: a fault
    publish_run(publisher, "FR-000003", later, 25, 9.0)  # default: a fault
    publisher.close()
    wait_for(lambda: count(database_url, "SELECT count(*) FROM readings") == 84, what="stored")
    wait_for(lambda: len(open_limit_faults(database_url)) == 2, what="two limit faults")
    assert open_limit_faults(database_url) == {"FR-000002", "FR-000003"}
    assert worker.ingest is not None
    assert worker.ingest.detectors is not None
    monitor = worker.ingest.detectors.monitor(ids["FR-000001"], "cabinet_temp")
    assert monitor is not None
    assert [w.limit.value for w in monitor.limits] == [10.0]


def test_a_reset_reaches_the_running_worker_and_outlives_its_checkpoints(
    db: Pool,
    database_url: str,
    broker: MosquittoProcess,
    catalog: Catalog,
    worker: RunningIngest,
) -> None:
    ids = register_devices(db, ["FR-000001"])
    device = ids["FR-000001"]
    publisher = TestPublisher(broker.port)
    start = time.time() - 3 * 3600
    publish_run(publisher, "FR-000001", start, 25, 9.0)
    wait_for(lambda: open_limit_faults(database_url) == {"FR-000001"}, what="a limit fault")
    assert worker.ingest is not None
    assert worker.ingest.detectors is not None
    before = worker.ingest.detectors.monitor(device, "cabinet_temp")
    assert before is not None
    time.sleep(0.3)  # checkpoints ride on batches once checkpoint_every_s old
    publish_run(publisher, "FR-000001", start + 25 * 60, 1, 9.0)
    wait_for(
        lambda: count(database_url, "SELECT count(*) FROM detector_state") == 1,
        what="a checkpoint of the old state",
    )

    with db.connection() as conn:
        done = reset_baseline(
            PostgresTuningUnitOfWork(conn),
            catalog,
            "FR-000001",
            None,
            "compressor replaced",
            "test",
            datetime.now(UTC),
        )
    assert open_limit_faults(database_url) == set()  # cleared by the use case at once
    time.sleep(2 * POLL_S)
    publish_run(publisher, "FR-000001", start + 26 * 60, 2, 9.0)
    wait_for(lambda: count(database_url, "SELECT count(*) FROM readings") == 28, what="stored")
    time.sleep(0.3)  # the reset's checkpoint is due: the next batch carries it
    publish_run(publisher, "FR-000001", start + 28 * 60, 1, 9.0)
    publisher.close()
    wait_for(
        lambda: count(database_url, "SELECT generation FROM detector_state") == done.reset_id,
        what="a checkpoint that includes the reset",
    )
    after = worker.ingest.detectors.monitor(device, "cabinet_temp")
    assert after is not None
    assert after is not before
    assert not any(w.is_open for w in after.limits)
    assert open_limit_faults(database_url) == set()  # 2 minutes above 8 °C: not yet a fault


def test_a_checkpoint_older_than_the_newest_reset_never_replaces_it(
    db: Pool, database_url: str
) -> None:
    device = register_devices(db, ["FR-000001"])["FR-000001"]
    with psycopg.connect(database_url) as conn:
        conn.execute(UPSERT_STATE, {"device_id": device, "state": b"after reset", "generation": 3})
        conn.execute(UPSERT_STATE, {"device_id": device, "state": b"stale", "generation": 2})
        row = conn.execute("SELECT state, generation FROM detector_state").fetchone()
        assert row == (b"after reset", 3)
        conn.execute(UPSERT_STATE, {"device_id": device, "state": b"newer", "generation": 3})
        row = conn.execute("SELECT state, generation FROM detector_state").fetchone()
    assert row == (b"newer", 3)
