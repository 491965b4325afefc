"""The ingest worker: MQTT in, batches committed, acknowledgements out, in that order.

Three threads, each doing one thing:

* paho's network thread receives messages and puts them on the inbox, which holds at most
  a few batches: when it is full the network thread waits, stops reading, and TCP holds
  the rest at the broker (an overload drain once grew an unbounded inbox to 170,000
  messages, beyond Receive Maximum, for reasons not yet understood);
* the builder takes up to ``batch_max_messages`` (or what arrives within
  ``batch_max_wait_ms``), decodes, validates and scores them (:mod:`ingest.batch`);
* the writer commits each batch (:mod:`ingest.store`), retrying while the database is
  away, and only then acknowledges its messages to the broker, in arrival order.

A crash anywhere before the commit leaves the messages unacknowledged, so the broker
delivers them again; the writes are idempotent, so that adds nothing twice.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from careline.settings import IngestSettings
from crm_core.db.errors import DatabaseUnavailable
from ingest.batch import Batch, BatchBuilder
from ingest.messages import RawMessage
from ingest.store import BatchStore, WriteResult

log = logging.getLogger(__name__)

CommitObserver = Callable[[Batch, WriteResult, float], None]
FREEZE_EVERY_DEVICES = 500
_STOP = object()


@dataclass(slots=True)
class IngestStats:
    messages: int = 0
    readings: int = 0
    readings_inserted: int = 0
    dead_letters: int = 0
    batches: int = 0
    faults_opened: int = 0
    faults_cleared: int = 0
    tickets_opened: int = 0
    db_retries: int = 0


class IngestWorker:
    def __init__(
        self,
        settings: IngestSettings,
        builder: BatchBuilder,
        store: BatchStore,
        *,
        observers: list[CommitObserver] | None = None,
    ) -> None:
        self._settings = settings
        self._builder = builder
        self._store = store
        self._ack: Callable[[RawMessage], None] = lambda message: None
        # Four batches: one collecting, two waiting to be written, one being written.
        self._inbox: queue.Queue[RawMessage | object] = queue.Queue(
            maxsize=4 * settings.batch_max_messages
        )
        self._outbox: queue.Queue[Batch | object] = queue.Queue(maxsize=2)
        self._observers = list(observers or [])
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.stats = IngestStats()
        self.last_commit_at: float | None = None
        self.database_ok = threading.Event()
        self.database_ok.set()

    # -- wiring -------------------------------------------------------------------------

    def deliver(self, message: RawMessage) -> None:
        """Called from the MQTT thread for every message: enqueue, waiting while full.

        Once the worker is stopping a message that finds no room is left unacknowledged:
        the broker delivers it again to the next session.
        """
        while True:
            try:
                self._inbox.put(message, timeout=0.5)
            except queue.Full:
                if self._stopping.is_set():
                    return
            else:
                return

    def set_acknowledger(self, ack: Callable[[RawMessage], None]) -> None:
        self._ack = ack

    def add_observer(self, observer: CommitObserver) -> None:
        self._observers.append(observer)

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._build_loop, name="ingest-builder", daemon=True),
            threading.Thread(target=self._write_loop, name="ingest-writer", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Write and acknowledge what has been received, then stop the threads."""
        self._stopping.set()
        try:
            self._inbox.put(_STOP, timeout=timeout)
        except queue.Full:
            log.error("the ingest builder is not taking messages; stopping without draining")
        for thread in self._threads:
            thread.join(timeout)
        self._store.close()

    @property
    def backlog(self) -> int:
        return self._inbox.qsize()

    # -- the two loops ------------------------------------------------------------------

    def _collect(self) -> tuple[list[RawMessage], bool]:
        """The next batch of messages; True when the stop marker was reached."""
        first = self._inbox.get()
        if first is _STOP:
            return [], True
        assert isinstance(first, RawMessage)
        messages = [first]
        limit = self._settings.batch_max_messages
        deadline = time.monotonic() + self._settings.batch_max_wait_ms / 1000
        get = self._inbox.get
        get_nowait = self._inbox.get_nowait
        while len(messages) < limit:
            try:
                item = get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = get(timeout=remaining)
                except queue.Empty:
                    break
            if item is _STOP:
                return messages, True
            messages.append(item)  # type: ignore[arg-type]
        return messages, False

    def _build_loop(self) -> None:
        frozen_devices = 0
        try:
            while True:
                messages, stop = self._collect()
                if messages or stop:
                    self._outbox.put(self._build_with_retry(messages, final=stop))
                if stop:
                    break
                # Monitors live as long as the worker; once many new ones exist, take them
                # out of the cyclic collector's sight, or every full collection walks all
                # of them (pauses of hundreds of milliseconds at 10,000 devices).
                devices = self._builder.monitored_devices
                if devices - frozen_devices >= FREEZE_EVERY_DEVICES:
                    gc.freeze()
                    frozen_devices = devices
        except Exception:
            log.exception("the ingest builder failed; messages stay unacknowledged")
            raise
        finally:
            self._outbox.put(_STOP)

    def _write_loop(self) -> None:
        while True:
            item = self._outbox.get()
            if item is _STOP:
                return
            assert isinstance(item, Batch)
            result = self._write_with_retry(item)
            for message in item.messages:
                self._ack(message)
            committed_at = time.time()
            self.last_commit_at = committed_at
            self._count(item, result)
            for observer in self._observers:
                observer(item, result, committed_at)

    def _database_away(self, exc: DatabaseUnavailable, held: int) -> None:
        """Count a failed attempt; log the outage once (its end is logged once too)."""
        self.stats.db_retries += 1
        if self.database_ok.is_set():
            log.warning(
                "database unavailable (%s); holding %d messages unacknowledged and retrying",
                exc,
                held,
            )
            self.database_ok.clear()

    def _build_with_retry(self, messages: list[RawMessage], *, final: bool) -> Batch:
        """Build a batch, waiting out a database outage (device and state look-ups).

        Safe to repeat: the look-ups come before any detector sees a reading.
        """
        delay = 0.2
        while True:
            try:
                return self._builder.build(messages, final=final)
            except DatabaseUnavailable as exc:
                self._database_away(exc, len(messages))
            time.sleep(delay)
            delay = min(delay * 2, self._settings.retry_max_delay_s)

    def _write_with_retry(self, batch: Batch) -> WriteResult:
        delay = 0.2
        while True:
            try:
                result = self._store.write(batch)
            except DatabaseUnavailable as exc:
                self._database_away(exc, len(batch.messages))
            except Exception:
                self.stats.db_retries += 1
                log.exception("writing a batch failed; retrying in %.1f s", delay)
            else:
                if not self.database_ok.is_set():
                    log.info("database back; the held batch is committed")
                    self.database_ok.set()
                return result
            time.sleep(delay)
            delay = min(delay * 2, self._settings.retry_max_delay_s)

    def _count(self, batch: Batch, result: WriteResult) -> None:
        stats = self.stats
        stats.batches += 1
        stats.messages += len(batch.messages)
        stats.readings += len(batch.rows)
        stats.readings_inserted += result.readings_inserted
        stats.dead_letters += result.dead_letters
        stats.faults_opened += len(result.faults.faults_opened)
        stats.faults_cleared += result.faults.faults_cleared
        stats.tickets_opened += len(result.faults.tickets_opened)
        if result.faults.tickets_opened:
            log.info(
                "opened proactive ticket(s) %s for fault(s) %s",
                result.faults.tickets_opened,
                result.faults.faults_opened,
            )
