"""Many sightings messages applied at once: the same rules as one message at a time, with a
fixed number of statements for the whole batch.

Per message, in arrival order: its installation must be registered (else
:class:`UnknownInstallation` for that message alone), its digest must be new (else it is a
duplicate and changes nothing), then each sighting moves the installation's debounce state
(:func:`devices.presence.model.observe`, then ``expire``). The states of every installation
in the batch are read (and locked) together, and what the batch changed is written
together: new visits (their ids drawn from the table's identity sequence first, so that an
entry and its exit in the same batch, and the zone events, can name them), closed visits,
zone events, the per-zone daily counts (this thread's shard, added up per zone and day),
and the states. About ten statements, however many messages.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
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
    observe,
)
from devices.presence.tracking import Applied, Sighting, UnknownInstallation, ZoneEvent, shard

Connection = psycopg.Connection[TupleRow]


@dataclass(frozen=True, slots=True)
class Sightings:
    """One message's sightings, for one app installation."""

    installation_id: str
    sightings: list[Sighting]
    digest: bytes
    received_at: datetime


@dataclass
class _Visit:
    """A visit as the batch knows it: an id from the database, or one to draw (``new``)."""

    id: int | None
    installation_id: str
    customer_id: int
    zone_id: int
    entered_at: datetime
    new: bool = False
    exited_at: datetime | None = None
    dwell_seconds: float | None = None


@dataclass
class _State:
    track: Track | None
    visit: _Visit | None
    existed: bool
    touched: bool = False


@dataclass
class _Writes:
    visits: list[_Visit] = field(default_factory=list)  # new, or closed
    events: list[tuple[ZoneChange, datetime, _Visit]] = field(default_factory=list)
    counts: Counter[tuple[int, date, str]] = field(default_factory=Counter)
    dwell: defaultdict[tuple[int, date], float] = field(default_factory=lambda: defaultdict(float))


