"""What the MQTT callback makes of what the broker delivered: never an exception."""

from __future__ import annotations

import hashlib

from ingest.messages import OVERSIZED_HEAD, received


def test_a_topic_that_is_not_utf8_keeps_its_bytes_escaped() -> None:
    message = received(b"dt/\xff\xfe\x00/json", b"{}", 1.0, 7, 1, 1024)
    assert message.topic == "dt/\\xff\\xfe\x00/json"
    assert (message.mid, message.qos, message.oversized) == (7, 1, None)


def test_an_oversized_payload_keeps_its_head_size_and_digest() -> None:
    payload = b"x" * 10_000
    message = received(b"dt/FR-000001/senml", payload, 1.0, 1, 1, 9_999)
    assert message.payload == payload[:OVERSIZED_HEAD]
    assert message.oversized is not None
    assert message.oversized.size == 10_000
    assert message.oversized.sha256 == hashlib.sha256(payload).digest()
    assert message.size < OVERSIZED_HEAD + 500  # what the inbox counts for it


def test_a_payload_at_the_limit_is_whole() -> None:
    message = received(b"dt/FR-000001/senml", b"y" * 1024, 1.0, 1, 1, 1024)
    assert message.oversized is None
    assert len(message.payload) == 1024
