"""Ingest against a real Mosquitto and a real PostgreSQL: the guarantees, one by one."""

from __future__ import annotations

import time

import orjson
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.embedded.mosquitto import MosquittoProcess
from devices.catalog import Catalog
from ingest.replay import replay_dead_letters
from tests.integration.conftest import register_devices
from tests.integration.harness import (
    RunningIngest,
    TestPublisher,
    count,
    new_client_id,
    settings_for,
    wait_for,
)
from tests.integration.proxy import CuttableProxy

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def senml(serial: str, t: float, temp: float = 4.2, power: float = 95.0) -> bytes:
    return orjson.dumps(
        [
            {
                "bn": f"urn:dev:serial:{serial}:",
                "bt": t,
                "n": "cabinet_temp",
                "u": "Cel",
                "v": temp,
            },
            {"n": "compressor_power", "u": "W", "v": power},
        ]
    )


def readings(url: str) -> int:
    return count(url, "SELECT count(*) FROM readings")


def test_publish_senml_and_json_become_rows(
    running: RunningIngest, publisher: TestPublisher, database_url: str
) -> None:
    now = time.time()
    publisher.publish("dt/FR-000001/senml", senml("FR-000001", now - 10))
    publisher.publish(
        "dt/FR-000002/json",
        orjson.dumps({"device": "FR-000002", "time": now - 5, "values": {"cabinet_temp": 3.9}}),
    )
    publisher.flush()
    wait_for(lambda: readings(database_url) == 3, what="3 readings")
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT d.serial, m.key, r.value, extract(epoch FROM r.ts), "
            "r.received_at >= r.ts FROM readings r JOIN devices d ON d.id = r.device_id "
            "JOIN metrics m ON m.id = r.metric_id WHERE d.serial = 'FR-000002'"
        ).fetchone()
        status = conn.execute("SELECT count(*) FROM device_status").fetchone()
    assert row is not None
    assert row[0:3] == ("FR-000002", "cabinet_temp", 3.9)
    assert float(row[3]) == pytest.approx(now - 5, abs=1e-3)
    assert row[4] is True  # both device time and receive time are kept
    assert status == (2,)
    assert len(running.acked) == 2


def test_the_same_message_twice_is_one_row(
    running: RunningIngest, publisher: TestPublisher, database_url: str
) -> None:
    payload = senml("FR-000001", time.time() - 30)
    publisher.publish("dt/FR-000001/senml", payload)
    publisher.publish("dt/FR-000001/senml", payload)
    publisher.flush()
    wait_for(lambda: len(running.acked) == 2, what="both deliveries acknowledged")
    assert readings(database_url) == 2  # two metrics, once each


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("dt/FR-000001/senml", b"\xff\xfe not json", "undecodable"),
        ("dt/FR-000001/senml", b'{"not": "a pack"}', "undecodable"),
        ("dt/FR-999999/senml", None, "unknown_device"),
        ("dt/FR-000002/senml", None, "device_mismatch"),
        ("dt/FR-000001/senml", b'[{"n":"cabinet_temp","u":"Cel","v":95.0}]', "out_of_range"),
        ("dt/FR-000001/json", b'{"values": {"spin": 3}}', "invalid"),
        ("elsewhere/FR-000001", b"[]", None),  # not our topic root: never subscribed
        ("dt/FR-000001/xml", b"<a/>", "unknown_topic"),
    ],
)
def test_bad_messages_become_dead_letters(
    running: RunningIngest,
    publisher: TestPublisher,
    database_url: str,
    topic: str,
    payload: bytes | None,
    reason: str | None,
) -> None:
    body = payload if payload is not None else senml("FR-000001", time.time())
    if reason == "unknown_device":
        body = senml("FR-999999", time.time())
    publisher.publish(topic, body)
    publisher.publish("dt/FR-000001/senml", senml("FR-000001", time.time() - 1))  # a good one
    publisher.flush()
    expected_acks = 1 if reason is None else 2
    wait_for(lambda: len(running.acked) == expected_acks, what="acknowledgements")
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT topic, payload, reason, detail, received_at FROM dead_letters"
        ).fetchall()
    if reason is None:
        assert rows == []
        return
    assert len(rows) == 1
    assert rows[0][0] == topic
    assert bytes(rows[0][1]) == body  # the raw bytes, as received
    assert rows[0][2] == reason
    assert rows[0][3]  # a human-readable detail
    assert readings(database_url) == 2  # the good message still went through


