"""Turning a batch of raw messages into rows, dead letters and fault events.

This is ingest's logic with no I/O of its own: the registry and the detectors are handed
in. Every message ends up in exactly one of two places, or both: readings (what passed)
and dead letters (what did not, with the raw bytes and the reason). Nothing is dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from devices.catalog import Catalog
from devices.detection.fleet import FleetDetectors
from devices.detector_state import StateSource
from devices.errors import DetectorStateError
from devices.faults.model import FaultEvent
from devices.registry import DeviceDirectory, DeviceRef
from devices.tuning.feed import TuningSource
from ingest.batch import Batch
from ingest.decoding import decode_message
from ingest.messages import (
    MAX_READINGS,
    DecodeError,
    RawMessage,
    Rejection,
    RejectReason,
    Sample,
    processing_error,
)
from ingest.validation import DEFAULT_PAST_TOLERANCE_S, summarize, validate

log = logging.getLogger(__name__)

CHECKPOINT_SLICE = 250
"""Most devices whose detector state one batch saves (about 1.3 MB at 5 KB a device)."""


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
        past_tolerance_s: float = DEFAULT_PAST_TOLERANCE_S,
        max_readings: int = MAX_READINGS,
        states: StateSource | None = None,
        checkpoint_every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        tuning: TuningSource | None = None,
    ) -> None:
        self._catalog = catalog
        self._max_readings = max_readings
        self._clock = clock
        self._directory = directory
        self._metric_ids = metric_ids
        self._detectors = detectors
        self._root = topic_root
        self._future_tolerance_s = future_tolerance_s
        self._past_tolerance_s = past_tolerance_s
        self._states = states
        self._loaded: set[int] = set()  # devices whose saved state was looked up
        # Devices observed since their state was last saved -> when they first were, in
        # that order (a dict keeps insertion order; setdefault does not move a key).
        self._dirty: dict[int, float] = {}
        self._checkpoint_every_s = checkpoint_every_s
        self._now = clock()
        self._tuning = tuning if detectors is not None else None
        # device_id -> the newest baseline reset applied to its detectors here
        self._generation: dict[int, int] = {}
        # Fault events of resets and retuning, until a batch takes them: a build that a
        # database outage interrupts is built again, and these must not be lost with it.
        self._pending: list[FaultEvent] = []

    def _load_states(self, device_ids: list[int]) -> None:
        """Restore saved detector state of devices this worker has not seen yet, then apply
        the baseline resets that state does not include yet."""
        assert self._detectors is not None
        assert self._states is not None
        for device_id, data in self._states.load(device_ids).items():
            try:
                if self._detectors.restore(device_id, data):  # an older format: save anew
                    self._dirty.setdefault(device_id, self._now - self._checkpoint_every_s)
            except DetectorStateError as exc:
                log.warning(
                    "device %d: saved detector state unusable (%s); warming up", device_id, exc
                )
        if self._tuning is not None:
            for device_id, (generation, resets) in self._tuning.load(device_ids).items():
                self._generation[device_id] = generation
                self._apply_resets(resets)
        self._loaded.update(device_ids)

    def _apply_resets(self, resets: list[tuple[int, int, str | None]]) -> None:
        """Forget the baselines reset since this worker last saw these devices."""
        assert self._detectors is not None
        for reset_id, device_id, metric in resets:
            if reset_id <= self._generation.get(device_id, 0):
                continue  # applied already (seen both at load and at a poll)
            self._pending += self._detectors.reset(device_id, metric)
            self._generation[device_id] = reset_id
            self._dirty.setdefault(device_id, self._now)
            log.info(
                "device %d: baseline of %s reset (reset %d)",
                device_id,
                metric or "every metric",
                reset_id,
            )

    def _poll_tuning(self) -> None:
        """Apply changed overrides and new resets, before any reading of the batch."""
        if self._tuning is None:
            return
        changes = self._tuning.poll(self._now)
        if changes is None:
            return
        assert self._detectors is not None
        if changes.tuning is not None:
            self._pending += self._detectors.retune(changes.tuning)
        # Devices not loaded yet get their resets when they are (TuningFeed.load).
        loading = self._states is not None
        self._apply_resets([r for r in changes.resets if not loading or r[1] in self._loaded])

    def _checkpoint(self, batch: Batch, force: bool) -> None:
        """Attach the state of devices whose changes are ``checkpoint_every_s`` old.

        At most :data:`CHECKPOINT_SLICE` devices a batch, oldest change first, so that
        saving 10,000 devices' state is spread over many small writes instead of stalling
        one batch (and every message queued behind it) for seconds.
        """
        if self._detectors is None or not self._dirty:
            return
        dirty = self._dirty
        due_before = self._now - self._checkpoint_every_s
        chosen: list[int] = []
        for device_id, since in dirty.items():
            if not force and (since > due_before or len(chosen) >= CHECKPOINT_SLICE):
                break
            chosen.append(device_id)
        state_bytes = self._detectors.state_bytes
        batch.checkpoints = [(device_id, state_bytes(device_id)) for device_id in chosen]
        generation = self._generation
        batch.generations = {d: generation[d] for d in chosen if d in generation}
        for device_id in chosen:
            del dirty[device_id]

    def checkpoint_due(self) -> bool:
        """True when some device's detector changes are ``checkpoint_every_s`` old: an
        idle worker then builds an empty batch to save them (:meth:`build` with ``[]``)."""
        if self._detectors is None or not self._dirty:
            return False
        oldest = next(iter(self._dirty.values()))
        return oldest <= self._clock() - self._checkpoint_every_s

    @property
    def monitored_devices(self) -> int:
        """Devices with detector state in this worker."""
        return self._detectors.devices() if self._detectors is not None else 0

    def build(self, messages: list[RawMessage], *, final: bool = False) -> Batch:
        """One batch; ``final`` also checkpoints every changed detector (worker stopping)."""
        self._now = self._clock()
        batch = self._build(messages)
        self._checkpoint(batch, force=final)
        return batch

    def _build(self, messages: list[RawMessage]) -> Batch:
        batch = Batch(messages)
        self._poll_tuning()
        decoded = self._decode(messages, batch)
        devices = (
            self._directory.resolve({serial for _, _, serial, _ in decoded}) if decoded else {}
        )
        if self._states is not None and self._detectors is not None:
            unseen = [ref.id for ref in devices.values() if ref.id not in self._loaded]
            if unseen:
                self._load_states(unseen)
        if self._pending:  # before any message's events: owned by no message
            batch.fault_events += self._pending
            self._pending = []
        if not decoded:
            return batch
        rows, events, spans = batch.rows, batch.fault_events, batch.spans
        for position, message, serial, samples in decoded:
            ref = devices.get(serial)
            row_start, event_start = len(rows), len(events)
            try:
                readings = self._accept(message, serial, ref, samples, batch)
                if readings and ref is not None:
                    self._add(batch, ref, message.received_at, readings)
            except Exception as exc:  # one message's content must not fail the batch
                del rows[row_start:], events[event_start:]
                batch.rejections.append(processing_error(message, exc))
                continue
            if len(rows) > row_start or len(events) > event_start:
                spans[position] = (row_start, len(rows), event_start, len(events))
        return batch

    def _decode(
        self, messages: list[RawMessage], batch: Batch
    ) -> list[tuple[int, RawMessage, str, list[Sample]]]:
        decoded: list[tuple[int, RawMessage, str, list[Sample]]] = []
        root, limit = self._root, self._max_readings
        for position, message in enumerate(messages):
            try:
                topic, samples = decode_message(message, root, limit)
            except DecodeError as exc:
                batch.rejections.append(Rejection(message, exc.reason, exc.detail))
                continue
            except Exception as exc:  # a decoder bug this message exposed
                batch.rejections.append(processing_error(message, exc))
                continue
            decoded.append((position, message, topic.device_id, samples))
        return decoded

    def _accept(
        self,
        message: RawMessage,
        serial: str,
        ref: DeviceRef | None,
        samples: list[Sample],
        batch: Batch,
    ) -> list[tuple[str, float, float]]:
        """The readings of a message that pass; what does not becomes a rejection."""
        if ref is None:
            batch.rejections.append(
                Rejection(message, RejectReason.UNKNOWN_DEVICE, f"no device {serial!r}")
            )
            return []
        device_type = self._catalog.device_types.get(ref.device_type)
        if device_type is None:
            detail = f"device {serial!r} has type {ref.device_type!r}, not in the catalog"
            batch.rejections.append(Rejection(message, RejectReason.INVALID, detail))
            return []
        checked = validate(
            samples,
            device_type,
            message.received_at,
            self._future_tolerance_s,
            self._past_tolerance_s,
        )
        if checked.problems:
            reason, detail = summarize(checked.problems)
            if checked.readings:
                detail = f"{len(checked.readings)} readings stored, refused: {detail}"
            batch.rejections.append(Rejection(message, reason, detail))
        return checked.readings

    def _add(
        self,
        batch: Batch,
        ref: DeviceRef,
        received: float,
        readings: list[tuple[str, float, float]],
    ) -> None:
        """Rows for the readings, detector events, and the device's last-seen time."""
        device_id = ref.id
        metric_ids = self._metric_ids
        rows = batch.rows
        observe = self._detectors.observe if self._detectors is not None else None
        latest = 0.0
        for metric, when, value in readings:
            rows.append((device_id, metric_ids[metric], when, value, received))
            latest = max(latest, when)
            if observe is not None:
                events = observe(device_id, ref.device_type, metric, when, value)
                if events:
                    batch.fault_events.extend(events)
        self._dirty.setdefault(device_id, self._now)
        previous = batch.seen.get(device_id)
        if previous is None or previous[0] < latest:
            batch.seen[device_id] = (latest, received)
