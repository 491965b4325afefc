"""What ingest passes between its stages: raw messages in, samples and rejections out.

Pure data, no I/O. A :class:`RawMessage` is what the MQTT callback hands over, unchanged;
decoding turns it into :class:`Sample` values with absolute UTC times; a message that cannot
be used becomes a :class:`Rejection` that is stored, with its raw bytes, as a dead letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RejectReason(StrEnum):
    """Why a message, or part of it, was not stored as readings."""

    UNDECODABLE = "undecodable"  # not UTF-8 / not JSON / not the shape the topic announces
    INVALID = "invalid"  # decodes, but breaks a rule: unknown metric, unit, time, type
    OUT_OF_RANGE = "out_of_range"  # outside what the sensor can physically report
    UNKNOWN_DEVICE = "unknown_device"  # no such device in the registry
    DEVICE_MISMATCH = "device_mismatch"  # the payload names another device than the topic
    UNKNOWN_TOPIC = "unknown_topic"  # the topic is not in our scheme


class IngestError(Exception):
    """Base of the errors ingest raises."""


class DecodeError(IngestError):
    """A payload or topic was refused; ``reason`` says which kind of refusal."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One MQTT message as received. ``received_at`` is UTC epoch seconds."""

    topic: str
    payload: bytes
    received_at: float
    mid: int = 0
    qos: int = 0


# Not frozen: one is built per reading, and a frozen dataclass costs a third more to build.
@dataclass(slots=True)
class Sample:
    """One decoded measurement, its time resolved to absolute UTC epoch seconds.

    ``device`` is the device the payload itself names (None when it names none), so that it
    can be checked against the topic. ``unit`` is None when the payload gives no unit.
    String values (SenML ``vs``/``vd``) decode as ``str``; validation decides whether the
    metric takes them.
    """

    device: str | None
    metric: str
    time: float
    value: float | bool | str
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message, or some of its records, refused; stored as a dead letter."""

    message: RawMessage
    reason: RejectReason
    detail: str
