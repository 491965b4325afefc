"""Presence on real PostgreSQL: noisy sightings debounced into visits, redelivery, dead letters."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from devices.presence.directory import add_beacon, add_store, add_zone, register_installation
from devices.presence.model import OpeningHours, PresenceRules, ZoneChange, ibeacon_identifier
from devices.presence.tracking import ZoneEvent, expire_tracks
from ingest.messages import RawMessage, Rejection, RejectReason
from ingest.presence import apply_message, installation_topic

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
RULES = PresenceRules(rssi_enter=-75, enter_sightings=3, enter_seconds=10, exit_seconds=30)


def _setup(db: Pool) -> tuple[int, int]:
    with db.connection() as conn:
        customer = conn.execute(
            "INSERT INTO customers (kind, name, email) VALUES ('person', 'Iris', 'i@example.com') "
            "RETURNING id"
        ).fetchone()
        assert customer is not None
        store = add_store(conn, "S1", "Lyon", OpeningHours.parse({}, "Europe/Paris"), T0, "t")
        dairy = add_zone(conn, store.id, "dairy", "Dairy", ["Dairy", "cheese"], T0, "t")
        add_beacon(conn, dairy.id, ibeacon_identifier(UUID, 1, 1), T0, "t")
        register_installation(conn, "app-1", int(customer[0]), T0, "t")
        return int(customer[0]), dairy.id


def _message(sightings: list[tuple[datetime, float]], minor: int = 1) -> RawMessage:
    body = {
        "sightings": [
            {
                "t": at.timestamp(),
                "rssi": rssi,
                "ibeacon": {"uuid": UUID, "major": 1, "minor": minor},
            }
            for at, rssi in sightings
        ]
    }
    return RawMessage(installation_topic("app-1"), json.dumps(body).encode(), T0.timestamp())


def _apply(db: Pool, message: RawMessage, sink: list[ZoneEvent]) -> object:
    def keep(_conn: object, events: list[ZoneEvent]) -> None:
        sink.extend(e for e in events if e.kind is not ZoneChange.DWELL)

    with db.connection() as conn:
        return apply_message(conn, message, RULES, keep)


def test_noisy_walk_is_one_visit_with_its_dwell(db: Pool) -> None:
    customer, zone = _setup(db)
    rng = random.Random(7)
    events: list[ZoneEvent] = []
    # A stray weak packet, then a minute in the zone with noise and a 15 s drop-out
    # (shorter than the exit hysteresis), one message per 5 s of sightings.
    walk = [(T0, -90.0)]
    walk += [
        (T0 + timedelta(seconds=s), -65 + rng.gauss(0, 4)) for s in range(5, 65) if not 30 <= s < 45
    ]
    for start in range(0, len(walk), 5):
        _apply(db, _message(walk[start : start + 5]), events)
    assert [e.kind.value for e in events] == ["zone_enter"]
    assert events[0].customer_id == customer
    assert events[0].zone_id == zone
    with db.connection() as conn:
        closed = expire_tracks(conn, T0 + timedelta(seconds=200), RULES)
    assert [e.kind.value for e in closed] == ["zone_exit"]
    assert closed[0].dwell_seconds is not None
    assert 50 <= closed[0].dwell_seconds <= 60
    with db.connection() as conn:
        visits = conn.execute("SELECT count(*), min(dwell_seconds) FROM presence_visits").fetchone()
        counts = conn.execute(
            "SELECT sum(visits), sum(exits), sum(dwell_seconds) FROM presence_zone_counts"
        ).fetchone()
    assert visits is not None
    assert visits[0] == 1
    assert counts == (1, 1, visits[1])


def test_a_few_weak_or_stray_sightings_make_no_entry(db: Pool) -> None:
    _setup(db)
    events: list[ZoneEvent] = []
    _apply(db, _message([(T0, -60.0), (T0 + timedelta(seconds=1), -95.0)]), events)
    # The second strong sighting comes after the exit time: the candidate starts again.
    _apply(db, _message([(T0 + timedelta(seconds=60), -60.0)]), events)
    assert events == []


def test_redelivered_message_adds_nothing(db: Pool) -> None:
    _setup(db)
    events: list[ZoneEvent] = []
    message = _message([(T0 + timedelta(seconds=s), -60.0) for s in range(4)])
    _apply(db, message, events)
    second = _apply(db, message, events)
    assert len(events) == 1
    assert getattr(second, "duplicate", False)
    with db.connection() as conn:
        row = conn.execute("SELECT count(*) FROM presence_zone_events").fetchone()
    assert row == (1,)


def test_bad_sightings_are_dead_lettered(db: Pool) -> None:
    _setup(db)
    events: list[ZoneEvent] = []
    bad = [
        RawMessage("ps/app-1/sightings", b"{not json", T0.timestamp()),
        RawMessage("ps/app-1/sightings", b'{"sightings": [{"t": 1, "rssi": -60}]}', 0.0),
        RawMessage("ps/app-1", b"{}", T0.timestamp()),
        RawMessage(
            "ps/nobody/sightings",
            _message([(T0, -60.0)]).payload,
            T0.timestamp(),
        ),
    ]
    outcomes = [_apply(db, message, events) for message in bad]
    reasons = [o.reason for o in outcomes if isinstance(o, Rejection)]
    assert reasons == [
        RejectReason.UNDECODABLE,
        RejectReason.INVALID,
        RejectReason.UNKNOWN_TOPIC,
        RejectReason.UNKNOWN_INSTALLATION,
    ]
    with db.connection() as conn:
        row = conn.execute("SELECT count(*) FROM dead_letters").fetchone()
    assert row == (4,)
