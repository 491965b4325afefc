"""Hostile messages, as a device (or anyone who can publish) might send them.

Each is ``(name, topic, payload, reason)``: the dead letter's reason ingest must give it.
The topics here are ones Mosquitto lets through (it disconnects a client that sends NUL,
control characters or non-characters in a topic); those go through the embedded broker,
which passes them on, in ``test_hostile_topics``.
"""

from __future__ import annotations

import time
from typing import Final

import orjson

FR: Final = "dt/FR-000001"
# Limits the hostile tests run with: large enough for 10^6 keys to be decoded and refused by
# count, so that both the byte limit and the readings limit are exercised.
MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024


def _json(doc: object) -> bytes:
    return orjson.dumps(doc)


def _million_keys() -> bytes:
    return b'{"values":{' + b",".join(b'"k%d":1' % i for i in range(1_000_000)) + b"}}"


def _days_apart(count: int) -> bytes:
    """One reading a day for ``count`` days back: a chunk (and its locks) per day."""
    start = time.time() - count * 86400
    records = [{"n": "cabinet_temp", "v": 4.0, "t": start + day * 86400} for day in range(count)]
    return orjson.dumps([{"bn": "urn:dev:serial:FR-000001:", **records[0]}, *records[1:]])


def _deep(depth: int) -> bytes:
    return b'{"values":{"cabinet_temp":' + b"[" * depth + b"]" * depth + b"}}"


