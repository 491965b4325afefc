"""The telemetry topic scheme: parsing, building, subscription filters, dispatch."""

from __future__ import annotations

from typing import cast

import pytest

from ingest.decoding import decode_message
from ingest.messages import DecodeError, RawMessage, RejectReason
from ingest.topics import (
    PayloadFormat,
    TelemetryTopic,
    parse_topic,
    subscription_filter,
    telemetry_topic,
)

LONGEST_ID = "F" + "x" * 63  # 64 characters


@pytest.mark.parametrize(
    ("topic", "root", "expected"),
    [
        ("dt/FR-000001/senml", "dt", TelemetryTopic("FR-000001", "senml")),
        ("dt/FR-000001/json", "dt", TelemetryTopic("FR-000001", "json")),
        ("careline-eu/WM-42/json", "careline-eu", TelemetryTopic("WM-42", "json")),
        ("dt/0024befffe804ff1/senml", "dt", TelemetryTopic("0024befffe804ff1", "senml")),
        ("dt/a/senml", "dt", TelemetryTopic("a", "senml")),
        ("dt/fr_01.b-2/json", "dt", TelemetryTopic("fr_01.b-2", "json")),
        (f"dt/{LONGEST_ID}/senml", "dt", TelemetryTopic(LONGEST_ID, "senml")),
    ],
)
def test_parse_topic_accepts_the_scheme(topic: str, root: str, expected: TelemetryTopic) -> None:
    assert parse_topic(topic, root) == expected


@pytest.mark.parametrize(
    ("topic", "detail"),
    [
        ("dt/FR-000001", "has 2 level(s)"),
        ("dt/FR-000001/senml/extra", "has 4 level(s)"),
        ("/dt/FR-000001/senml", "has 4 level(s)"),
        ("", "has 1 level(s)"),
        ("xx/FR-000001/senml", "does not start with dt/"),
        ("DT/FR-000001/senml", "does not start with dt/"),
        ("dt/FR-000001/cbor", "payload format 'cbor'"),
        ("dt/FR-000001/SENML", "payload format 'SENML'"),
        ("dt/FR-000001/", "payload format ''"),
        ("dt//senml", "device id ''"),
        ("dt/-FR-000001/senml", "device id '-FR-000001'"),
        ("dt/.hidden/senml", "device id '.hidden'"),
        ("dt/FR 01/senml", "device id 'FR 01'"),
        ("dt/FR+/senml", "device id 'FR+'"),
        ("dt/FRé/senml", "device id 'FRé'"),
        (f"dt/{LONGEST_ID}x/senml", "device id"),
    ],
)
def test_parse_topic_refuses_other_topics(topic: str, detail: str) -> None:
    with pytest.raises(DecodeError) as caught:
        parse_topic(topic)
    assert caught.value.reason is RejectReason.UNKNOWN_TOPIC
    assert detail in caught.value.detail
    assert repr(topic) in caught.value.detail


def test_a_refused_topic_is_refused_again() -> None:
    # Parsed topics are cached; refusals must not be.
    for _ in range(2):
        with pytest.raises(DecodeError, match="unknown_topic"):
            parse_topic("dt/FR-000001/xml")


def test_parse_topic_uses_the_configured_root() -> None:
    assert parse_topic("eu/FR-000001/senml", root="eu") == TelemetryTopic("FR-000001", "senml")
    with pytest.raises(DecodeError, match="does not start with eu/"):
        parse_topic("dt/FR-000001/senml", root="eu")


@pytest.mark.parametrize("root", ["", "DT", "d/t", "d+", "#", "dt "])
def test_an_invalid_root_is_a_configuration_error(root: str) -> None:
    with pytest.raises(ValueError, match="topic root"):
        parse_topic("dt/FR-000001/senml", root=root)
    with pytest.raises(ValueError, match="topic root"):
        subscription_filter(root)
    with pytest.raises(ValueError, match="topic root"):
        telemetry_topic("FR-000001", "senml", root)


@pytest.mark.parametrize(
    ("device_id", "payload_format", "root", "topic"),
    [
        ("FR-000001", "senml", "dt", "dt/FR-000001/senml"),
        ("WM-000042", "json", "dt", "dt/WM-000042/json"),
        ("FR-000001", "json", "careline-eu", "careline-eu/FR-000001/json"),
    ],
)
def test_telemetry_topic_builds_what_parse_topic_reads(
    device_id: str, payload_format: PayloadFormat, root: str, topic: str
) -> None:
    assert telemetry_topic(device_id, payload_format, root) == topic
    assert parse_topic(topic, root) == TelemetryTopic(device_id, payload_format)


@pytest.mark.parametrize(
    ("device_id", "payload_format", "message"),
    [
        ("", "senml", "device id"),
        ("FR/1", "senml", "device id"),
        ("FR+1", "senml", "device id"),
        ("x" * 65, "json", "device id"),
        ("FR-000001", "cbor", "payload format"),
    ],
)
def test_telemetry_topic_refuses_invalid_parts(
    device_id: str, payload_format: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        telemetry_topic(device_id, cast(PayloadFormat, payload_format))
    with pytest.raises(ValueError, match=message):
        TelemetryTopic(device_id, cast(PayloadFormat, payload_format))


@pytest.mark.parametrize(
    ("root", "group", "expected"),
    [
        ("dt", None, "dt/#"),
        ("careline-eu", None, "careline-eu/#"),
        ("dt", "ingest", "$share/ingest/dt/#"),
        ("dt", "ingest-workers.eu_1", "$share/ingest-workers.eu_1/dt/#"),
    ],
)
def test_subscription_filter(root: str, group: str | None, expected: str) -> None:
    assert subscription_filter(root, group) == expected


@pytest.mark.parametrize("group", ["", "a/b", "ingest+", "#", "in\x00gest"])
def test_subscription_filter_refuses_invalid_share_names(group: str) -> None:
    with pytest.raises(ValueError, match="share group"):
        subscription_filter("dt", group)


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("dt/FR-000001/senml", b'[{"n":"cabinet_temp","u":"Cel","v":4.5}]'),
        ("dt/FR-000001/json", b'{"values":{"cabinet_temp":4.5}}'),
    ],
)
def test_decode_message_dispatches_on_the_topic_format(topic: str, payload: bytes) -> None:
    parsed, samples = decode_message(RawMessage(topic, payload, 1_700_000_000.0))
    assert parsed.device_id == "FR-000001"
    assert [(s.metric, s.time, s.value) for s in samples] == [
        ("cabinet_temp", 1_700_000_000.0, 4.5)
    ]


def test_decode_message_refuses_a_topic_outside_the_scheme() -> None:
    message = RawMessage("dt/FR-000001/xml", b"<a/>", 1_700_000_000.0)
    with pytest.raises(DecodeError) as caught:
        decode_message(message)
    assert caught.value.reason is RejectReason.UNKNOWN_TOPIC


def test_decode_message_decodes_by_the_topic_not_the_bytes() -> None:
    # A SenML pack on the json topic is not guessed at: it is the wrong shape.
    message = RawMessage("dt/FR-000001/json", b'[{"n":"cabinet_temp","v":4.5}]', 1.7e9)
    with pytest.raises(DecodeError) as caught:
        decode_message(message)
    assert caught.value.reason is RejectReason.UNDECODABLE
