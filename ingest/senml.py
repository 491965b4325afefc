"""The SenML decoder: an RFC 8428 JSON pack (``application/senml+json``) to samples.

A pack is a JSON array of record objects. Base fields (``bn`` ``bt`` ``bu`` ``bv`` ``bs``
``bver``) apply to their own record and every later one until a record sets them again.
Each record is resolved as the RFC describes:

- name = ``bn`` + ``n``: non-empty, only ``A-Z a-z 0-9 - : . / _``, starting with a letter or
  digit. If it contains ``:``, the metric is what follows the last ``:`` and the device is the
  ``:``-separated segment before it (``urn:dev:serial:FR-000001:cabinet_temp`` is metric
  ``cabinet_temp`` of device ``FR-000001``); otherwise the whole name is the metric and the
  pack names no device.
- time = ``bt`` + ``t`` (a missing one counts as 0). Below 2**28 it is relative to the
  receive time (``-5`` = five seconds before the message arrived), otherwise absolute POSIX
  seconds.
- value: ``v`` + ``bv`` as a float, ``vb`` a bool, ``vs`` a str, ``vd`` its base64url text.
  Exactly one of them per record. Sum-only records (``s``/``bs`` and no value) are refused:
  careline stores values, not integrals.
- unit = ``u``, else the current ``bu``, else None.

Unknown labels are ignored, except those ending in ``_`` (must-understand), which are an
error, as is ``bver`` above 10. A pack is one message: one bad record refuses all of it,
with :class:`~ingest.messages.DecodeError` ``UNDECODABLE`` (not JSON, not an array of
objects, empty) or ``INVALID`` (a rule broken; the detail starts ``record <i>:``, counted
from 0 as in the array).

This runs once per record in the ingest hot path, hence the plain loop, the local names and
the fast paths for the common shapes.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from ingest import strict_json
from ingest.messages import MAX_READINGS, DecodeError, RejectReason, Sample

SUPPORTED_VERSION: Final = 10
RELATIVE_LIMIT: Final = 2.0**28  # times below this are relative to "now" (RFC 8428 §4.5.3)

_BASE_LABELS: Final = frozenset(("bn", "bt", "bu", "bv", "bs", "bver"))
_VALUE_LABELS: Final = ("v", "vs", "vb", "vd")
# A record with only these labels (most of them) takes the short path through the loop.
_PLAIN_LABELS: Final = frozenset(("n", "u", "t", "v"))
# Sum and update time: not stored, but type-checked like the rest.
_UNUSED_LABELS: Final = ("s", "ut")
# Every RFC 8428 label; the others are extensions, ignored unless they end in "_".
_KNOWN_LABELS: Final = _BASE_LABELS | _PLAIN_LABELS | frozenset(("vs", "vb", "vd", *_UNUSED_LABELS))
_NAME_CHARS: Final = re.compile(r"[A-Za-z0-9\-:./_]*")
_BASE64URL: Final = re.compile(r"[A-Za-z0-9_-]*")
# Tells "label absent" from "label present with null", which is an error.
_ABSENT: Final = object()

_INVALID: Final = RejectReason.INVALID
_UNDECODABLE: Final = RejectReason.UNDECODABLE


# One flat loop on purpose: it runs per record, and a helper call per step would cost more
# than the step itself. The rare cases (base fields, extensions, vb/vs/vd) are helpers.
def decode_senml(  # noqa: PLR0912, PLR0915
    payload: bytes, received_at: float, max_readings: int = MAX_READINGS
) -> list[Sample]:
    """The samples of a SenML JSON pack, times resolved against ``received_at``.

    Raises :class:`DecodeError` for the whole pack: ``UNDECODABLE``, ``DUPLICATE_KEY``
    (see :mod:`ingest.strict_json`), ``TOO_LARGE`` (more than ``max_readings`` records)
    or ``INVALID``.
    """
    pack = strict_json.loads(payload)
    if type(pack) is not list:
        raise DecodeError(_UNDECODABLE, f"a SenML pack is a JSON array, got {json_type_name(pack)}")
    if not pack:
        raise DecodeError(_UNDECODABLE, "empty pack")
    if len(pack) > max_readings:
        raise DecodeError.too_many_readings(len(pack), max_readings)

    isfinite = math.isfinite
    is_plain = _PLAIN_LABELS.issuperset  # faster than record.keys() <= _PLAIN_LABELS
    base = _Base()
    samples: list[Sample] = []
    append = samples.append
    index = 0
    try:
        for index, record in enumerate(pack):
            if type(record) is not dict:
                got = json_type_name(record)
                raise DecodeError(
                    _UNDECODABLE, f"record {index}: a SenML record is a JSON object, got {got}"
                )
            plain = is_plain(record)
            if not plain:
                base.update(record)

            n = record.get("n", "")
            if type(n) is not str:
                raise _RecordError(f"'n' must be a string, got {json_type_name(n)}")
            device: str | None
            if ":" in n:
                device, metric = _split_name(base.name + n)
            else:
                # Most names are short identifiers; the regex is only for the others.
                if not (n.isascii() and n.isidentifier()) and _NAME_CHARS.fullmatch(n) is None:
                    raise _RecordError(f"name {base.name + n!r} may only use A-Z a-z 0-9 - : . / _")
                device = base.device
                metric = base.tail + n
                if not metric:
                    raise _RecordError(
                        "the name is empty (no 'bn' nor 'n')"
                        if device is None
                        else f"name {base.name!r} has no metric after its last ':'"
                    )
                if not base.name and not n[0].isalnum():
                    raise _RecordError(f"name {n!r} must start with a letter or digit")

            t = record.get("t", _ABSENT)
            if t is _ABSENT:
                when = base.time
            else:
                kind = type(t)
                if kind is not float and kind is not int:
                    raise _RecordError(f"'t' must be a number, got {json_type_name(t)}")
                when = base.time + t
            if when < RELATIVE_LIMIT:
                when += received_at
            if not isfinite(when):
                raise _RecordError(f"time {when} is not a finite number")

            value: float | bool | str
            v = record.get("v")
            if plain and v is not None:
                kind = type(v)
                if kind is not float and kind is not int:
                    raise _RecordError(f"'v' must be a number, got {json_type_name(v)}")
                number = base.value + v
                if not isfinite(number):
                    raise _RecordError(f"value {number} is not a finite number")
                value = number
            else:
                value = _value(record, base)

            unit = record.get("u", _ABSENT)
            if unit is _ABSENT:
                unit = base.unit
            elif type(unit) is not str:
                raise _RecordError(f"'u' must be a string, got {json_type_name(unit)}")
            append(Sample(device, metric, when, value, unit))
    except _RecordError as exc:
        raise DecodeError(_INVALID, f"record {index}: {exc}") from None
    return samples


class _RecordError(Exception):
    """A rule broken inside a record; becomes ``DecodeError`` with the record index."""


class _Base:
    """The base fields in force: a record sets them for itself and every later record."""

    __slots__ = ("device", "has_sum", "name", "tail", "time", "unit", "value")

    def __init__(self) -> None:
        self.name = ""
        # bn split once when set, so that each record checks only its own short "n":
        # the device bn names (None without ':') and bn's tail after its last ':'.
        self.device: str | None = None
        self.tail = ""
        self.time = 0.0
        self.unit: str | None = None
        self.value = 0.0
        self.has_sum = False

    def update(self, record: dict[str, Any]) -> None:
        """Check a record with labels beyond n/u/t/v; apply its base fields."""
        if not record.keys() <= _KNOWN_LABELS:
            _check_extensions(record)
        for label in _UNUSED_LABELS:
            if label in record:
                _number(record[label], label)
        if record.keys().isdisjoint(_BASE_LABELS):
            return
        if "bver" in record:
            bver = _number(record["bver"], "bver")
            if bver > SUPPORTED_VERSION:
                raise _RecordError(
                    f"'bver' {record['bver']} is newer than the supported SenML version "
                    f"{SUPPORTED_VERSION}; the pack must not be used"
                )
        if "bn" in record:
            self.name = _string(record["bn"], "bn")
            self.device, self.tail = _split_base_name(self.name)
        if "bt" in record:
            self.time = _number(record["bt"], "bt")
        if "bu" in record:
            self.unit = _string(record["bu"], "bu")
        if "bv" in record:
            self.value = _number(record["bv"], "bv")
        if "bs" in record:
            _number(record["bs"], "bs")
            self.has_sum = True


def json_type_name(value: object) -> str:
    """The JSON type of a decoded value, for error details: null, boolean, number, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _number(value: Any, label: str) -> float:
    kind = type(value)
    if kind is not float and kind is not int:
        raise _RecordError(f"{label!r} must be a number, got {json_type_name(value)}")
    return float(value)


