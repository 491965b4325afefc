"""The MQTT topic scheme for device telemetry: parsing, building and subscribing.

Every device publishes its telemetry to one topic per payload format::

    {root}/{device_id}/{format}

``root``
    The first level, the same for the whole installation: ``dt`` ("device telemetry") unless
    configured otherwise (``mqtt.topic_root``). Lower-case letters, digits and ``-`` only.
``device_id``
    The device's serial number as registered in careline, e.g. ``FR-000001``: 1 to 64
    characters from ``A-Z a-z 0-9 . _ -``, starting with a letter or a digit. The topic is
    what identifies the sender; a payload that names another device is refused.
``format``
    How the payload is encoded:

    ``senml``
        a SenML pack, RFC 8428 JSON (``application/senml+json``), e.g.
        ``[{"bn":"urn:dev:serial:FR-000001:","n":"cabinet_temp","u":"Cel","v":4.2}]``
    ``json``
        careline's plain JSON shape, e.g.
        ``{"time": 1763971200.5, "values": {"cabinet_temp": 4.2, "door_open": false}}``
        (see :mod:`ingest.json_payload`).

Examples: ``dt/FR-000001/senml``, ``dt/WM-000042/json``.

Ingest workers subscribe to ``{root}/#``: every topic under the root, not only those of the
scheme's shape, so that a message on ``dt/FR-000001`` or ``dt/FR-000001/senml/extra`` still
arrives, is refused with :attr:`~ingest.messages.RejectReason.UNKNOWN_TOPIC` and is kept
as a dead letter. Topics outside the root belong to other applications on the same broker
(and, later, to careline's other flows); ingest never receives them. Several workers
share the load through an MQTT 5 shared subscription, ``$share/{group}/{root}/#``: the
broker hands each message to one worker of the group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

from ingest.messages import DecodeError, RejectReason

PayloadFormat = Literal["senml", "json"]

DEFAULT_ROOT: Final = "dt"

# Maps the topic level to the Literal, which narrows the type without a cast.
_FORMATS: Final[dict[str, PayloadFormat]] = {"senml": "senml", "json": "json"}
_DEVICE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ROOT: Final = re.compile(r"[a-z0-9-]+")
# Level separator, single-level and multi-level wildcards: none may be in a share name
# (MQTT 5, MQTT-4.8.2-2); U+0000 is not allowed in any MQTT string (MQTT-1.5.4-2).
_SHARE_FORBIDDEN: Final = frozenset("/+#\x00")
# Roots already checked; there is one per installation, so this stays tiny.
_checked_roots: set[str] = set()


def is_device_id(text: str) -> bool:
    """True when ``text`` may be a device id (and so a topic level)."""
    return _DEVICE_ID.fullmatch(text) is not None


def _check_root(root: str) -> None:
    if root in _checked_roots:
        return
    if _ROOT.fullmatch(root) is None:
        raise ValueError(f"topic root {root!r} must match [a-z0-9-]+")
    _checked_roots.add(root)


@dataclass(frozen=True, slots=True)
class TelemetryTopic:
    """Where a telemetry message came from: the device and how its payload is encoded."""

    device_id: str
    format: PayloadFormat

    def __post_init__(self) -> None:
        if not is_device_id(self.device_id):
            raise ValueError(
                f"device id {self.device_id!r} must be 1-64 characters of A-Z a-z 0-9 . _ - "
                "starting with a letter or digit"
            )
        if self.format not in _FORMATS:
            raise ValueError(f"payload format {self.format!r} must be one of senml, json")

    def topic(self, root: str = DEFAULT_ROOT) -> str:
        """The MQTT topic this device publishes this format to."""
        _check_root(root)
        return f"{root}/{self.device_id}/{self.format}"


def parse_topic(topic: str, root: str = DEFAULT_ROOT) -> TelemetryTopic:
    """The device and format a telemetry topic names.

    Raises :class:`DecodeError` with ``UNKNOWN_TOPIC`` when ``topic`` is not in the scheme,
    and ``ValueError`` when ``root`` itself is not a valid root (a configuration error).
    """
    _check_root(root)
    return _parse(topic, root)


# Devices publish to the same topics over and over, so parsed topics are remembered: a hit
# costs ~0.1 us instead of ~1 us. Bounded (about 400 bytes an entry), because topics come
# from the network; a larger fleet only misses more. Refusals raise and are not cached.
@lru_cache(maxsize=1 << 14)
def _parse(topic: str, root: str) -> TelemetryTopic:
    levels = topic.split("/")
    if len(levels) != 3:
        raise DecodeError(
            RejectReason.UNKNOWN_TOPIC,
            f"topic {topic!r} has {len(levels)} level(s); expected 3: {root}/<device_id>/<format>",
        )
    first, device_id, format_level = levels
    if first != root:
        raise DecodeError(
            RejectReason.UNKNOWN_TOPIC,
            f"topic {topic!r} does not start with {root}/; expected {root}/<device_id>/<format>",
        )
    payload_format = _FORMATS.get(format_level)
    if payload_format is None:
        raise DecodeError(
            RejectReason.UNKNOWN_TOPIC,
            f"topic {topic!r} has payload format {format_level!r}; expected senml or json",
        )
    if not is_device_id(device_id):
        raise DecodeError(
            RejectReason.UNKNOWN_TOPIC,
            f"topic {topic!r} has device id {device_id!r}; expected 1-64 characters of "
            "A-Z a-z 0-9 . _ - starting with a letter or digit",
        )
    return TelemetryTopic(device_id, payload_format)


def telemetry_topic(device_id: str, format: PayloadFormat, root: str = DEFAULT_ROOT) -> str:
    """The topic ``device_id`` publishes ``format`` payloads to; ``ValueError`` if invalid."""
    return TelemetryTopic(device_id, format).topic(root)


def subscription_filter(root: str = DEFAULT_ROOT, share_group: str | None = None) -> str:
    """The filter an ingest worker subscribes to: ``dt/#`` or ``$share/{group}/dt/#``.

    ``share_group`` None means a plain subscription. A share name must be non-empty and
    hold none of ``/ + #`` (MQTT 5 §4.8.2); ``ValueError`` otherwise.
    """
    _check_root(root)
    plain = f"{root}/#"
    if share_group is None:
        return plain
    if not share_group or not _SHARE_FORBIDDEN.isdisjoint(share_group):
        raise ValueError(
            f"share group {share_group!r} must be non-empty and contain none of / + # or NUL"
        )
    return f"$share/{share_group}/{plain}"


@dataclass(frozen=True, slots=True)
class KeyedTopic:
    """A three-level topic ``<root>/<key>/<leaf>`` whose middle level names the sender (an
    app installation, a store): built from a key, and parsed back with the refusal ingest
    dead-letters.

    >>> till = KeyedTopic("pos", "receipts", "store_code")
    >>> till.make("LYON-1"), till.parse("pos/LYON-1/receipts")
    ('pos/LYON-1/receipts', 'LYON-1')
    >>> till.parse("pos/LYON-1")
    Traceback (most recent call last):
    ...
    ingest.messages.DecodeError: unknown_topic: topic 'pos/LYON-1' is not pos/<store_code>/receipts
    """

    root: str
    leaf: str
    key_name: str
    key: re.Pattern[str] = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

    @property
    def subscription(self) -> str:
        """Everything under the root: malformed topics arrive too, and are dead-lettered."""
        return f"{self.root}/#"

    def make(self, key: str) -> str:
        if self.key.fullmatch(key) is None:
            raise ValueError(f"{self.key_name} {key!r} cannot be a topic level")
        return f"{self.root}/{key}/{self.leaf}"

    def parse(self, topic: str) -> str:
        levels = topic.split("/")
        if (
            len(levels) != 3
            or levels[0] != self.root
            or levels[2] != self.leaf
            or self.key.fullmatch(levels[1]) is None
        ):
            raise DecodeError(
                RejectReason.UNKNOWN_TOPIC,
                f"topic {topic!r} is not {self.root}/<{self.key_name}>/{self.leaf}",
            )
        return levels[1]
