"""Presence, pure: beacon identifiers, opening hours, and the entry/exit state machine.

A shopper's app reports *sightings* (a beacon seen at a time with an RSSI). A zone is
*entered* after ``enter_sightings`` sightings, or ``enter_seconds`` of sightings, at or
above ``rssi_enter`` dBm (debounce: one stray packet from the next aisle is not a visit).
Once inside, any sighting at or above ``rssi_enter - exit_margin_db`` keeps the shopper
inside (hysteresis in signal), and the zone is *left* only after ``exit_seconds`` without
one (hysteresis in time, longer than the phone OS's own 10-30 s exit delay). Dwell is the
last sighting inside minus the entry.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, time
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

_HEX: Final = re.compile(r"[0-9a-f]+")
DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def ibeacon_identifier(proximity_uuid: str, major: int, minor: int) -> str:
    """The canonical key of an iBeacon: its UUID (lower case), major and minor.

    >>> ibeacon_identifier("F7826DA6-4FA2-4E98-8024-BC5B71E0893E", 1, 7)
    'ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:7'
    >>> ibeacon_identifier("nope", 1, 7)
    Traceback (most recent call last):
    ...
    ValueError: iBeacon UUID 'nope' is not a UUID
    """
    try:
        parsed = uuid.UUID(proximity_uuid)
    except ValueError:
        raise ValueError(f"iBeacon UUID {proximity_uuid!r} is not a UUID") from None
    for name, value in (("major", major), ("minor", minor)):
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"iBeacon {name} {value} must be 0-65535 (uint16)")
    return f"ibeacon:{parsed}:{major}:{minor}"


def eddystone_identifier(namespace: str, instance: str) -> str:
    """The canonical key of an Eddystone-UID: 10-byte namespace and 6-byte instance, hex.

    >>> eddystone_identifier("EDD1EBEAC04E5DEFA017", "0000000000A1")
    'eddystone:edd1ebeac04e5defa017:0000000000a1'
    >>> eddystone_identifier("edd1", "0000000000a1")
    Traceback (most recent call last):
    ...
    ValueError: Eddystone namespace 'edd1' must be 20 hex digits (10 bytes)
    """
    for name, value, digits in (("namespace", namespace, 20), ("instance", instance, 12)):
        low = value.lower()
        if len(low) != digits or _HEX.fullmatch(low) is None:
            raise ValueError(
                f"Eddystone {name} {value!r} must be {digits} hex digits ({digits // 2} bytes)"
            )
    return f"eddystone:{namespace.lower()}:{instance.lower()}"


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Per weekday ("mon".."sun"), the (open, close) intervals in the store's local time.

    >>> hours = OpeningHours.parse({"mon": [["08:00", "20:00"]]}, "Europe/Paris")
    >>> hours.is_open(datetime.fromisoformat("2026-12-07T10:00:00+00:00"))  # a Monday
    True
    >>> hours.is_open(datetime.fromisoformat("2026-12-07T19:30:00+00:00"))  # 20:30 in Paris
    False
    >>> hours.is_open(datetime.fromisoformat("2026-12-08T10:00:00+00:00"))  # Tuesday: closed
    False
    """

    intervals: dict[str, tuple[tuple[time, time], ...]]
    timezone: str = "UTC"

    @classmethod
    def parse(cls, raw: dict[str, list[list[str]]], timezone: str = "UTC") -> OpeningHours:
        try:
            ZoneInfo(timezone)
        except (KeyError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        intervals: dict[str, tuple[tuple[time, time], ...]] = {}
        for day, spans in raw.items():
            if day not in DAYS:
                raise ValueError(f"opening hours day {day!r} must be one of {', '.join(DAYS)}")
            parsed = []
            for span in spans:
                if len(span) != 2:
                    raise ValueError(f"opening hours on {day} need [open, close] pairs")
                opens, closes = (time.fromisoformat(part) for part in span)
                if closes <= opens:
                    raise ValueError(f"opening hours on {day}: {span[1]} is not after {span[0]}")
                parsed.append((opens, closes))
            intervals[day] = tuple(parsed)
        return cls(intervals, timezone)

    def as_json(self) -> dict[str, list[list[str]]]:
        return {
            day: [[o.isoformat("minutes"), c.isoformat("minutes")] for o, c in spans]
            for day, spans in self.intervals.items()
        }

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        now = local.time()
        spans = self.intervals.get(DAYS[local.weekday()], ())
        return any(opens <= now < closes for opens, closes in spans)


@dataclass(frozen=True, slots=True)
class PresenceRules:
    """Debounce and hysteresis settings (see the module's docstring)."""

    rssi_enter: float = -75.0
    exit_margin_db: float = 10.0
    enter_sightings: int = 3
    enter_seconds: float = 10.0
    exit_seconds: float = 45.0


class TrackState(StrEnum):
    CANDIDATE = "candidate"  # strong sightings seen, not enough yet to call it an entry
    INSIDE = "inside"


@dataclass(frozen=True, slots=True)
class Track:
    """One installation's standing in one zone."""

    state: TrackState
    first_seen: datetime
    last_seen: datetime
    sightings: int
    entered_at: datetime | None = None


class ZoneChange(StrEnum):
    ENTER = "zone_enter"
    EXIT = "zone_exit"
    # Still inside, seen again: the visit's dwell so far (not stored; for dwell-triggered
    # offers, which may ask for a minimum time in the zone).
    DWELL = "zone_dwell"


@dataclass(frozen=True, slots=True)
class Transition:
    kind: ZoneChange
    at: datetime
    dwell_seconds: float | None = None


def expire(
    track: Track | None, now: datetime, rules: PresenceRules
) -> tuple[Track | None, list[Transition]]:
    """Drop a track not seen for ``exit_seconds``: an exit if it was inside.

    The exit is dated at the last sighting inside, so dwell is the time actually seen there.
    """
    if track is None or (now - track.last_seen).total_seconds() <= rules.exit_seconds:
        return track, []
    if track.state is TrackState.INSIDE:
        assert track.entered_at is not None
        dwell = (track.last_seen - track.entered_at).total_seconds()
        return None, [Transition(ZoneChange.EXIT, track.last_seen, dwell)]
    return None, []


def observe(
    track: Track | None, at: datetime, rssi: float, rules: PresenceRules
) -> tuple[Track | None, list[Transition]]:
    """The track after one sighting, and the transitions it causes.

    >>> from datetime import timedelta
    >>> rules = PresenceRules(rssi_enter=-70, enter_sightings=3, enter_seconds=10, exit_seconds=30)
    >>> t0 = datetime.fromisoformat("2026-12-06T10:00:00+00:00")
    >>> track, changes = observe(None, t0, -60, rules)
    >>> track.state, changes
    (<TrackState.CANDIDATE: 'candidate'>, [])
    >>> track, _ = observe(track, t0 + timedelta(seconds=1), -90, rules)  # too weak: ignored
    >>> track, _ = observe(track, t0 + timedelta(seconds=2), -65, rules)
    >>> track, changes = observe(track, t0 + timedelta(seconds=3), -66, rules)
    >>> track.state, changes[0].kind
    (<TrackState.INSIDE: 'inside'>, <ZoneChange.ENTER: 'zone_enter'>)
    >>> track, changes = observe(track, t0 + timedelta(seconds=100), -60, rules)
    >>> [(c.kind.value, c.dwell_seconds) for c in changes]
    [('zone_exit', 0.0)]
    """
    track, changes = expire(track, at, rules)
    if track is not None and at < track.last_seen:
        # Out of order (a late packet): it neither extends the stay nor counts again.
        return track, changes
    if track is not None and track.state is TrackState.INSIDE:
        if rssi >= rules.rssi_enter - rules.exit_margin_db:
            track = replace(track, last_seen=at, sightings=track.sightings + 1)
        return track, changes
    if rssi < rules.rssi_enter:
        return track, changes
    if track is None:
        track = Track(TrackState.CANDIDATE, at, at, 1)
    else:
        track = replace(track, last_seen=at, sightings=track.sightings + 1)
    enough = track.sightings >= rules.enter_sightings
    long_enough = (at - track.first_seen).total_seconds() >= rules.enter_seconds
    if enough or long_enough:
        track = replace(track, state=TrackState.INSIDE, entered_at=at)
        changes = [*changes, Transition(ZoneChange.ENTER, at)]
    return track, changes
