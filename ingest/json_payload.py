"""The decoder for careline's plain JSON telemetry shape (topic ``{root}/{device_id}/json``).

For devices and gateways that would rather not speak SenML. One set of samples, taken at
one time::

    {"device": "FR-000001",
     "time": 1763971200.5,
     "values": {"cabinet_temp": 4.2, "door_open": false, "error_code": "E21"}}

or a batch of such sets, for a device that buffered while offline::

    {"device": "FR-000001",
     "samples": [
       {"time": "2025-11-24T08:00:00Z", "values": {"cabinet_temp": 4.2}},
       {"time": "2025-11-24T09:01:00.250+01:00", "values": {"cabinet_temp": 4.3}}
     ]}

Rules:

- ``device`` is optional; when given it is a string and must be the topic's device.
- ``time`` is optional and defaults to the time the message was received. It is absolute
  and UTC: either a number of UTC epoch seconds (at least 2**28, so relative times, which
  only SenML has, cannot be sent by mistake) or an RFC 3339 date-time string with ``Z`` or
  an explicit offset. A time without an offset is refused, not guessed.
- ``values`` maps metric keys to numbers, booleans or strings; it may not be empty, and
  ``null``, arrays and objects are refused. Which metric takes which type is checked later,
  against the catalog.
- No other keys, at any level: this is careline's own shape, so a typo is an error rather
  than a silently missing reading. No key twice in one object either (``duplicate_key``).
- At most ``max_readings`` values in all (10,000 unless configured), else ``too_large``.

Errors follow the SenML decoder's: :class:`~ingest.messages.DecodeError` ``UNDECODABLE``
when the bytes are not a JSON object, ``INVALID`` when a rule is broken, with the place in
the detail (``samples[3].values['door_open']: ...``, counted from 0). A bad entry refuses the
whole message.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any, Final

from ingest import strict_json
from ingest.messages import MAX_READINGS, DecodeError, RejectReason, Sample
from ingest.senml import json_type_name as _json_type

ABSOLUTE_MIN: Final = 2.0**28  # below this, a SenML time would be relative; here it is refused

_SINGLE_KEYS: Final = frozenset(("device", "time", "values"))
_BATCH_KEYS: Final = frozenset(("device", "samples"))
_ENTRY_KEYS: Final = frozenset(("time", "values"))
# RFC 3339 §5.6 date-time; the offset group is optional only so that a naive time gets its
# own message. re.ASCII: \d must not match other scripts' digits.
_DATE_TIME: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?([Zz]|[+-]\d{2}:\d{2})?", re.ASCII
)
# Tells "key absent" from "key present with null", which is an error.
_ABSENT: Final = object()

_INVALID: Final = RejectReason.INVALID


class _ShapeError(Exception):
    """A rule broken; becomes ``DecodeError`` INVALID (kept apart so it cannot leak out)."""


def decode_json(
    payload: bytes, received_at: float, max_readings: int = MAX_READINGS
) -> list[Sample]:
    """The samples of a plain JSON payload; ``time`` defaults to ``received_at``.

    Raises :class:`DecodeError` for the whole message: ``UNDECODABLE``, ``DUPLICATE_KEY``,
    ``TOO_LARGE`` (more than ``max_readings`` values in all) or ``INVALID``.
    """
    doc = strict_json.loads(payload)
    if type(doc) is not dict:
        raise DecodeError(
            RejectReason.UNDECODABLE, f"the payload is a JSON object, got {_json_type(doc)}"
        )
    samples: list[Sample] = []
    try:
        device = doc.get("device", _ABSENT)
        if device is _ABSENT:
            device = None
        elif type(device) is not str:
            raise _ShapeError(f"'device' must be a string, got {_json_type(device)}")
        if "samples" in doc:
            _check_keys(doc, _BATCH_KEYS, "", "a batch has only 'device' and 'samples'")
            _decode_batch(doc["samples"], device, received_at, samples, max_readings)
        else:
            _check_keys(
                doc, _SINGLE_KEYS, "", "a sample set has only 'device', 'time' and 'values'"
            )
            _decode_set(doc, "", device, received_at, samples, max_readings)
    except _ShapeError as exc:
        raise DecodeError(_INVALID, str(exc)) from None
    return samples


def _decode_batch(
    entries: Any, device: str | None, received_at: float, samples: list[Sample], limit: int
) -> None:
    if type(entries) is not list:
        raise _ShapeError(f"'samples' must be an array, got {_json_type(entries)}")
    if not entries:
        raise _ShapeError("'samples' is empty")
    if len(entries) > limit:
        raise DecodeError.too_many_readings(len(entries), limit)
    for index, entry in enumerate(entries):
        where = f"samples[{index}]"
        if type(entry) is not dict:
            raise _ShapeError(f"{where}: must be an object, got {_json_type(entry)}")
        _check_keys(entry, _ENTRY_KEYS, where, "an entry has only 'time' and 'values'")
        _decode_set(entry, where + ": ", device, received_at, samples, limit)


def _decode_set(
    doc: dict[str, Any],
    where: str,
    device: str | None,
    received_at: float,
    samples: list[Sample],
    limit: int,
) -> None:
    """Append the samples of one ``{"time": ..., "values": {...}}``; errors start ``where``."""
    raw_time = doc.get("time", _ABSENT)
    when = received_at if raw_time is _ABSENT else _time(raw_time, where)
    values = doc.get("values", _ABSENT)
    if values is _ABSENT:
        raise _ShapeError(f"{where}'values' is missing")
    if type(values) is not dict:
        raise _ShapeError(f"{where}'values' must be an object, got {_json_type(values)}")
    if not values:
        raise _ShapeError(f"{where}'values' is empty")
    if len(samples) + len(values) > limit:
        raise DecodeError.too_many_readings(len(samples) + len(values), limit)
    isfinite = math.isfinite
    append = samples.append
    for metric, value in values.items():
        kind = type(value)
        if kind is float:
            if not isfinite(value):
                raise _ShapeError(f"{where}values[{metric!r}]: {value} is not a finite number")
        elif kind is int:
            value = float(value)  # noqa: PLW2901  (a number is stored as a float)
        elif kind is not bool and kind is not str:
            raise _ShapeError(
                f"{where}values[{metric!r}] must be a number, boolean or string, "
                f"got {_json_type(value)}"
            )
        append(Sample(device, metric, when, value))


def _time(raw: Any, where: str) -> float:
    """Absolute UTC epoch seconds from a number or an RFC 3339 string with an offset."""
    kind = type(raw)
    if kind is float or kind is int:
        if not math.isfinite(raw):
            raise _ShapeError(f"{where}'time' {raw} is not a finite number")
        if raw < ABSOLUTE_MIN:
            raise _ShapeError(
                f"{where}'time' {raw} is not absolute: give UTC epoch seconds (>= 2**28) "
                "or an RFC 3339 string; relative times are SenML-only"
            )
        return float(raw)
    if kind is not str:
        raise _ShapeError(
            f"{where}'time' must be a number or an RFC 3339 string, got {_json_type(raw)}"
        )
    match = _DATE_TIME.fullmatch(raw)
    if match is None:
        raise _ShapeError(
            f"{where}'time' {raw!r} is not an RFC 3339 date-time (2025-11-24T08:00:00Z)"
        )
    if match.group(1) is None:
        raise _ShapeError(
            f"{where}'time' {raw!r} has no UTC offset; times are UTC and explicit: "
            "end it with Z or +hh:mm"
        )
    try:
        # upper(): RFC 3339 allows "t" and "z", fromisoformat does not.
        return datetime.fromisoformat(raw.upper()).timestamp()
    except ValueError as exc:
        raise _ShapeError(f"{where}'time' {raw!r} is not a valid date-time: {exc}") from None


def _check_keys(doc: dict[str, Any], allowed: frozenset[str], where: str, hint: str) -> None:
    if not allowed.issuperset(doc):
        unknown = ", ".join(repr(k) for k in sorted(doc.keys() - allowed))
        prefix = f"{where}: " if where else ""
        raise _ShapeError(f"{prefix}unknown key {unknown}; {hint}")