def test_dead_letter_replays_after_the_device_is_registered(
    running: RunningIngest,
    publisher: TestPublisher,
    database_url: str,
    db: Pool,
    catalog: Catalog,
) -> None:
    publisher.publish("dt/FR-000077/senml", senml("FR-000077", time.time() - 5))
    publisher.flush()
    wait_for(lambda: count(database_url, "SELECT count(*) FROM dead_letters") == 1)
    register_devices(db, ["FR-000077"], with_customer=False)
    report = replay_dead_letters(
        db, catalog, running.settings.ingest, running.settings.mqtt.topic_root
    )
    assert (report.replayed, report.stored, report.still_rejected) == (1, 1, 0)
    assert readings(database_url) == 2
    again = replay_dead_letters(
        db, catalog, running.settings.ingest, running.settings.mqtt.topic_root
    )
    assert again.replayed == 0  # stored ones are not replayed again by default
    with psycopg.connect(database_url) as conn:
        outcome = conn.execute("SELECT replay_outcome, occurrences FROM dead_letters").fetchone()
    assert outcome == ("stored", 1)


def test_messages_published_while_ingest_is_down_are_all_stored(
    db: Pool, database_url: str, broker: MosquittoProcess, catalog: Catalog
) -> None:
    register_devices(db, ["FR-000001"])
    settings = settings_for(database_url, broker.port, new_client_id())
    first = RunningIngest(settings, catalog).start()  # creates the persistent session
    publisher = TestPublisher(broker.port)
    base = time.time() - 3600
    for i in range(200):
        publisher.publish("dt/FR-000001/senml", senml("FR-000001", base + i))
    publisher.flush()
    wait_for(lambda: readings(database_url) >= 100, what="some readings while running")
    first.stop()  # stopped while devices publish
    for i in range(200, 600):
        publisher.publish("dt/FR-000001/senml", senml("FR-000001", base + i))
    publisher.flush()
    publisher.close()
    second = RunningIngest(settings, catalog).start()  # same client id: same session
    try:
        wait_for(lambda: readings(database_url) == 1200, timeout=30, what="all 600 messages")
    finally:
        second.stop()


def test_ingest_reconnects_after_the_broker_restarts(
    running: RunningIngest, database_url: str, broker: MosquittoProcess
) -> None:
    assert running.ingest is not None
    publisher = TestPublisher(broker.port)
    publisher.publish("dt/FR-000001/senml", senml("FR-000001", time.time() - 100))
    publisher.flush()
    publisher.close()
    wait_for(lambda: readings(database_url) == 2)
    broker.restart()
    wait_for(
        lambda: running.ingest is not None and running.ingest.source.reconnects >= 1,
        timeout=30,
        what="ingest reconnected",
    )
    publisher = TestPublisher(broker.port)
    for i in range(50):
        publisher.publish("dt/FR-000001/senml", senml("FR-000001", time.time() - 50 + i * 0.1))
    publisher.flush()
    publisher.close()
    wait_for(lambda: readings(database_url) == 102, timeout=30, what="readings after restart")