def _string(value: Any, label: str) -> str:
    if type(value) is not str:
        raise _RecordError(f"{label!r} must be a string, got {json_type_name(value)}")
    return value


def _check_extensions(record: dict[str, Any]) -> None:
    """Refuse must-understand labels we do not know; ignore the other unknown ones."""
    must_understand = sorted(k for k in record if k not in _KNOWN_LABELS and k.endswith("_"))
    if must_understand:
        raise _RecordError(
            f"must-understand label {must_understand[0]!r} is not supported "
            "(labels ending in '_' must not be ignored, RFC 8428 §4.4)"
        )


def _split_base_name(bn: str) -> tuple[str | None, str]:
    """Check a base name; return the device it names (None without ':') and its tail.

    The tail is what follows the last ':' (all of ``bn`` without one): the start of the
    metric, usually empty, as in ``urn:dev:serial:FR-000001:``.
    """
    if _NAME_CHARS.fullmatch(bn) is None:
        raise _RecordError(f"'bn' {bn!r} may only use A-Z a-z 0-9 - : . / _")
    if bn and not bn[0].isalnum():
        raise _RecordError(f"name {bn!r} must start with a letter or digit")
    head, colon, tail = bn.rpartition(":")
    if not colon:
        return None, bn
    device = head.rpartition(":")[2]
    if not device:
        raise _RecordError(f"name {bn!r} has an empty device segment")
    return device, tail