def _customers(conn: Connection, installations: list[str]) -> dict[str, int]:
    rows = conn.execute(
        "SELECT id, customer_id FROM presence_installations WHERE id = ANY(%s)",
        (installations,),
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def _fresh(conn: Connection, items: list[Sightings]) -> set[bytes]:
    if not items:
        return set()
    values = ", ".join(["(%s, %s)"] * len(items))
    params: list[Any] = [v for i in items for v in (i.digest, i.received_at)]
    rows = conn.execute(
        f"INSERT INTO presence_seen (digest, received_at) VALUES {values} "
        "ON CONFLICT (digest) DO NOTHING RETURNING digest",
        params,
    ).fetchall()
    return {bytes(r[0]) for r in rows}


def _beacons(conn: Connection, identifiers: list[str]) -> dict[str, int]:
    rows = conn.execute(
        "SELECT identifier, zone_id FROM presence_beacons WHERE identifier = ANY(%s)",
        (identifiers,),
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def _load(conn: Connection, customers: dict[str, int]) -> dict[tuple[str, int], _State]:
    rows = conn.execute(
        "SELECT t.installation_id, t.zone_id, t.state, t.first_seen, t.last_seen, t.sightings, "
        "t.entered_at, t.visit_id FROM presence_tracks t WHERE t.installation_id = ANY(%s) "
        "ORDER BY t.installation_id, t.zone_id FOR UPDATE",
        (sorted(customers),),
    ).fetchall()
    states = {}
    for r in rows:
        track = Track(TrackState(r[2]), r[3], r[4], int(r[5]), r[6])
        visit = None
        if r[7] is not None:
            entered = track.entered_at or track.first_seen
            visit = _Visit(int(r[7]), r[0], customers[r[0]], int(r[1]), entered)
        states[(r[0], int(r[1]))] = _State(track, visit, True)
    return states


def _transition(
    writes: _Writes, state: _State, item: Sightings, customer: int, zone: int, change: Transition
) -> None:
    if change.kind is ZoneChange.ENTER:
        entered = _Visit(None, item.installation_id, customer, zone, change.at, new=True)
        state.visit = entered
        writes.visits.append(entered)
        writes.counts[(zone, change.at.date(), "visits")] += 1
        writes.events.append((change.kind, change.at, entered))
        return
    visit = state.visit
    assert visit is not None
    visit.exited_at, visit.dwell_seconds = change.at, change.dwell_seconds
    if not visit.new:
        writes.visits.append(visit)
    writes.counts[(zone, change.at.date(), "exits")] += 1
    writes.dwell[(zone, change.at.date())] += change.dwell_seconds or 0.0
    state.visit = None
    writes.events.append((change.kind, change.at, visit))


def apply_batch(
    conn: Connection, items: list[Sightings], rules: PresenceRules
) -> list[Applied | UnknownInstallation]:
    """Apply these messages' sightings in order; each one's zone events (or the reason it
    was refused). In the caller's transaction."""
    customers = _customers(conn, sorted({i.installation_id for i in items}))
    known = [i for i in items if i.installation_id in customers]
    fresh = _fresh(conn, known)
    zones = _beacons(conn, sorted({s.beacon for i in known for s in i.sightings}))
    states = _load(conn, {i.installation_id: customers[i.installation_id] for i in known})
    writes = _Writes()
    results: list[tuple[Sightings, Any]] = []
    for item in items:
        customer = customers.get(item.installation_id)
        if customer is None:
            results.append((item, UnknownInstallation(
                f"no app installation {item.installation_id!r} is registered"
            )))  # fmt: skip
            continue
        if item.digest not in fresh:
            results.append((item, Applied([], duplicate=True)))
            continue
        fresh.discard(item.digest)  # the same message twice in one batch: once
        first = len(writes.events)
        unmapped, observed = 0, set()
        for sighting in sorted(item.sightings, key=lambda s: s.at):
            zone = zones.get(sighting.beacon)
            if zone is None:
                unmapped += 1
                continue
            observed.add(zone)
            state = states.setdefault((item.installation_id, zone), _State(None, None, False))
            state.touched = True
            state.track, changes = observe(state.track, sighting.at, sighting.rssi, rules)
            for change in changes:
                _transition(writes, state, item, customer, zone, change)
        if item.sightings:
            latest = max(s.at for s in item.sightings)
            for (installation, zone), state in states.items():
                if installation != item.installation_id:
                    continue
                before = state.track
                state.track, changes = expire(state.track, latest, rules)
                state.touched = state.touched or state.track is not before
                for change in changes:
                    _transition(writes, state, item, customer, zone, change)
        inside = {z: (s.track, s.visit) for (i, z), s in states.items()
                  if i == item.installation_id and z in observed}  # fmt: skip
        results.append((item, (first, len(writes.events), unmapped, inside, customer)))
    _write(conn, writes, states)
    out: list[Applied | UnknownInstallation] = []
    for item, result in results:
        if not isinstance(result, tuple):
            out.append(result)
            continue
        first, last, unmapped, inside, customer = result
        events = [
            ZoneEvent(kind, at, item.installation_id, customer, v.zone_id, _id(v),
                      v.dwell_seconds if kind is ZoneChange.EXIT else None)
            for kind, at, v in writes.events[first:last]
        ]  # fmt: skip
        events.extend(_dwelling(item.installation_id, customer, inside))
        out.append(Applied(events, unmapped=unmapped))
    return out


def _dwelling(
    installation_id: str, customer_id: int, inside: dict[int, tuple[Track | None, _Visit | None]]
) -> list[ZoneEvent]:
    """A DWELL event for each zone this message saw the installation still inside."""
    out = []
    for zone_id, (track, visit) in sorted(inside.items()):
        if track is None or track.state is not TrackState.INSIDE or visit is None:
            continue
        if track.entered_at is None:
            continue
        dwell = (track.last_seen - track.entered_at).total_seconds()
        if dwell > 0:
            out.append(ZoneEvent(ZoneChange.DWELL, track.last_seen, installation_id,
                                 customer_id, zone_id, _id(visit), dwell))  # fmt: skip
    return out


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
    [result] = apply_batch(conn, [Sightings(installation_id, sightings, digest, received_at)],
                           rules)  # fmt: skip
    if isinstance(result, UnknownInstallation):
        raise result
    return result


def _id(visit: _Visit) -> int:
    assert visit.id is not None
    return visit.id


def _write(conn: Connection, writes: _Writes, states: dict[tuple[str, int], _State]) -> None:
    new = [v for v in writes.visits if v.new]
    if new:
        ids = conn.execute(
            "SELECT nextval(pg_get_serial_sequence('presence_visits', 'id')) "
            "FROM generate_series(1, %s)",
            (len(new),),
        ).fetchall()
        for visit, row in zip(new, ids, strict=True):
            visit.id = int(row[0])
        conn.execute(
            "INSERT INTO presence_visits (id, installation_id, customer_id, zone_id, "
            "entered_at, exited_at, dwell_seconds) OVERRIDING SYSTEM VALUE "
            "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::bigint[], "
            "%s::timestamptz[], %s::timestamptz[], %s::float8[])",
            (
                [v.id for v in new], [v.installation_id for v in new],
                [v.customer_id for v in new], [v.zone_id for v in new],
                [v.entered_at for v in new], [v.exited_at for v in new],
                [v.dwell_seconds for v in new],
            ),
        )  # fmt: skip
    closed = [v for v in writes.visits if not v.new]
    if closed:
        conn.execute(
            "UPDATE presence_visits v SET exited_at = c.at, dwell_seconds = c.dwell "
            "FROM unnest(%s::bigint[], %s::timestamptz[], %s::float8[]) AS c(id, at, dwell) "
            "WHERE v.id = c.id",
            ([v.id for v in closed], [v.exited_at for v in closed],
             [v.dwell_seconds for v in closed]),
        )  # fmt: skip
    if writes.events:
        conn.execute(
            "INSERT INTO presence_zone_events (at, visit_id, customer_id, zone_id, kind, "
            "dwell_seconds) SELECT * FROM unnest(%s::timestamptz[], %s::bigint[], "
            "%s::bigint[], %s::bigint[], %s::text[], %s::float8[]) "
            "ON CONFLICT (visit_id, kind) DO NOTHING",
            (
                [at for _, at, _ in writes.events], [_id(v) for _, _, v in writes.events],
                [v.customer_id for _, _, v in writes.events],
                [v.zone_id for _, _, v in writes.events],
                [k.value for k, _, _ in writes.events],
                [v.dwell_seconds if k is ZoneChange.EXIT else None
                 for k, _, v in writes.events],
            ),
        )  # fmt: skip
    _write_counts(conn, writes)
    _write_states(conn, states)


def _write_counts(conn: Connection, writes: _Writes) -> None:
    keys = sorted({(zone, day) for zone, day, _ in writes.counts})
    if not keys:
        return
    conn.execute(
        "INSERT INTO presence_zone_counts (zone_id, day, shard, visits, exits, dwell_seconds) "
        "SELECT z, d, %s, v, e, w FROM unnest(%s::bigint[], %s::date[], %s::integer[], "
        "%s::integer[], %s::float8[]) AS c(z, d, v, e, w) "
        "ON CONFLICT (zone_id, day, shard) DO UPDATE SET "
        "visits = presence_zone_counts.visits + excluded.visits, "
        "exits = presence_zone_counts.exits + excluded.exits, "
        "dwell_seconds = presence_zone_counts.dwell_seconds + excluded.dwell_seconds",
        (
            shard(), [z for z, _ in keys], [d for _, d in keys],
            [writes.counts[(z, d, "visits")] for z, d in keys],
            [writes.counts[(z, d, "exits")] for z, d in keys],
            [writes.dwell[(z, d)] for z, d in keys],
        ),
    )  # fmt: skip


def _write_states(conn: Connection, states: dict[tuple[str, int], _State]) -> None:
    gone = [k for k, s in states.items() if s.track is None and s.existed]
    if gone:
        conn.execute(
            "DELETE FROM presence_tracks t USING unnest(%s::text[], %s::bigint[]) AS g(i, z) "
            "WHERE t.installation_id = g.i AND t.zone_id = g.z",
            ([i for i, _ in gone], [z for _, z in gone]),
        )
    kept = [(k, s) for k, s in sorted(states.items()) if s.track is not None and s.touched]
    if not kept:
        return
    tracks = [(k, s, s.track) for k, s in kept if s.track is not None]
    conn.execute(
        "INSERT INTO presence_tracks (installation_id, zone_id, state, first_seen, last_seen, "
        "sightings, entered_at, visit_id) SELECT * FROM unnest(%s::text[], %s::bigint[], "
        "%s::text[], %s::timestamptz[], %s::timestamptz[], %s::integer[], %s::timestamptz[], "
        "%s::bigint[]) ON CONFLICT (installation_id, zone_id) DO UPDATE SET "
        "state = excluded.state, first_seen = excluded.first_seen, "
        "last_seen = excluded.last_seen, sightings = excluded.sightings, "
        "entered_at = excluded.entered_at, visit_id = excluded.visit_id",
        (
            [k[0] for k, _, _ in tracks], [k[1] for k, _, _ in tracks],
            [t.state.value for _, _, t in tracks], [t.first_seen for _, _, t in tracks],
            [t.last_seen for _, _, t in tracks], [t.sightings for _, _, t in tracks],
            [t.entered_at for _, _, t in tracks],
            [None if s.visit is None else s.visit.id for _, s, _ in tracks],
        ),
    )  # fmt: skip