def test_nothing_is_acknowledged_while_the_database_is_unreachable(
    db: Pool, database_url: str, broker: MosquittoProcess, catalog: Catalog
) -> None:
    register_devices(db, ["FR-000001"])
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    host = str(info.get("host") or "127.0.0.1")
    proxy = CuttableProxy(host, int(info.get("port") or 5432))
    info.update(host="127.0.0.1", port=str(proxy.port))
    via_proxy = psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]
    run = RunningIngest(settings_for(via_proxy, broker.port, new_client_id()), catalog).start()
    publisher = TestPublisher(broker.port)
    try:
        base = time.time() - 600
        for i in range(20):
            publisher.publish("dt/FR-000001/senml", senml("FR-000001", base + i))
        publisher.flush()
        wait_for(lambda: len(run.acked) == 20, what="first 20 acknowledged")

        proxy.cut()
        for i in range(20, 70):
            publisher.publish("dt/FR-000001/senml", senml("FR-000001", base + i))
        publisher.flush()  # the broker has them; ingest must not acknowledge them yet
        assert run.ingest is not None
        wait_for(
            lambda: run.ingest is not None and run.ingest.worker.stats.db_retries >= 2,
            what="writer retrying",
        )
        time.sleep(1.0)
        assert len(run.acked) == 20
        assert readings(database_url) == 40

        proxy.restore()
        wait_for(lambda: len(run.acked) == 70, timeout=30, what="all acknowledged after outage")
        assert readings(database_url) == 140
        assert run.ingest.worker.database_ok.is_set()
    finally:
        publisher.close()
        run.stop()
        proxy.close()


def test_detector_state_survives_a_restart(
    db: Pool, database_url: str, broker: MosquittoProcess, catalog: Catalog
) -> None:
    ids = register_devices(db, ["FR-000001"])
    settings = settings_for(database_url, broker.port, new_client_id())
    first = RunningIngest(settings, catalog).start()
    publisher = TestPublisher(broker.port)
    base = time.time() - 6 * 3600  # six hours of one reading a minute: 72 closed windows
    for i in range(360):
        publisher.publish("dt/FR-000001/senml", senml("FR-000001", base + 60 * i))
    publisher.flush()
    wait_for(lambda: readings(database_url) == 720, timeout=30, what="history stored")
    assert first.ingest is not None
    assert first.ingest.detectors is not None
    monitor = first.ingest.detectors.monitor(ids["FR-000001"], "cabinet_temp")
    assert monitor is not None
    learned = monitor.detector.learned
    assert learned >= 70
    first.stop()  # the final batch checkpoints every changed detector
    assert count(database_url, "SELECT count(*) FROM detector_state") == 1

    second = RunningIngest(settings, catalog).start()
    try:
        publisher.publish("dt/FR-000001/senml", senml("FR-000001", base + 60 * 360))
        publisher.flush()
        wait_for(lambda: readings(database_url) == 722, what="the next reading")
        assert second.ingest is not None
        assert second.ingest.detectors is not None
        restored = second.ingest.detectors.monitor(ids["FR-000001"], "cabinet_temp")
        assert restored is not None
        assert restored.detector.learned >= learned  # carried on, not warming up again
    finally:
        publisher.close()
        second.stop()


def test_the_inbox_stays_bounded_while_the_database_is_away(
    db: Pool, database_url: str, broker: MosquittoProcess, catalog: Catalog
) -> None:
    register_devices(db, ["FR-000001"])
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    proxy = CuttableProxy(str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432))
    info.update(host="127.0.0.1", port=str(proxy.port))
    via_proxy = psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]
    # What ingest holds unacknowledged is bounded by the broker's in-flight window.
    settings = settings_for(
        via_proxy,
        broker.port,
        new_client_id(),
        mqtt={"receive_maximum": 40},
        batch_max_messages=10,
    )
    run = RunningIngest(settings, catalog).start()
    publisher = TestPublisher(broker.port)
    try:
        proxy.cut()
        base = time.time() - 900
        for i in range(300):
            publisher.publish("dt/FR-000001/senml", senml("FR-000001", base + i))
        publisher.flush()
        assert run.ingest is not None
        worker = run.ingest.worker
        wait_for(lambda: worker.held.held > 0, what="messages held")
        time.sleep(1.0)
        held = worker.backlog
        assert 0 < held <= 40  # the broker's window: the rest waits at the broker
        time.sleep(0.5)
        assert worker.backlog == held
        assert run.acked == []
        proxy.restore()
        wait_for(lambda: readings(database_url) == 600, timeout=60, what="all 300 stored")
        wait_for(lambda: len(run.acked) == 300, what="all 300 acknowledged")
    finally:
        publisher.close()
        run.stop()
        proxy.close()