HOSTILE: Final[list[tuple[str, str, bytes, str]]] = [
    # The 48-byte message: a NUL in a metric name, and a device mismatch that
    # quotes it in the reason.
    (
        "nul-metric-mismatch",
        f"{FR}/json",
        rb'{"device":"FR-000002","values":{"a\u0000b":1}}',
        "device_mismatch",
    ),
    ("nul-metric", f"{FR}/json", rb'{"values":{"a\u0000b":1}}', "invalid"),
    (
        "nul-device",
        f"{FR}/json",
        rb'{"device":"FR\u0000","values":{"cabinet_temp":1}}',
        "device_mismatch",
    ),
    ("nul-string-value", f"{FR}/json", rb'{"values":{"cabinet_temp":"4\u0000"}}', "invalid"),
    ("nul-after-json", f"{FR}/senml", b'[{"n":"cabinet_temp","v":1}]\x00', "undecodable"),
    ("nul-senml-name", f"{FR}/senml", rb'[{"n":"cabinet\u0000temp","v":1}]', "invalid"),
    ("nul-senml-bn", f"{FR}/senml", rb'[{"bn":"urn:dev:\u0000:","n":"x","v":1}]', "invalid"),
    ("nul-senml-unit", f"{FR}/senml", rb'[{"n":"cabinet_temp","u":"C\u0000","v":1}]', "invalid"),
    ("nul-senml-vs", f"{FR}/senml", rb'[{"n":"cabinet_temp","vs":"\u0000"}]', "invalid"),
    ("nul-unknown-label", f"{FR}/senml", rb'[{"n":"cabinet_temp","v":1,"x\u0000_":1}]', "invalid"),
    ("control-chars-metric", f"{FR}/json", rb'{"values":{"\u0001\u001b[31m\u007f":1}}', "invalid"),
    ("invalid-utf8", f"{FR}/json", b"\xff\xfe\xfd", "undecodable"),
    ("invalid-utf8-in-key", f"{FR}/json", b'{"values":{"\xc3\x28":1}}', "undecodable"),
    ("lone-surrogate-escape", f"{FR}/json", rb'{"values":{"\ud800":1}}', "undecodable"),
    ("lone-surrogate-cesu", f"{FR}/json", b'{"values":{"\xed\xa0\x80":1}}', "undecodable"),
    ("payload-20mb", f"{FR}/senml", b"[" + b"1," * 10_000_000 + b"1]", "too_large"),
    ("array-10mb", f"{FR}/senml", b"[" + b"{}," * 3_500_000 + b"{}]", "too_large"),
    ("keys-1e6", f"{FR}/json", _million_keys(), "too_large"),
    ("nesting-2000", f"{FR}/senml", b"[" * 2000 + b"]" * 2000, "undecodable"),
    ("nesting-in-value", f"{FR}/json", _deep(1500), "undecodable"),
    (
        "duplicate-key-json",
        f"{FR}/json",
        b'{"values":{"cabinet_temp":4,"cabinet_temp":40}}',
        "duplicate_key",
    ),
    ("duplicate-key-senml", f"{FR}/senml", b'[{"n":"cabinet_temp","v":4,"v":40}]', "duplicate_key"),
    (
        "duplicate-key-escaped",
        f"{FR}/json",
        rb'{"values":{"cabinet_temp":4,"cabinet\u005ftemp":40}}',
        "duplicate_key",
    ),
    ("number-beyond-float", f"{FR}/json", b'{"values":{"cabinet_temp":1e400}}', "undecodable"),
    (
        "integer-30-digits",
        f"{FR}/json",
        b'{"values":{"cabinet_temp":123456789012345678901234567890}}',
        "out_of_range",
    ),
    (
        "float-max",
        f"{FR}/senml",
        b'[{"n":"cabinet_temp","v":1.7976931348623157e308}]',
        "out_of_range",
    ),
    ("nan-token", f"{FR}/json", b'{"values":{"cabinet_temp":NaN}}', "undecodable"),
    ("infinity-token", f"{FR}/senml", b'[{"n":"cabinet_temp","v":-Infinity}]', "undecodable"),
    (
        "time-year-1",
        f"{FR}/json",
        b'{"time":"0001-01-01T00:00:00Z","values":{"cabinet_temp":4}}',
        "invalid",
    ),
    (
        "time-year-9999",
        f"{FR}/json",
        b'{"time":"9999-12-31T23:59:59Z","values":{"cabinet_temp":4}}',
        "invalid",
    ),
    (
        "time-year-10000",
        f"{FR}/json",
        b'{"time":"10000-01-01T00:00:00Z","values":{"cabinet_temp":4}}',
        "invalid",
    ),
    ("time-epoch-1e300", f"{FR}/json", b'{"time":1e300,"values":{"cabinet_temp":4}}', "invalid"),
    (
        "time-senml-overflow",
        f"{FR}/senml",
        b'[{"bt":1.7e308,"t":1.7e308,"n":"cabinet_temp","v":4}]',
        "invalid",
    ),
    (
        "time-senml-minus-1e300",
        f"{FR}/senml",
        b'[{"bt":-1e300,"n":"cabinet_temp","v":4}]',
        "invalid",
    ),
    (
        "time-offset-99",
        f"{FR}/json",
        b'{"time":"2026-11-30T10:00:00+99:00","values":{"cabinet_temp":4}}',
        "invalid",
    ),
    ("values-array", f"{FR}/json", b'{"values":[1,2]}', "invalid"),
    ("values-string", f"{FR}/json", b'{"values":"cabinet_temp"}', "invalid"),
    ("values-null", f"{FR}/json", b'{"values":{"cabinet_temp":null}}', "invalid"),
    ("values-object", f"{FR}/json", b'{"values":{"cabinet_temp":{"v":1}}}', "invalid"),
    ("device-number", f"{FR}/json", b'{"device":5,"values":{"cabinet_temp":1}}', "invalid"),
    ("time-boolean", f"{FR}/json", b'{"time":true,"values":{"cabinet_temp":1}}', "invalid"),
    ("samples-object", f"{FR}/json", b'{"samples":{"a":1}}', "invalid"),
    ("senml-record-string", f"{FR}/senml", b'["cabinet_temp"]', "undecodable"),
    ("senml-v-string", f"{FR}/senml", b'[{"n":"cabinet_temp","v":"4"}]', "invalid"),
    ("senml-n-number", f"{FR}/senml", b'[{"n":5,"v":1}]', "invalid"),
    ("senml-vb-number", f"{FR}/senml", b'[{"n":"door_open","vb":1}]', "invalid"),
    ("boolean-metric-number", f"{FR}/json", b'{"values":{"door_open":1}}', "invalid"),
    ("number-metric-boolean", f"{FR}/json", b'{"values":{"cabinet_temp":true}}', "invalid"),
    ("must-understand", f"{FR}/senml", b'[{"n":"cabinet_temp","v":1,"crit_":1}]', "invalid"),
    ("bver-from-the-future", f"{FR}/senml", b'[{"bver":99,"n":"cabinet_temp","v":1}]', "invalid"),
    ("empty-payload", f"{FR}/senml", b"", "undecodable"),
    ("whitespace-payload", f"{FR}/json", b" \t\r\n", "undecodable"),
    ("json-scalar", f"{FR}/json", b"42", "undecodable"),
    ("metric-name-10k", f"{FR}/json", _json({"values": {"m" * 10_000: 1}}), "invalid"),
    ("unknown-device", "dt/FR-999999/senml", b'[{"n":"cabinet_temp","v":1}]', "unknown_device"),
    ("topic-unknown-format", f"{FR}/xml", b"<a/>", "unknown_topic"),
    ("topic-four-levels", f"{FR}/senml/extra", b"[]", "unknown_topic"),
    ("topic-two-levels", FR, b"[]", "unknown_topic"),
    ("topic-device-5000-chars", "dt/" + "A" * 5000 + "/json", b"{}", "unknown_topic"),
    ("topic-non-ascii-device", "dt/FR-00000\u00e9/json", b"{}", "unknown_topic"),
    ("topic-empty-levels", "dt///", b"{}", "unknown_topic"),
]
