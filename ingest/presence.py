"""Presence sightings from shoppers' apps: topic, payload, and applying a message.

The shopper app's backend publishes, QoS 1, what one app installation saw::

    ps/{installation_id}/sightings

``ps`` ("presence sightings") is fixed; ``installation_id`` is the id the app registered
with careline (``POST /api/v1/app-installations``): 1 to 64 characters from
``A-Z a-z 0-9 . _ -``, starting with a letter or digit. The payload is a JSON object::

    {"sightings": [
      {"t": 1765015200.5, "rssi": -61,
       "ibeacon": {"uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e", "major": 1, "minor": 7}},
      {"t": "2026-12-06T10:00:01Z", "rssi": -70,
       "eddystone": {"namespace": "edd1ebeac04e5defa017", "instance": "0000000000a1"}}
    ]}

``t`` is UTC epoch seconds or an RFC 3339 time with an offset; ``rssi`` dBm (-127 to 20);
exactly one of ``ibeacon`` or ``eddystone`` per sighting; 1 to 500 sightings per message;
no other keys. A message that breaks a rule, or comes from an installation nobody
registered, becomes a dead letter (the same table and API as telemetry's). Sightings of
beacons careline does not know (another shop's) are ignored. A redelivered message (same
topic and bytes) changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Final

import psycopg
from psycopg.rows import TupleRow
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from devices.presence.batch import Sightings, apply_batch
from devices.presence.model import PresenceRules, eddystone_identifier, ibeacon_identifier
from devices.presence.tracking import Applied, Sighting, UnknownInstallation, ZoneEvent
from ingest.messages import DecodeError, RawMessage, Rejection, RejectReason
from ingest.storable import storable
from ingest.store import UPSERT_DEAD_LETTER, message_digest
from ingest.topics import KeyedTopic

SIGHTINGS_TOPIC: Final = KeyedTopic("ps", "sightings", "installation_id")
ROOT: Final = SIGHTINGS_TOPIC.root
# Everything under the root, so that a message on a malformed topic (ps/x, ps/x/y/z) still
# arrives and is dead-lettered rather than silently never delivered.
SUBSCRIPTION: Final = SIGHTINGS_TOPIC.subscription
MAX_SIGHTINGS: Final = 500

Connection = psycopg.Connection[TupleRow]
ZoneEventHandler = Callable[[Connection, list[ZoneEvent]], None]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


class _IBeacon(_Strict):
    uuid: str
    major: Annotated[int, Field(ge=0, le=0xFFFF)]
    minor: Annotated[int, Field(ge=0, le=0xFFFF)]


class _Eddystone(_Strict):
    namespace: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{20}$")]
    instance: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{12}$")]


class _Sighting(_Strict):
    t: AwareDatetime | Annotated[float, Field(ge=2.0**28)]
    rssi: Annotated[float, Field(ge=-127, le=20)]
    ibeacon: _IBeacon | None = None
    eddystone: _Eddystone | None = None

    @model_validator(mode="after")
    def _one_beacon(self) -> _Sighting:
        if (self.ibeacon is None) == (self.eddystone is None):
            raise ValueError("give exactly one of ibeacon or eddystone")
        return self


class _Payload(_Strict):
    sightings: Annotated[list[_Sighting], Field(min_length=1, max_length=MAX_SIGHTINGS)]


def installation_topic(installation_id: str) -> str:
    """The topic an installation's sightings are published to.

    >>> installation_topic("app-42")
    'ps/app-42/sightings'
    """
    return SIGHTINGS_TOPIC.make(installation_id)


def parse_presence_topic(topic: str) -> str:
    """The installation id of a sightings topic; :class:`DecodeError` if not one.

    >>> parse_presence_topic("ps/a")
    Traceback (most recent call last):
    ...
    ingest.messages.DecodeError: unknown_topic: topic 'ps/a' is not ps/<installation_id>/sightings
    """
    return SIGHTINGS_TOPIC.parse(topic)


def decode_sightings(payload: bytes) -> list[Sighting]:
    """The sightings in a payload; :class:`DecodeError` naming the first broken rule."""
    try:
        parsed = _Payload.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        reason = (
            RejectReason.UNDECODABLE if first["type"] == "json_invalid" else RejectReason.INVALID
        )
        raise DecodeError(reason, f"{where}: {first['msg']}") from None
    out = []
    for entry in parsed.sightings:
        at = (
            entry.t.astimezone(UTC)
            if isinstance(entry.t, datetime)
            else datetime.fromtimestamp(entry.t, UTC)
        )
        if entry.ibeacon is not None:
            beacon = entry.ibeacon
            try:
                key = ibeacon_identifier(beacon.uuid, beacon.major, beacon.minor)
            except ValueError as exc:
                raise DecodeError(RejectReason.INVALID, str(exc)) from None
        else:
            assert entry.eddystone is not None
            key = eddystone_identifier(entry.eddystone.namespace, entry.eddystone.instance)
        out.append(Sighting(at, key, entry.rssi))
    return out


def dead_letter(conn: Connection, rejection: Rejection) -> None:
    message = rejection.message
    received = datetime.fromtimestamp(message.received_at, UTC)
    conn.execute(
        UPSERT_DEAD_LETTER,
        (
            message_digest(message),
            storable(message.topic, 1024),
            message.payload,
            message.oversized is None,
            rejection.reason.value,
            storable(rejection.detail, 2000),
            received,
            received,
        ),
    )


def _decoded(message: RawMessage) -> Sightings:
    installation_id = parse_presence_topic(message.topic)
    if message.oversized is not None:
        raise DecodeError(
            RejectReason.TOO_LARGE, f"payload of {message.oversized.size} bytes is too large"
        )
    sightings = decode_sightings(message.payload)
    received = datetime.fromtimestamp(message.received_at, UTC)
    return Sightings(installation_id, sightings, message_digest(message), received)


def apply_messages(
    conn: Connection, messages: list[RawMessage], rules: PresenceRules
) -> list[Applied | Rejection]:
    """Apply many sightings messages in the caller's transaction (in order), dead-lettering
    those refused; each one's outcome. The zone events are the caller's to hand on."""
    outcomes: list[Applied | Rejection | None] = []
    good: list[tuple[int, RawMessage, Sightings]] = []
    for message in messages:
        try:
            good.append((len(outcomes), message, _decoded(message)))
            outcomes.append(None)
        except DecodeError as exc:
            outcomes.append(Rejection(message, exc.reason, exc.detail))
    applied = apply_batch(conn, [g[2] for g in good], rules)
    for (n, message, _), result in zip(good, applied, strict=True):
        if isinstance(result, UnknownInstallation):
            outcomes[n] = Rejection(message, RejectReason.UNKNOWN_INSTALLATION, str(result))
        else:
            outcomes[n] = result
    done: list[Applied | Rejection] = []
    for outcome in outcomes:
        assert outcome is not None
        if isinstance(outcome, Rejection):
            dead_letter(conn, outcome)
        done.append(outcome)
    return done


def apply_message(
    conn: Connection,
    message: RawMessage,
    rules: PresenceRules,
    on_events: ZoneEventHandler | None = None,
) -> Applied | Rejection:
    """Apply one sightings message in the caller's transaction, or dead-letter it."""
    [outcome] = apply_messages(conn, [message], rules)
    if on_events is not None and isinstance(outcome, Applied) and outcome.events:
        on_events(conn, outcome.events)
    return outcome
