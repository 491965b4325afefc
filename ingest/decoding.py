"""Decoding a raw MQTT message: topic to device and format, payload to samples.

The one entry point ingest calls per message. The topic says who sent the message and how
it is encoded; the payload may name a device too (a SenML name, the JSON ``device`` key),
and when it does it must be the topic's: a device may only report for itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ingest.json_payload import decode_json
from ingest.messages import MAX_READINGS, DecodeError, RawMessage, RejectReason, Sample
from ingest.senml import decode_senml
from ingest.topics import DEFAULT_ROOT, PayloadFormat, TelemetryTopic, parse_topic

Decoder = Callable[[bytes, float, int], list[Sample]]

DECODERS: Final[dict[PayloadFormat, Decoder]] = {"senml": decode_senml, "json": decode_json}


def decode_message(
    message: RawMessage, root: str = DEFAULT_ROOT, max_readings: int = MAX_READINGS
) -> tuple[TelemetryTopic, list[Sample]]:
    """The topic and samples of ``message``; :class:`DecodeError` if any part is refused.

    Refusals: ``UNKNOWN_TOPIC`` (topic outside the scheme), ``TOO_LARGE`` (over the size
    limit, or more than ``max_readings`` readings), ``UNDECODABLE``, ``DUPLICATE_KEY`` or
    ``INVALID`` (payload), ``DEVICE_MISMATCH`` (the payload names a device other than the
    topic's).
    """
    topic = parse_topic(message.topic, root)
    oversized = message.oversized
    if oversized is not None:
        raise DecodeError(
            RejectReason.TOO_LARGE,
            f"payload of {oversized.size} bytes is over the limit of ingest.max_message_bytes "
            f"(sha256 {oversized.sha256.hex()}); only its first {len(message.payload)} bytes "
            "were kept",
        )
    samples = DECODERS[topic.format](message.payload, message.received_at, max_readings)
    device_id = topic.device_id
    for sample in samples:
        named = sample.device
        if named is not None and named != device_id:
            raise DecodeError(
                RejectReason.DEVICE_MISMATCH,
                f"the payload names device {named!r} but was published on the topic of "
                f"{device_id!r} ({sample.metric!r})",
            )
    return topic, samples
