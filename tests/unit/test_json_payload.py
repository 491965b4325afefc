"""careline's plain JSON shape: sample sets, batches, times and refusals."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ingest.decoding import decode_message
from ingest.json_payload import decode_json
from ingest.messages import MAX_READINGS, DecodeError, RawMessage, RejectReason, Sample

NOW = 1_763_971_300.0  # receive time used throughout
T0 = 1_763_971_200.0  # 2025-11-24T08:00:00Z


def decode(doc: Any) -> list[Sample]:
    return decode_json(orjson.dumps(doc), NOW)


def refusal(doc: Any) -> DecodeError:
    payload = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    with pytest.raises(DecodeError) as caught:
        decode_json(payload, NOW)
    return caught.value


def test_a_sample_set() -> None:
    samples = decode(
        {
            "device": "FR-000001",
            "time": 1763971200.5,
            "values": {"cabinet_temp": 4.2, "door_open": False, "error_code": "E21"},
        }
    )
    assert samples == [
        Sample("FR-000001", "cabinet_temp", 1763971200.5, 4.2),
        Sample("FR-000001", "door_open", 1763971200.5, False),
        Sample("FR-000001", "error_code", 1763971200.5, "E21"),
    ]


def test_device_and_time_are_optional() -> None:
    assert decode({"values": {"cabinet_temp": 4}}) == [Sample(None, "cabinet_temp", NOW, 4.0)]


def test_integers_become_floats_and_booleans_stay_booleans() -> None:
    values = [s.value for s in decode({"values": {"a": 4, "b": True, "c": 0, "d": False}})]
    assert values == [4.0, True, 0.0, False]
    assert [type(v) for v in values] == [float, bool, float, bool]


def test_a_batch() -> None:
    samples = decode(
        {
            "device": "FR-000001",
            "samples": [
                {"time": T0, "values": {"cabinet_temp": 4.2, "door_open": True}},
                {"time": "2025-11-24T09:01:00.250+01:00", "values": {"cabinet_temp": 4.3}},
                {"values": {"cabinet_temp": 4.4}},
            ],
        }
    )
    assert samples == [
        Sample("FR-000001", "cabinet_temp", T0, 4.2),
        Sample("FR-000001", "door_open", T0, True),
        Sample("FR-000001", "cabinet_temp", T0 + 60.25, 4.3),
        Sample("FR-000001", "cabinet_temp", NOW, 4.4),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-24T08:00:00Z", T0),
        ("2025-11-24T08:00:00+00:00", T0),
        ("2025-11-24T08:00:00-00:00", T0),
        ("2025-11-24T09:30:00+01:30", T0),
        ("2025-11-24T03:00:00-05:00", T0),
        ("2025-11-24t08:00:00z", T0),
        ("2025-11-24 08:00:00Z", T0),
        ("2025-11-24T08:00:00.5Z", T0 + 0.5),
        ("2025-11-24T08:00:00.123456789Z", T0 + 0.123456),
    ],
)
def test_rfc_3339_times_with_an_offset(text: str, expected: float) -> None:
    assert decode({"time": text, "values": {"x": 1}})[0].time == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("time", "detail"),
    [
        ("2025-11-24T08:00:00", "has no UTC offset"),
        ("2025-11-24 08:00:00.5", "has no UTC offset"),
        ("2025-11-24", "is not an RFC 3339 date-time"),
        ("2025-11-24T08:00Z", "is not an RFC 3339 date-time"),
        ("20251124T080000Z", "is not an RFC 3339 date-time"),
        ("yesterday", "is not an RFC 3339 date-time"),
        ("2025-11-24T08:00:00+0100", "is not an RFC 3339 date-time"),
        ("２０２５-11-24T08:00:00Z", "is not an RFC 3339 date-time"),
        ("2025-13-01T00:00:00Z", "is not a valid date-time"),
        ("2025-11-24T23:59:60Z", "is not a valid date-time"),
        (5, "is not absolute"),
        (-5, "is not absolute"),
        (2**28 - 1, "is not absolute"),
        (True, "must be a number or an RFC 3339 string, got boolean"),
        (None, "must be a number or an RFC 3339 string, got null"),
        ([T0], "must be a number or an RFC 3339 string, got array"),
    ],
)
def test_bad_times_are_invalid(time: Any, detail: str) -> None:
    error = refusal({"time": time, "values": {"x": 1}})
    assert error.reason is RejectReason.INVALID
    assert detail in error.detail


def test_the_smallest_absolute_time_is_2_pow_28() -> None:
    assert decode({"time": 2**28, "values": {"x": 1}})[0].time == 268_435_456.0


@pytest.mark.parametrize(
    ("doc", "detail"),
    [
        ({"values": {"x": None}}, "values['x'] must be a number, boolean or string, got null"),
        ({"values": {"x": [1]}}, "values['x'] must be a number, boolean or string, got array"),
        ({"values": {"x": {"v": 1}}}, "values['x'] must be a number, boolean or string, got obj"),
        ({"values": {}}, "'values' is empty"),
        ({"values": [1]}, "'values' must be an object, got array"),
        ({"values": None}, "'values' must be an object, got null"),
        ({"device": "FR-000001"}, "'values' is missing"),
        ({}, "'values' is missing"),
        ({"device": 1, "values": {"x": 1}}, "'device' must be a string, got number"),
        ({"device": None, "values": {"x": 1}}, "'device' must be a string, got null"),
        ({"tme": T0, "values": {"x": 1}}, "unknown key 'tme'"),
        ({"values": {"x": 1}, "unit": "Cel"}, "unknown key 'unit'"),
        ({"values": {"x": 1}, "samples": []}, "unknown key 'values'; a batch has only"),
        ({"time": T0, "samples": [{"values": {"x": 1}}]}, "unknown key 'time'"),
        ({"samples": {"values": {"x": 1}}}, "'samples' must be an array, got object"),
        ({"samples": []}, "'samples' is empty"),
        ({"samples": [{"values": {"x": 1}}, 5]}, "samples[1]: must be an object, got number"),
        (
            {"samples": [{"values": {"x": 1}}, {"values": {"x": 1}, "device": "FR-1"}]},
            "samples[1]: unknown key 'device'",
        ),
        ({"samples": [{"values": {"x": 1}}, {"time": T0}]}, "samples[1]: 'values' is missing"),
        (
            {"samples": [{"values": {"x": 1}}, {"values": {"x": 1, "y": None}}]},
            "samples[1]: values['y'] must be a number, boolean or string, got null",
        ),
        ({"samples": [{"time": "2025-11-24T08:00:00", "values": {"x": 1}}]}, "samples[0]: 'time'"),
    ],
)
def test_rule_violations_are_invalid(doc: dict[str, Any], detail: str) -> None:
    error = refusal(doc)
    assert error.reason is RejectReason.INVALID
    assert detail in error.detail


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        (b"", "not JSON"),
        (b'[{"n":"x","v":1}]', "is a JSON object, got array"),
        (b"4.2", "is a JSON object, got number"),
        (b"null", "is a JSON object, got null"),
    ],
)
def test_undecodable_payloads(payload: bytes, detail: str) -> None:
    error = refusal(payload)
    assert error.reason is RejectReason.UNDECODABLE
    assert detail in error.detail


def test_a_message_holds_at_most_10000_readings() -> None:
    entry = {"time": T0, "values": {"x": 1}}
    assert len(decode({"samples": [entry] * MAX_READINGS})) == MAX_READINGS == 10_000
    error = refusal({"samples": [entry] * (MAX_READINGS + 1)})
    assert error.reason is RejectReason.TOO_LARGE
    assert "10001 readings in one message; at most 10000" in error.detail
    # counted across entries, and within one set of values
    two = {"time": T0, "values": {"x": 1, "y": 2}}
    assert refusal({"samples": [two] * 5001}).reason is RejectReason.TOO_LARGE
    many = {f"m{i}": 1 for i in range(MAX_READINGS + 1)}
    assert refusal({"values": many}).reason is RejectReason.TOO_LARGE


def test_duplicate_keys_and_non_numbers_are_refused() -> None:
    error = refusal(b'{"values": {"cabinet_temp": 4.2, "cabinet_temp": 40.0}}')
    assert error.reason is RejectReason.DUPLICATE_KEY
    assert "'cabinet_temp' appears twice" in error.detail
    # a \u escape takes the exact, slower path; it must find the same duplicate
    error = refusal(b'{"values": {"a\\u003ab": 1, "a:b": 2}}')
    assert error.reason is RejectReason.DUPLICATE_KEY
    for token in (b"NaN", b"Infinity", b"-Infinity"):
        error = refusal(b'{"values": {"cabinet_temp": ' + token + b"}}")
        assert error.reason is RejectReason.UNDECODABLE
        assert "is not a JSON number" in error.detail


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"device": "FR-000001", "values": {"cabinet_temp": 4.2}}, None),
        ({"values": {"cabinet_temp": 4.2}}, None),
        ({"device": "FR-000002", "values": {"cabinet_temp": 4.2}}, RejectReason.DEVICE_MISMATCH),
        (
            {"device": "FR-000002", "samples": [{"values": {"cabinet_temp": 4.2}}]},
            RejectReason.DEVICE_MISMATCH,
        ),
        ({"device": "", "values": {"cabinet_temp": 4.2}}, RejectReason.DEVICE_MISMATCH),
    ],
)
def test_the_payload_may_only_name_the_topic_device(
    doc: dict[str, Any], reason: RejectReason | None
) -> None:
    message = RawMessage("dt/FR-000001/json", orjson.dumps(doc), NOW)
    if reason is None:
        topic, samples = decode_message(message)
        assert (topic.device_id, topic.format) == ("FR-000001", "json")
        assert [(s.metric, s.value) for s in samples] == [("cabinet_temp", 4.2)]
    else:
        with pytest.raises(DecodeError) as caught:
            decode_message(message)
        assert caught.value.reason is reason
        assert "'FR-000001'" in caught.value.detail
