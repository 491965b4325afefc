"""Sightings to zone events: the debounce state per installation and zone, on PostgreSQL.

One call per sightings message, inside the caller's transaction. The message's digest is
recorded first, so that a redelivered message changes nothing (no second entry, visit or
count). A message that sees an installation still inside a zone also reports its dwell so
far (``ZoneChange.DWELL``, not stored) for offers that need a minimum dwell. Raw sightings
are not stored: only zone entries and exits, visits with their dwell,
and anonymous per-zone daily counts (data minimisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from devices.presence.directory import beacon_zones
from devices.presence.model import (
    PresenceRules,
    Track,
    TrackState,
    Transition,
    ZoneChange,
    expire,
    observe,
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


@dataclass
class _Held:
    track: Track | None
    visit_id: int | None
    existed: bool


def installation_customer(conn: Connection, installation_id: str) -> int:
    row = conn.execute(
        "SELECT customer_id FROM presence_installations WHERE id = %s", (installation_id,)
    ).fetchone()
    if row is None:
        raise UnknownInstallation(f"no app installation {installation_id!r} is registered")
    return int(row[0])


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
            "INSERT INTO presence_zone_counts (zone_id, day, visits) VALUES (%s, %s, 1) "
            "ON CONFLICT (zone_id, day) DO UPDATE "
            "SET visits = presence_zone_counts.visits + 1",
            (zone_id, change.at.date()),
        )
    else:
        assert held.visit_id is not None
        conn.execute(
            "UPDATE presence_visits SET exited_at = %s, dwell_seconds = %s WHERE id = %s",
            (change.at, change.dwell_seconds, held.visit_id),
        )
        conn.execute(
            "INSERT INTO presence_zone_counts (zone_id, day, exits, dwell_seconds) "
            "VALUES (%s, %s, 1, %s) ON CONFLICT (zone_id, day) DO UPDATE "
            "SET exits = presence_zone_counts.exits + 1, "
            "dwell_seconds = presence_zone_counts.dwell_seconds + excluded.dwell_seconds",
            (zone_id, change.at.date(), change.dwell_seconds or 0.0),
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


def apply_sightings(
    conn: Connection,
    installation_id: str,
    sightings: list[Sighting],
    rules: PresenceRules,
    digest: bytes,
    received_at: datetime,
) -> Applied:
    """Apply one message's sightings; the zone entries and exits they cause.

    :class:`UnknownInstallation` if no customer registered the installation.
    """
    customer_id = installation_customer(conn, installation_id)
    fresh = conn.execute(
        "INSERT INTO presence_seen (digest, received_at) VALUES (%s, %s) "
        "ON CONFLICT (digest) DO NOTHING RETURNING 1",
        (digest, received_at),
    ).fetchone()
    if fresh is None:
        return Applied([], duplicate=True)
    zones = beacon_zones(conn, sorted({s.beacon for s in sightings}))
    held = _load(conn, installation_id)
    events: list[ZoneEvent] = []
    unmapped = 0
    observed: set[int] = set()
    for sighting in sorted(sightings, key=lambda s: s.at):
        zone_id = zones.get(sighting.beacon)
        if zone_id is None:
            unmapped += 1
            continue
        observed.add(zone_id)
        state = held.setdefault(zone_id, _Held(None, None, False))
        state.track, changes = observe(state.track, sighting.at, sighting.rssi, rules)
        events.extend(
            _record(conn, installation_id, customer_id, zone_id, state, change)
            for change in changes
        )
    if sightings:
        latest = max(s.at for s in sightings)
        for zone_id, state in held.items():
            state.track, changes = expire(state.track, latest, rules)
            events.extend(
                _record(conn, installation_id, customer_id, zone_id, state, c) for c in changes
            )
    for zone_id, state in held.items():
        _save(conn, installation_id, zone_id, state)
    events.extend(_dwelling(installation_id, customer_id, held, observed))
    return Applied(events, unmapped=unmapped)


def _dwelling(
    installation_id: str, customer_id: int, held: dict[int, _Held], observed: set[int]
) -> list[ZoneEvent]:
    """A DWELL event for each zone this message saw the installation still inside."""
    out = []
    for zone_id in sorted(observed):
        state = held.get(zone_id)
        track = None if state is None else state.track
        if state is None or track is None or track.state is not TrackState.INSIDE:
            continue
        if track.entered_at is None or state.visit_id is None:
            continue
        dwell = (track.last_seen - track.entered_at).total_seconds()
        if dwell > 0:
            out.append(ZoneEvent(ZoneChange.DWELL, track.last_seen, installation_id,
                                 customer_id, zone_id, state.visit_id, dwell))  # fmt: skip
    return out


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