def _split_name(name: str) -> tuple[str, str]:
    """Check a full name that contains ':'; return its device and metric."""
    if _NAME_CHARS.fullmatch(name) is None:
        raise _RecordError(f"name {name!r} may only use A-Z a-z 0-9 - : . / _")
    if not name[0].isalnum():
        raise _RecordError(f"name {name!r} must start with a letter or digit")
    head, _, metric = name.rpartition(":")
    if not metric:
        raise _RecordError(f"name {name!r} has no metric after its last ':'")
    device = head.rpartition(":")[2]
    if not device:
        raise _RecordError(f"name {name!r} has an empty device segment")
    return device, metric


def _value(record: dict[str, Any], base: _Base) -> float | bool | str:
    """The value of a record off the short path: exactly one of v, vb, vs, vd."""
    present = [label for label in _VALUE_LABELS if label in record]
    if len(present) > 1:
        raise _RecordError(f"a record has exactly one value field, got {', '.join(present)}")
    if not present:
        if "s" in record or base.has_sum:
            raise _RecordError(
                "sum-only records (a sum 's'/'bs' without a value) are not supported"
            )
        raise _RecordError("no value field (v, vs, vb or vd)")
    label = present[0]
    value = record[label]
    if label == "v":
        number = base.value + _number(value, "v")
        if not math.isfinite(number):
            raise _RecordError(f"value {number} is not a finite number")
        return number
    if label == "vb":
        if type(value) is not bool:
            raise _RecordError(f"'vb' must be a boolean, got {json_type_name(value)}")
        return bool(value)
    text = _string(value, label)
    if label == "vd" and (_BASE64URL.fullmatch(text) is None or len(text) % 4 == 1):
        raise _RecordError("'vd' must be base64url without padding (RFC 4648 §5)")
    return text
