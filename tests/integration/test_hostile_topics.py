"""Topics Mosquitto would refuse, through the embedded broker (rumqttd), which passes them on.

NUL, control characters and non-characters in a topic: each becomes a dead letter with the
topic escaped, and the good messages around them are stored. (A topic that is not UTF-8 at
all is refused by rumqttd too; ``tests/unit/test_received.py`` covers what ingest would do.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.embedded.services import EmbeddedBroker
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
from tests.services import free_port

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]

TOPICS = [
    "dt/FR-000001\x00/json",
    "dt/a\x00b/json",
    "dt/FR-\x01\x1b[2J/json",
    "dt/FR-\x7f/senml",
    "dt/FR-\u0085/json",
    "dt/\uffff/json",
]


@pytest.fixture
def embedded_broker() -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker(free_port())
    broker.start()
    yield broker
    broker.stop()


def good(i: int) -> bytes:
    return good_reading("FR-000001", int(time.time()) - 86400 + i)


def test_topics_with_nul_and_control_characters_are_dead_lettered(
    db: Pool, database_url: str, catalog: Catalog, embedded_broker: EmbeddedBroker
) -> None:
    register_devices(db, ["FR-000001"])
    run = RunningIngest(
        settings_for(database_url, embedded_broker.port, new_client_id()), catalog
    ).start()
    publisher = TestPublisher(embedded_broker.port)
    try:
        publisher.publish("dt/FR-000001/senml", good(0))
        for i, topic in enumerate(TOPICS, start=1):
            publisher.publish(topic, b'[{"n":"cabinet_temp","v":1}]')
            publisher.publish("dt/FR-000001/senml", good(i))
        publisher.flush()
        wait_for(
            lambda: count(database_url, "SELECT count(*) FROM dead_letters") == len(TOPICS),
            what="a dead letter per hostile topic",
        )
        wait_for(
            lambda: count(database_url, "SELECT count(*) FROM readings") == len(TOPICS) + 1,
            what="every good message stored",
        )
        with psycopg.connect(database_url) as conn:
            rows = conn.execute("SELECT topic, reason FROM dead_letters").fetchall()
        assert {reason for _, reason in rows} == {"unknown_topic"}
        topics = {topic for topic, _ in rows}
        assert "dt/a\\x00b/json" in topics  # NUL escaped, the rest as sent
        assert "dt/FR-\x01\x1b[2J/json" in topics
    finally:
        publisher.close()
        run.stop()
