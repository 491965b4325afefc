"""Turning a batch of raw messages into rows, dead letters and fault events.

This is ingest's logic with no I/O of its own: the registry and the detectors are handed
in. Every message ends up in exactly one of two places, or both: readings (what passed)
and dead letters (what did not, with the raw bytes and the reason). Nothing is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devices.catalog import Catalog
from devices.detection.fleet import FleetDetectors
from devices.faults import FaultEvent
from devices.registry import DeviceDirectory
from ingest.decoding import decode_message
from ingest.messages import DecodeError, RawMessage, Rejection, RejectReason, Sample
from ingest.validation import summarize, validate

# device_id, metric_id, device time, value, receive time (times as UTC epoch seconds)
ReadingRow = tuple[int, int, float, float, float]


@dataclass(slots=True)
class Batch:
    """What one transaction writes, and the messages it acknowledges once committed."""

    messages: list[RawMessage]
    rows: list[ReadingRow] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    fault_events: list[FaultEvent] = field(default_factory=list)
    # device_id -> (latest device time, latest receive time) seen in this batch
    seen: dict[int, tuple[float, float]] = field(default_factory=dict)


class BatchBuilder:
    """Decodes, validates and scores messages; one instance per ingest worker."""

    def __init__(
        self,
        catalog: Catalog,
        directory: DeviceDirectory,
        metric_ids: dict[str, int],
        detectors: FleetDetectors | None,
        *,
        topic_root: str = "dt",
        future_tolerance_s: float = 300.0,
    ) -> None:
        self._catalog = catalog
        self._directory = directory
        self._metric_ids = metric_ids
        self._detectors = detectors
        self._root = topic_root
        self._future_tolerance_s = future_tolerance_s

    def build(self, messages: list[RawMessage]) -> Batch:
        batch = Batch(messages)
        decoded: list[tuple[RawMessage, str, list[Sample]]] = []
        for message in messages:
            try:
                topic, samples = decode_message(message, self._root)
            except DecodeError as exc:
                batch.rejections.append(Rejection(message, exc.reason, exc.detail))
                continue
            decoded.append((message, topic.device_id, samples))
        if not decoded:
            return batch

        devices = self._directory.resolve({serial for _, serial, _ in decoded})
        observe = self._detectors.observe if self._detectors is not None else None
        metric_ids = self._metric_ids
        rows = batch.rows
        seen = batch.seen
        for message, serial, samples in decoded:
            ref = devices.get(serial)
            if ref is None:
                batch.rejections.append(
                    Rejection(message, RejectReason.UNKNOWN_DEVICE, f"no device {serial!r}")
                )
                continue
            device_type = self._catalog.device_types.get(ref.device_type)
            if device_type is None:
                batch.rejections.append(
                    Rejection(
                        message,
                        RejectReason.INVALID,
                        f"device {serial!r} has type {ref.device_type!r}, not in the catalog",
                    )
                )
                continue
            received = message.received_at
            checked = validate(samples, device_type, received, self._future_tolerance_s)
            if checked.problems:
                reason, detail = summarize(checked.problems)
                if checked.readings:
                    detail = f"{len(checked.readings)} readings stored, refused: {detail}"
                batch.rejections.append(Rejection(message, reason, detail))
            if not checked.readings:
                continue
            device_id = ref.id
            latest = 0.0
            for metric, when, value in checked.readings:
                rows.append((device_id, metric_ids[metric], when, value, received))
                latest = max(latest, when)
                if observe is not None:
                    events = observe(device_id, ref.device_type, metric, when, value)
                    if events:
                        batch.fault_events.extend(events)
            previous = seen.get(device_id)
            if previous is None or previous[0] < latest:
                seen[device_id] = (latest, received)
        return batch
