"""What ingest passes between its stages: raw messages in, samples and rejections out.

Pure data, no I/O (a processing error is logged). A :class:`RawMessage` is what the MQTT
callback hands over (an oversized payload cut to its head); decoding turns it into
:class:`Sample` values with absolute UTC times; a message that cannot be used becomes a
:class:`Rejection` that is stored, with its raw bytes, as a dead letter.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

log = logging.getLogger(__name__)
_logged_errors: set[str] = set()

MAX_READINGS: Final = 10_000
"""Default for the most readings one message may carry (``ingest.max_readings_per_message``)."""

OVERSIZED_HEAD: Final = 4096
"""Bytes of an oversized payload kept with its dead letter."""

MESSAGE_OVERHEAD: Final = 200
"""Bytes a message costs beyond its payload and topic (objects, queue slot), roughly."""


class RejectReason(StrEnum):
    """Why a message, or part of it, was not stored as readings."""

    UNDECODABLE = "undecodable"  # not UTF-8 / not JSON / not the shape the topic announces
    INVALID = "invalid"  # decodes, but breaks a rule: unknown metric, unit, time, type
    OUT_OF_RANGE = "out_of_range"  # outside what the sensor can physically report
    UNKNOWN_DEVICE = "unknown_device"  # no such device in the registry
    UNKNOWN_INSTALLATION = "unknown_installation"  # sightings from an unregistered shopper app
    UNKNOWN_STORE = "unknown_store"  # a receipt from a store careline does not know
    UNKNOWN_CUSTOMER = "unknown_customer"  # a receipt naming a customer careline does not know
    RECEIPT_CONFLICT = "receipt_conflict"  # a receipt id reused for a different receipt
    DEVICE_MISMATCH = "device_mismatch"  # the payload names another device than the topic
    UNKNOWN_TOPIC = "unknown_topic"  # the topic is not in our scheme
    DUPLICATE_KEY = "duplicate_key"  # a JSON object names a key twice
    TOO_LARGE = "too_large"  # over a size limit: bytes, or readings in one message
    UNSTORABLE = "unstorable"  # the database refused what the message carries
    PROCESSING_ERROR = "processing_error"  # ingest failed on this message (a bug it exposed)


class IngestError(Exception):
    """Base of the errors ingest raises."""


class DecodeError(IngestError):
    """A payload or topic was refused; ``reason`` says which kind of refusal."""

    @classmethod
    def too_many_readings(cls, count: int, limit: int) -> DecodeError:
        return cls(
            RejectReason.TOO_LARGE,
            f"{count} readings in one message; at most {limit} "
            "(ingest.max_readings_per_message): split it into several messages",
        )

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


def received(
    topic: bytes,
    payload: bytes,
    received_at: float,
    mid: int,
    qos: int,
    max_bytes: int,
    origin: int = 0,
) -> RawMessage:
    """The message for what the broker delivered; never raises.

    A topic that is not UTF-8 (MQTT requires it; some brokers pass it on) keeps its bytes
    as backslash escapes, so that it can be dead-lettered. A payload over ``max_bytes`` is
    cut to its first :data:`OVERSIZED_HEAD` bytes, with its size and digest kept.
    """
    try:
        text = topic.decode("utf-8")
    except UnicodeDecodeError:
        text = topic.decode("utf-8", "backslashreplace")
    if len(payload) <= max_bytes:
        return RawMessage(text, payload, received_at, mid, qos, None, origin)
    oversized = Oversized(len(payload), hashlib.sha256(payload).digest())
    return RawMessage(text, payload[:OVERSIZED_HEAD], received_at, mid, qos, oversized, origin)


@dataclass(frozen=True, slots=True)
class Oversized:
    """A payload over the size limit: its real size and digest; only its head was kept."""

    size: int
    sha256: bytes


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One MQTT message as received. ``received_at`` is UTC epoch seconds.

    ``oversized`` is set when the payload was larger than ingest accepts: ``payload`` then
    holds only its first few KB, and the message can only become a dead letter.
    """

    topic: str
    payload: bytes
    received_at: float
    mid: int = 0
    qos: int = 0
    oversized: Oversized | None = None
    origin: int = 0
    """Which of the worker's broker sessions delivered it (its partition), for the ack."""

    @property
    def size(self) -> int:
        """Bytes this message holds in memory (what the inbox's byte bound counts)."""
        return len(self.payload) + len(self.topic) + MESSAGE_OVERHEAD


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


def processing_error(message: RawMessage, exc: BaseException) -> Rejection:
    """The rejection of a message that made ingest itself fail: kept, with what failed.

    Logged with its traceback the first time each kind of error happens; a flood of
    messages that trip the same bug fills the dead letters, not the log.
    """
    kind = type(exc).__name__
    if kind not in _logged_errors:
        _logged_errors.add(kind)
        log.error(
            "ingest failed on a message from %r; it is kept as a dead letter (reason "
            "processing_error), as is every later one failing with %s",
            message.topic[:200],
            kind,
            exc_info=exc,
        )
    return Rejection(
        message, RejectReason.PROCESSING_ERROR, f"ingest failed on it: {type(exc).__name__}: {exc}"
    )
