"""End to end: a simulated appliance fault becomes exactly one proactive ticket.

Simulator -> Mosquitto -> ingest (decode, validate, COPY, detect) -> fault -> ticket, all
real, with about a day and a half of a small fleet's telemetry replayed at full speed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.demo.fleet_run import warmup_seconds
from careline.demo.seed import seed_crm
from careline.embedded.mosquitto import MosquittoProcess
from devices.catalog import Catalog
from simulators.clock import SimClock
from simulators.fault_profiles import FaultKind
from simulators.faults import InjectedFault
from simulators.fleet import make_fleet
from simulators.publisher import Publisher
from simulators.run import Progress, run_fleet
from tests.integration.harness import RunningIngest, new_client_id, settings_for, wait_for

pytestmark = pytest.mark.e2e
HOUR = 3600.0
SEED = 11


def replay(
    port: int, clock_start: float, until: float, faults: list[InjectedFault], catalog: Catalog
) -> Progress:
    fleet = make_fleet(SEED, refrigerators=3, washing_machines=1)
    clock = SimClock(clock_start, speed=1e9)
    with Publisher("127.0.0.1", port, client_id=f"e2e-{uuid.uuid4().hex[:6]}") as publisher:
        return run_fleet(fleet, faults, publisher, clock, until=until, seed=SEED, catalog=catalog)


def test_a_simulated_compressor_fault_opens_exactly_one_ticket(
    db: ConnectionPool[psycopg.Connection[TupleRow]],
    database_url: str,
    broker: MosquittoProcess,
    catalog: Catalog,
) -> None:
    fleet = make_fleet(SEED, refrigerators=3, washing_machines=1)
    with db.connection() as conn:
        seed_crm(conn, fleet, seed=SEED, today=datetime.now(UTC).date())
    target = fleet[0]  # FR-000001: owned (the seed leaves every tenth device in stock)
    start = SimClock.replaying(30 * HOUR, speed=1e9).start
    onset = start + warmup_seconds(catalog) + HOUR
    fault = InjectedFault(target.serial, FaultKind.COMPRESSOR_DEGRADATION, onset, 3 * HOUR)
    until = start + 30 * HOUR - 120

    run = RunningIngest(settings_for(database_url, broker.port, new_client_id()), catalog)
    run.start()
    try:
        first = replay(broker.port, start, until, [fault], catalog)
        assert first.acked == first.published
        wait_for(lambda: len(run.acked) == first.published, timeout=120, what="all stored")

        with psycopg.connect(database_url) as conn:
            faults = conn.execute(
                "SELECT f.id, d.serial, f.metric, f.score >= f.threshold, f.evidence "
                "FROM faults f JOIN devices d ON d.id = f.device_id ORDER BY f.id"
            ).fetchall()
            tickets = conn.execute(
                "SELECT t.id, t.kind, t.status, d.serial, t.customer_id = d.customer_id "
                "FROM tickets t JOIN devices d ON d.id = t.device_id"
            ).fetchall()
            links = conn.execute("SELECT ticket_id, fault_id FROM ticket_faults").fetchall()
            dead = conn.execute("SELECT count(*) FROM dead_letters").fetchone()

        assert faults, "the injected compressor fault was not detected"
        assert {serial for _, serial, *_ in faults} == {target.serial}  # no false alarms
        # A wearing compressor runs longer and draws more, and the cabinet warms.
        moved = {"cabinet_temp", "compressor_power", "duty_cycle"}
        assert {metric for _, _, metric, *_ in faults} <= moved
        assert all(over for *_, over, _ in faults)
        assert all(evidence["windows"] for *_, evidence in faults)
        assert len(tickets) == 1
        ticket_id, kind, status, serial, owner_matches = tickets[0]
        assert (kind, status, serial, owner_matches) == ("proactive", "new", target.serial, True)
        assert sorted(links) == sorted((ticket_id, fault_id) for fault_id, *_ in faults)
        assert dead == (0,)

        # Every message delivered again (a publisher retrying, a broker redelivering):
        # nothing is added twice.
        readings_before = wait_count(database_url, "SELECT count(*) FROM readings")
        acked_before = len(run.acked)
        second = replay(broker.port, start, until, [fault], catalog)
        wait_for(lambda: len(run.acked) == acked_before + second.published, timeout=120)
        assert wait_count(database_url, "SELECT count(*) FROM readings") == readings_before
        assert wait_count(database_url, "SELECT count(*) FROM faults") == len(faults)
        assert wait_count(database_url, "SELECT count(*) FROM tickets") == 1
    finally:
        run.stop()


def wait_count(database_url: str, sql: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])
