"""The SenML decoder against RFC 8428: examples, resolution rules and refusals."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ingest.decoding import decode_message
from ingest.messages import DecodeError, RawMessage, RejectReason, Sample
from ingest.senml import decode_senml

NOW = 1_700_000_000.0  # receive time used throughout


def decode(pack: Any, received_at: float = NOW) -> list[Sample]:
    return decode_senml(orjson.dumps(pack), received_at)


def refusal(pack: Any) -> DecodeError:
    payload = pack if isinstance(pack, bytes) else orjson.dumps(pack)
    with pytest.raises(DecodeError) as caught:
        decode_senml(payload, NOW)
    return caught.value


# RFC 8428 §5.1.1, verbatim.
def test_rfc_single_datapoint() -> None:
    samples = decode_senml(b'[{"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}]', NOW)
    # No time: "now", the receive time. The name has no metric part of its own, so our
    # split makes the last segment the metric and "ow" the device; careline devices name
    # their metrics (urn:dev:...:<serial>:<metric>), as the next examples do.
    assert samples == [Sample("ow", "10e2073a01080063", NOW, 23.1, "Cel")]


# RFC 8428 §5.1.2, the first example, verbatim.
def test_rfc_multiple_datapoints() -> None:
    payload = (
        b'[{"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","u":"V","v":120.1},'
        b'{"n":"current","u":"A","v":1.2}]'
    )
    assert decode_senml(payload, NOW) == [
        Sample("10e2073a01080063", "voltage", NOW, 120.1, "V"),
        Sample("10e2073a01080063", "current", NOW, 1.2, "A"),
    ]


# RFC 8428 §5.1.2, the second example (bn, bt, bu, bver and relative t), verbatim.
def test_rfc_multiple_datapoints_with_base_time_and_unit() -> None:
    payload = b"""[
     {"bn":"urn:dev:ow:10e2073a0108006:","bt":1.276020076001e+09,
      "bu":"A","bver":5,
      "n":"voltage","u":"V","v":120.1},
     {"n":"current","t":-5,"v":1.2},
     {"n":"current","t":-4,"v":1.3},
     {"n":"current","t":-3,"v":1.4},
     {"n":"current","t":-2,"v":1.5},
     {"n":"current","t":-1,"v":1.6},
     {"n":"current","v":1.7}
    ]"""
    samples = decode_senml(payload, NOW)
    assert {s.device for s in samples} == {"10e2073a0108006"}
    assert [(s.metric, s.unit, s.value) for s in samples] == [
        ("voltage", "V", 120.1),
        ("current", "A", 1.2),
        ("current", "A", 1.3),
        ("current", "A", 1.4),
        ("current", "A", 1.5),
        ("current", "A", 1.6),
        ("current", "A", 1.7),
    ]
    # bt is absolute, so the negative t are seconds before it, not before the receive time.
    assert [s.time for s in samples] == pytest.approx(
        [1276020076.001, *(1276020071.001 + i for i in range(6))],
        abs=1e-6,
    )


# RFC 8428 §5.1.3 (multiple measurements), verbatim, against the resolved form of §5.1.4.
def test_rfc_multiple_measurements_resolve_as_the_rfc_says() -> None:
    payload = b"""[
     {"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,
      "bu":"%RH","v":20},
     {"u":"lon","v":24.30621},
     {"u":"lat","v":60.07965},
     {"t":60,"v":20.3},
     {"u":"lon","t":60,"v":24.30622},
     {"u":"lat","t":60,"v":60.07965},
     {"t":120,"v":20.7},
     {"u":"lon","t":120,"v":24.30623},
     {"u":"lat","t":120,"v":60.07966},
     {"u":"%EL","t":150,"v":98},
     {"t":180,"v":21.2},
     {"u":"lon","t":180,"v":24.30628},
     {"u":"lat","t":180,"v":60.07967}
    ]"""
    resolved = [
        ("%RH", 1.320067464e09, 20.0),
        ("lon", 1.320067464e09, 24.30621),
        ("lat", 1.320067464e09, 60.07965),
        ("%RH", 1.320067524e09, 20.3),
        ("lon", 1.320067524e09, 24.30622),
        ("lat", 1.320067524e09, 60.07965),
        ("%RH", 1.320067584e09, 20.7),
        ("lon", 1.320067584e09, 24.30623),
        ("lat", 1.320067584e09, 60.07966),
        ("%EL", 1.320067614e09, 98.0),
        ("%RH", 1.320067644e09, 21.2),
        ("lon", 1.320067644e09, 24.30628),
        ("lat", 1.320067644e09, 60.07967),
    ]
    samples = decode_senml(payload, NOW)
    assert [(s.unit, s.time, s.value) for s in samples] == resolved
    assert {s.metric for s in samples} == {"10e2073a01080063"}


# The example pack of conventions §1.1.
def test_a_fridge_pack_with_every_value_type() -> None:
    payload = b"""[
     {"bn":"urn:dev:mac:0024befffe804ff1:","bt":1.7e9,"n":"cabinet_temp","u":"Cel","v":4.2},
     {"n":"door_open","vb":false},
     {"n":"compressor_power","u":"W","v":92.5,"t":-5},
     {"n":"error_code","vs":"E21"}
    ]"""
    assert decode_senml(payload, NOW) == [
        Sample("0024befffe804ff1", "cabinet_temp", 1.7e9, 4.2, "Cel"),
        Sample("0024befffe804ff1", "door_open", 1.7e9, False, None),
        Sample("0024befffe804ff1", "compressor_power", 1.7e9 - 5, 92.5, "W"),
        Sample("0024befffe804ff1", "error_code", 1.7e9, "E21", None),
    ]


def test_base_fields_carry_forward_until_a_record_sets_them_again() -> None:
    samples = decode(
        [
            {"bn": "urn:dev:serial:FR-1:", "bt": 1.7e9, "bu": "Cel", "bv": 10, "n": "a", "v": 1},
            {"n": "b", "v": 2, "t": 1},
            {"bn": "urn:dev:serial:FR-2:", "bt": 1.8e9, "bu": "W", "bv": 0, "n": "c", "v": 3},
            {"n": "d", "v": 4, "u": "V"},
            {"bt": 1.9e9, "n": "e", "v": 5},
        ]
    )
    assert samples == [
        Sample("FR-1", "a", 1.7e9, 11.0, "Cel"),
        Sample("FR-1", "b", 1.7e9 + 1, 12.0, "Cel"),
        Sample("FR-2", "c", 1.8e9, 3.0, "W"),
        Sample("FR-2", "d", 1.8e9, 4.0, "V"),
        Sample("FR-2", "e", 1.9e9, 5.0, "W"),
    ]


def test_base_value_is_added_to_v_only() -> None:
    samples = decode(
        [
            {"bv": 100, "n": "x", "v": -0.5},
            {"n": "flag", "vb": True},
            {"n": "code", "vs": "E1"},
        ]
    )
    assert [s.value for s in samples] == [99.5, True, "E1"]
    assert isinstance(samples[0].value, float)


@pytest.mark.parametrize(
    ("bt", "t", "expected"),
    [
        (0, -5, 1_699_999_995.0),  # the conventions' test vector
        (None, None, NOW),  # no time at all: now
        (None, -60, NOW - 60),
        (-30, None, NOW - 30),
        (-30, -5, NOW - 35),
        (None, 20, NOW + 20),  # below 2**28: relative, in the future
        (None, 2**28 - 1, NOW + 2**28 - 1),
        (None, 2**28, 268_435_456.0),  # from 2**28 on: absolute
        (None, 1_763_971_200.5, 1_763_971_200.5),
        (1_763_971_200, -0.5, 1_763_971_199.5),
        (1_763_971_200, 30, 1_763_971_230.0),
    ],
)
def test_time_is_base_time_plus_time_relative_below_2_pow_28(
    bt: float | None, t: float | None, expected: float
) -> None:
    record: dict[str, Any] = {"n": "x", "v": 1}
    if bt is not None:
        record["bt"] = bt
    if t is not None:
        record["t"] = t
    assert decode([record])[0].time == expected


@pytest.mark.parametrize(("bver", "accepted"), [(5, True), (10, True), (11, False)])
def test_base_version_above_10_refuses_the_pack(bver: int, accepted: bool) -> None:
    pack = [{"bver": bver, "n": "x", "v": 1}]
    if accepted:
        assert decode(pack)[0].value == 1.0
    else:
        error = refusal(pack)
        assert error.reason is RejectReason.INVALID
        assert error.detail.startswith("record 0: 'bver' 11 is newer")


def test_unknown_labels_are_ignored() -> None:
    samples = decode([{"n": "x", "v": 1, "foo": "bar", "ut": 60, "s": 3.5, "l": []}])
    assert samples == [Sample(None, "x", NOW, 1.0, None)]


def test_unknown_must_understand_labels_refuse_the_pack() -> None:
    error = refusal([{"n": "x", "v": 1}, {"n": "y", "v": 2, "foo_": 1}])
    assert error.reason is RejectReason.INVALID
    assert error.detail.startswith("record 1: must-understand label 'foo_'")


@pytest.mark.parametrize(
    ("name", "device", "metric"),
    [
        ("urn:dev:serial:FR-000001:cabinet_temp", "FR-000001", "cabinet_temp"),
        ("urn:dev:mac:0024befffe804ff1:temp", "0024befffe804ff1", "temp"),
        ("FR-000001:temp", "FR-000001", "temp"),
        ("cabinet_temp", None, "cabinet_temp"),
        ("a-b.c/d_e", None, "a-b.c/d_e"),
        ("9volt", None, "9volt"),
    ],
)
def test_device_and_metric_come_from_the_full_name(
    name: str, device: str | None, metric: str
) -> None:
    (sample,) = decode([{"n": name, "v": 1}])
    assert (sample.device, sample.metric) == (device, metric)
    # The same full name split between bn and n resolves the same way, wherever it is cut.
    for cut in range(1, len(name)):
        (sample,) = decode([{"bn": name[:cut], "n": name[cut:], "v": 1}])
        assert (sample.device, sample.metric) == (device, metric), name[:cut]


@pytest.mark.parametrize(
    ("record", "detail"),
    [
        ({"v": 1}, "the name is empty"),
        ({"n": "", "v": 1}, "the name is empty"),
        ({"n": "-temp", "v": 1}, "must start with a letter or digit"),
        ({"n": "_temp", "v": 1}, "must start with a letter or digit"),
        ({"bn": ":dev:", "n": "temp", "v": 1}, "must start with a letter or digit"),
        ({"n": "cabinet temp", "v": 1}, "may only use"),
        ({"n": "temp°", "v": 1}, "may only use"),
        ({"n": "tempé", "v": 1}, "may only use"),
        ({"n": "temp#1", "v": 1}, "may only use"),
        ({"bn": "urn dev:", "n": "temp", "v": 1}, "may only use"),
        ({"n": "urn:dev:serial:FR-1:", "v": 1}, "no metric after its last ':'"),
        ({"bn": "urn:dev:serial:FR-1:", "v": 1}, "no metric after its last ':'"),
        ({"n": "urn::temp", "v": 1}, "empty device segment"),
        ({"bn": "urn::", "n": "temp", "v": 1}, "empty device segment"),
    ],
)
def test_bad_names_refuse_the_pack(record: dict[str, Any], detail: str) -> None:
    error = refusal([record])
    assert error.reason is RejectReason.INVALID
    assert error.detail.startswith("record 0: ")
    assert detail in error.detail


@pytest.mark.parametrize(
    ("record", "detail"),
    [
        ({"n": "x", "v": 1, "vs": "a"}, "exactly one value field, got v, vs"),
        ({"n": "x", "vb": True, "vd": "AA"}, "exactly one value field, got vb, vd"),
        ({"n": "x"}, "no value field"),
        ({"n": "x", "u": "W", "t": -1}, "no value field"),
        ({"n": "x", "s": 5}, "sum-only records"),
        ({"bs": 1, "n": "x"}, "sum-only records"),
    ],
)
def test_a_record_needs_exactly_one_value(record: dict[str, Any], detail: str) -> None:
    error = refusal([record])
    assert error.reason is RejectReason.INVALID
    assert detail in error.detail


def test_a_sum_is_ignored_when_the_record_has_a_value() -> None:
    assert decode([{"bs": 10, "n": "x", "v": 2, "s": 5}])[0].value == 2.0


def test_base_sum_carries_forward_into_sum_only_records() -> None:
    error = refusal([{"bs": 10, "n": "x", "v": 2}, {"n": "y"}])
    assert error.detail.startswith("record 1: sum-only records")


@pytest.mark.parametrize(
    ("record", "detail"),
    [
        ({"n": "x", "v": True}, "'v' must be a number, got boolean"),
        ({"n": "x", "v": False}, "'v' must be a number, got boolean"),
        ({"n": "x", "v": "4.2"}, "'v' must be a number, got string"),
        ({"n": "x", "v": None}, "'v' must be a number, got null"),
        ({"n": "x", "v": [1]}, "'v' must be a number, got array"),
        ({"bu": "W", "n": "x", "v": True}, "'v' must be a number, got boolean"),
        ({"n": "x", "vb": 1}, "'vb' must be a boolean, got number"),
        ({"n": "x", "vb": "true"}, "'vb' must be a boolean, got string"),
        ({"n": "x", "vs": 1}, "'vs' must be a string, got number"),
        ({"n": "x", "vd": {}}, "'vd' must be a string, got object"),
        ({"n": "x", "vd": "AAA="}, "'vd' must be base64url"),
        ({"n": "x", "vd": "A+/B"}, "'vd' must be base64url"),
        ({"n": "x", "vd": "AAAAA"}, "'vd' must be base64url"),
        ({"n": "x", "v": 1, "t": "-5"}, "'t' must be a number, got string"),
        ({"n": "x", "v": 1, "t": True}, "'t' must be a number, got boolean"),
        ({"n": "x", "v": 1, "t": None}, "'t' must be a number, got null"),
        ({"bt": True, "n": "x", "v": 1}, "'bt' must be a number, got boolean"),
        ({"bv": "1", "n": "x", "v": 1}, "'bv' must be a number, got string"),
        ({"bs": None, "n": "x", "v": 1}, "'bs' must be a number, got null"),
        ({"bver": "10", "n": "x", "v": 1}, "'bver' must be a number, got string"),
        ({"n": "x", "v": 1, "s": "5"}, "'s' must be a number, got string"),
        ({"n": "x", "v": 1, "ut": True}, "'ut' must be a number, got boolean"),
        ({"n": 5, "v": 1}, "'n' must be a string, got number"),
        ({"bn": None, "n": "x", "v": 1}, "'bn' must be a string, got null"),
        ({"n": "x", "v": 1, "u": 1}, "'u' must be a string, got number"),
        ({"n": "x", "v": 1, "u": None}, "'u' must be a string, got null"),
        ({"bu": ["Cel"], "n": "x", "v": 1}, "'bu' must be a string, got array"),
    ],
)
def test_fields_must_have_their_json_type(record: dict[str, Any], detail: str) -> None:
    error = refusal([record])
    assert error.reason is RejectReason.INVALID
    assert error.detail.startswith(f"record 0: {detail}")


@pytest.mark.parametrize(
    ("record", "detail"),
    [
        ({"bt": 1.7e308, "t": 1.7e308, "n": "x", "v": 1}, "time inf is not a finite number"),
        ({"bv": 1.7e308, "n": "x", "v": 1.7e308}, "value inf is not a finite number"),
        ({"bt": -1.7e308, "t": -1.7e308, "n": "x", "v": 1}, "time -inf is not a finite"),
    ],
)
def test_results_must_be_finite(record: dict[str, Any], detail: str) -> None:
    assert detail in refusal([record]).detail


def test_data_values_decode_as_their_base64url_text() -> None:
    assert decode([{"n": "blob", "vd": "aGVsbG8_-w"}])[0].value == "aGVsbG8_-w"


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe[]", "not JSON"),
        (b"", "not JSON"),
        (b'[{"n":"x","v":1}] trailing', "not JSON"),
        (b'{"n":"x","v":1}', "a SenML pack is a JSON array, got object"),
        (b'"[]"', "a SenML pack is a JSON array, got string"),
        (b"null", "a SenML pack is a JSON array, got null"),
        (b"[]", "empty pack"),
        (b"[1]", "record 0: a SenML record is a JSON object, got number"),
        (b'[{"n":"x","v":1},[]]', "record 1: a SenML record is a JSON object, got array"),
    ],
)
def test_undecodable_payloads(payload: bytes, detail: str) -> None:
    error = refusal(payload)
    assert error.reason is RejectReason.UNDECODABLE
    assert detail in error.detail


def test_one_bad_record_refuses_the_whole_pack_and_names_its_index() -> None:
    pack: list[dict[str, Any]] = [{"n": f"m{i}", "v": i} for i in range(3)]
    pack.append({"n": "m3", "v": True})
    pack.append({"n": "m4", "v": 4})
    error = refusal(pack)
    assert error.reason is RejectReason.INVALID
    assert error.detail == "record 3: 'v' must be a number, got boolean"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("urn:dev:serial:FR-000001:cabinet_temp", None),
        ("cabinet_temp", None),  # names no device: the topic's
        ("urn:dev:serial:FR-000002:cabinet_temp", RejectReason.DEVICE_MISMATCH),
        ("urn:dev:serial:fr-000001:cabinet_temp", RejectReason.DEVICE_MISMATCH),
    ],
)
def test_the_pack_may_only_name_the_topic_device(name: str, reason: RejectReason | None) -> None:
    payload = orjson.dumps([{"n": "cabinet_temp", "v": 1}, {"n": name, "v": 4.2}])
    message = RawMessage("dt/FR-000001/senml", payload, NOW)
    if reason is None:
        topic, samples = decode_message(message)
        assert topic.device_id == "FR-000001"
        assert [s.metric for s in samples] == ["cabinet_temp", "cabinet_temp"]
    else:
        with pytest.raises(DecodeError) as caught:
            decode_message(message)
        assert caught.value.reason is reason
        assert "FR-000001" in caught.value.detail
