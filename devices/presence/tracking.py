"""Sightings to zone events: the debounce state per installation and zone, on PostgreSQL.

Messages are applied by :mod:`devices.presence.batch` (many per transaction); this module
holds the shapes and the scheduler's sweep of installations no longer seen. A message's
digest is recorded first, so that a redelivered message changes nothing (no second entry,
visit or count). A message that sees an installation still inside a zone also reports its
dwell so far (``ZoneChange.DWELL``, not stored) for offers that need a minimum dwell. Raw
sightings are not stored: only zone entries and exits, visits with their dwell,
and anonymous per-zone daily counts (data minimisation).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from devices.presence.model import (
    PresenceRules,
    Track,
    TrackState,
    Transition,
    ZoneChange,
    expire,
)

Connection = psycopg.Connection[TupleRow]


class UnknownInstallation(LookupError):
    """Sightings from an app installation that no customer registered."""


@dataclass(frozen=True, slots=True)
class Sighting:
    at: datetime
    beacon: str  # a canonical identifier, see devices.presence.model
    rssi: float


@dataclass(frozen=True, slots=True)
class ZoneEvent:
    """A zone entered or left by a customer's app installation."""

    kind: ZoneChange
    at: datetime
    installation_id: str
    customer_id: int
    zone_id: int
    visit_id: int
    dwell_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    events: list[ZoneEvent]
    duplicate: bool = False
    unmapped: int = 0  # sightings of beacons that are not ours (another shop's, say)


SHARDS = 64
_next_shard = itertools.count()
_thread = threading.local()


def shard() -> int:
    """This thread's row of the per-zone daily counts. One row per zone and day was the
    hottest lock of the pipeline (every entry of every thread updated it and held it until
    its batch committed); each thread now adds to its own row, and readers sum them."""
    shard: int | None = getattr(_thread, "shard", None)
    if shard is None:
        shard = _thread.shard = next(_next_shard) % SHARDS
    return shard


@dataclass
class _Held:
    track: Track | None
    visit_id: int | None
    existed: bool


def _load(conn: Connection, installation_id: str) -> dict[int, _Held]:
    rows = conn.execute(
        "SELECT zone_id, state, first_seen, last_seen, sightings, entered_at, visit_id "
        "FROM presence_tracks WHERE installation_id = %s FOR UPDATE",
        (installation_id,),
    ).fetchall()
    return {
        int(r[0]): _Held(Track(TrackState(r[1]), r[2], r[3], int(r[4]), r[5]), r[6], True)
        for r in rows
    }


def _record(
    conn: Connection,
    installation_id: str,
    customer_id: int,
    zone_id: int,
    held: _Held,
    change: Transition,
) -> ZoneEvent:
    if change.kind is ZoneChange.ENTER:
        row = conn.execute(
            "INSERT INTO presence_visits (installation_id, customer_id, zone_id, entered_at) "
            "VALUES (%s, %s, %s, %s) RETURNING id",
            (installation_id, customer_id, zone_id, change.at),
        ).fetchone()
        assert row is not None
        held.visit_id = int(row[0])
        conn.execute(
            "INSERT INTO presence_zone_counts (zone_id, day, shard, visits) "
            "VALUES (%s, %s, %s, 1) ON CONFLICT (zone_id, day, shard) DO UPDATE "
            "SET visits = presence_zone_counts.visits + 1",
            (zone_id, change.at.date(), shard()),
        )
    else:
        assert held.visit_id is not None
        conn.execute(
            "UPDATE presence_visits SET exited_at = %s, dwell_seconds = %s WHERE id = %s",
            (change.at, change.dwell_seconds, held.visit_id),
        )
        conn.execute(
            "INSERT INTO presence_zone_counts (zone_id, day, shard, exits, dwell_seconds) "
            "VALUES (%s, %s, %s, 1, %s) ON CONFLICT (zone_id, day, shard) DO UPDATE "
            "SET exits = presence_zone_counts.exits + 1, "
            "dwell_seconds = presence_zone_counts.dwell_seconds + excluded.dwell_seconds",
            (zone_id, change.at.date(), shard(), change.dwell_seconds or 0.0),
        )
    assert held.visit_id is not None
    conn.execute(
        "INSERT INTO presence_zone_events "
        "(at, visit_id, customer_id, zone_id, kind, dwell_seconds) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (visit_id, kind) DO NOTHING",
        (change.at, held.visit_id, customer_id, zone_id, change.kind.value, change.dwell_seconds),
    )
    event = ZoneEvent(
        change.kind,
        change.at,
        installation_id,
        customer_id,
        zone_id,
        held.visit_id,
        change.dwell_seconds,
    )
    if change.kind is ZoneChange.EXIT:
        held.visit_id = None
    return event


def _save(conn: Connection, installation_id: str, zone_id: int, held: _Held) -> None:
    track = held.track
    if track is None:
        if held.existed:
            conn.execute(
                "DELETE FROM presence_tracks WHERE installation_id = %s AND zone_id = %s",
                (installation_id, zone_id),
            )
        return
    values: dict[str, Any] = {
        "i": installation_id,
        "z": zone_id,
        "s": track.state.value,
        "f": track.first_seen,
        "l": track.last_seen,
        "n": track.sightings,
        "e": track.entered_at,
        "v": held.visit_id,
    }
    conn.execute(
        "INSERT INTO presence_tracks (installation_id, zone_id, state, first_seen, last_seen, "
        "sightings, entered_at, visit_id) VALUES (%(i)s, %(z)s, %(s)s, %(f)s, %(l)s, %(n)s, "
        "%(e)s, %(v)s) ON CONFLICT (installation_id, zone_id) DO UPDATE SET "
        "state = excluded.state, first_seen = excluded.first_seen, "
        "last_seen = excluded.last_seen, sightings = excluded.sightings, "
        "entered_at = excluded.entered_at, visit_id = excluded.visit_id",
        values,
    )


def expire_tracks(conn: Connection, now: datetime, rules: PresenceRules) -> list[ZoneEvent]:
    """Close the visits of installations no longer seen (the scheduler's sweep)."""
    rows = conn.execute(
        "SELECT t.installation_id, t.zone_id, t.state, t.first_seen, t.last_seen, t.sightings, "
        "t.entered_at, t.visit_id, i.customer_id FROM presence_tracks t "
        "JOIN presence_installations i ON i.id = t.installation_id "
        "WHERE t.last_seen < %s FOR UPDATE OF t SKIP LOCKED",
        (now - timedelta(seconds=rules.exit_seconds),),
    ).fetchall()
    events: list[ZoneEvent] = []
    for r in rows:
        state = _Held(Track(TrackState(r[2]), r[3], r[4], int(r[5]), r[6]), r[7], True)
        state.track, changes = expire(state.track, now, rules)
        events.extend(_record(conn, r[0], int(r[8]), int(r[1]), state, c) for c in changes)
        _save(conn, r[0], int(r[1]), state)
    return events


def prune_seen(conn: Connection, before: datetime) -> int:
    """Forget message digests older than any redelivery could be."""
    return conn.execute("DELETE FROM presence_seen WHERE received_at < %s", (before,)).rowcount
