"""The ingest worker: MQTT in, batches committed, acknowledgements out, in that order.

Three threads, each doing one thing:

* paho's network thread receives messages and puts them on the inbox without ever
  waiting (it also sends the keep-alives: a thread that waited out a database outage let
  the broker drop the session); what the inbox holds is bounded by the broker's window of
  unacknowledged QoS 1 messages, and QoS 0 ones past ``inbox_max_bytes`` are dropped
  (:mod:`ingest.inbox`);
* the builder takes up to ``batch_max_messages`` (or what arrives within
  ``batch_max_wait_ms``), decodes, validates and scores them (:mod:`ingest.batch_builder`);
* the writer commits each batch (:mod:`ingest.committer`), waiting while the database is
  away and isolating any message the database refuses, and only then acknowledges its
  messages to the broker, in arrival order.

A crash anywhere before the commit leaves the messages unacknowledged, so the broker
delivers them again; the writes are idempotent, so that adds nothing twice. No message
can stop either loop: what the builder cannot handle becomes a dead letter
(``processing_error``), what the database refuses a dead letter (``unstorable``) or a
quarantined message.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ingest.batch import Batch
from ingest.batch_builder import BatchBuilder
from ingest.committer import CommitAbandoned, Committer
from ingest.inbox import ByteBudget
from ingest.messages import RawMessage, processing_error
from ingest.outcome import IngestStats, WriteResult
from ingest.settings import IngestSettings
from ingest.store import BatchStore

log = logging.getLogger(__name__)

CommitObserver = Callable[[Batch, WriteResult, float], None]
FREEZE_EVERY_DEVICES = 500
ROW_BYTES = 150
"""What one reading costs in memory as a row of a batch waiting to be written (measured:
a tuple of five numbers and its list slot)."""
_STOP = object()
IDLE_TICK_S = 1.0
"""How often an idle worker looks whether detector checkpoints are due."""


class IngestWorker:
    def __init__(
        self,
        settings: IngestSettings,
        builder: BatchBuilder,
        store: BatchStore,
        *,
        observers: list[CommitObserver] | None = None,
        quarantine_dir: Path | None = None,
    ) -> None:
        self._settings = settings
        self._builder = builder
        self._store = store
        self._stopping = threading.Event()
        self._committer = Committer(
            store,
            retry_max_delay_s=settings.retry_max_delay_s,
            quarantine_dir=quarantine_dir,
            stopping=self._stopping,
        )
        self._ack: Callable[[RawMessage], None] = lambda message: None
        # Unbounded as a queue: bounded by the broker's in-flight window (ingest.inbox).
        self._inbox: queue.Queue[RawMessage | object] = queue.Queue()
        self.held = ByteBudget(settings.inbox_max_bytes)  # raw, never waited on
        self.dropped_qos0 = 0
        self._overdrawn_logged = False
        self.decoded = ByteBudget(settings.inbox_max_bytes)  # rows, waited on by the builder
        self._outbox: queue.Queue[Batch | object] = queue.Queue(maxsize=2)
        self._observers = list(observers or [])
        self._threads: list[threading.Thread] = []
        self._stats = IngestStats()
        self.last_commit_at: float | None = None
        self.database_ok = self._committer.database_ok

    # -- wiring -------------------------------------------------------------------------

    def deliver(self, message: RawMessage) -> None:
        """Called from the MQTT thread for every message: enqueue, never waiting.

        paho sends keep-alives from the same thread, so it must not wait for the database:
        past ``inbox_max_bytes`` a QoS 0 message is dropped (and counted), and QoS 1 ones
        are bounded by the broker's window of unacknowledged messages (see
        :mod:`ingest.inbox`). A message arriving once the worker is stopping stays
        unacknowledged: the broker delivers it again to the next session.
        """
        if self._stopping.is_set():
            return
        if not self.held.take(message.size) and message.qos == 0:
            self.held.release(message.size)
            self.dropped_qos0 += 1
            return
        if self.held.held > 2 * self.held.limit and not self._overdrawn_logged:
            self._overdrawn_logged = True
            log.warning(
                "ingest holds %d bytes of unacknowledged QoS 1 messages, twice inbox_max_bytes:"
                " lower the broker's in-flight window (mqtt.receive_maximum) to bound it",
                self.held.held,
            )
        self._inbox.put(message)

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
    def stats(self) -> IngestStats:
        self._stats.db_retries = self._committer.retries
        return self._stats

    @property
    def backlog(self) -> int:
        return self._inbox.qsize()

    # -- the two loops ------------------------------------------------------------------

    def _collect(self) -> tuple[list[RawMessage], bool]:
        """The next batch of messages; True when the stop marker was reached.

        No batch (``[]``) after a second without messages, so that the build loop can
        checkpoint detector state on a timer while no message arrives.
        """
        try:
            first = self._inbox.get(timeout=IDLE_TICK_S)
        except queue.Empty:
            return [], False
        if first is _STOP:
            return [], True
        assert isinstance(first, RawMessage)
        messages = [first]
        limit = self._settings.batch_max_messages
        max_bytes = self._settings.batch_max_bytes
        size = first.size
        deadline = time.monotonic() + self._settings.batch_max_wait_ms / 1000
        get = self._inbox.get
        get_nowait = self._inbox.get_nowait
        while len(messages) < limit and size < max_bytes:
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
            assert isinstance(item, RawMessage)
            messages.append(item)
            size += item.size
        return messages, False

    def _build_loop(self) -> None:
        frozen_devices = 0
        try:
            while True:
                messages, stop = self._collect()
                # Idle: a batch of checkpoints alone once some are due, so a burst followed
                # by silence is saved too (a SIGKILL then would lose the warm-up).
                if messages or stop or self._builder.checkpoint_due():
                    for batch in self._build_with_retry(messages, final=stop):
                        # Decoded, a message takes far more room than its bytes (a reading
                        # costs ~ROW_BYTES as a row): that is bounded too, until written.
                        if not self._reserve_decoded(batch):
                            return
                        self._hand_over(batch)
                if stop:
                    break
                # Monitors live as long as the worker; once many new ones exist, take them
                # out of the cyclic collector's sight, or every full collection walks all
                # of them (pauses of hundreds of milliseconds at 10,000 devices).
                devices = self._builder.monitored_devices
                if devices - frozen_devices >= FREEZE_EVERY_DEVICES:
                    gc.freeze()
                    frozen_devices = devices
        except CommitAbandoned:
            log.warning("stopping while the database is away; the broker keeps the rest")
        except Exception:
            log.exception("the ingest builder failed; messages stay unacknowledged")
            raise
        finally:
            self._hand_over(_STOP)

    def _writer_gone(self) -> bool:
        """Stopping, and the writer has left (it does when the database fails then)."""
        writer_dead = len(self._threads) > 1 and not self._threads[1].is_alive()
        return self._stopping.is_set() and writer_dead

    def _until_writer_gone(self, attempt: Callable[[float], bool]) -> bool:
        """Try ``attempt(timeout)`` until it succeeds; False if the writer left meanwhile."""
        while not attempt(0.5):
            if self._writer_gone():
                return False
        return True

    def _reserve_decoded(self, batch: Batch) -> bool:
        """Wait until the batch's rows fit the decoded budget; False when stopping for good."""
        batch.charged = ROW_BYTES * len(batch.rows)
        return self._until_writer_gone(lambda t: self.decoded.acquire(batch.charged, t))

    def _hand_over(self, item: Batch | object) -> None:
        """Queue for the writer, unless it has left."""

        def offer(timeout: float) -> bool:
            try:
                self._outbox.put(item, timeout=timeout)
            except queue.Full:
                return False
            return True

        self._until_writer_gone(offer)

    def _write_loop(self) -> None:
        while True:
            item = self._outbox.get()
            if item is _STOP:
                return
            assert isinstance(item, Batch)
            try:
                result = self._committer.commit(item)
            except CommitAbandoned:
                log.warning(
                    "stopping while the database is away: %d messages stay unacknowledged, "
                    "and the broker delivers them again",
                    len(item.messages),
                )
                return
            # Released before the acks: each ack lets the broker send another message, which
            # must not find this batch still counted (the held bytes would reach twice the
            # broker's window).
            self.held.release(item.size)
            self.decoded.release(item.charged)
            for message in item.messages:
                self._ack(message)
            committed_at = time.time()
            self.last_commit_at = committed_at
            self._stats.add(len(item.messages), len(item.rows), result)
            if result.faults.tickets_opened:
                log.info(
                    "opened proactive ticket(s) %s for fault(s) %s",
                    result.faults.tickets_opened,
                    result.faults.faults_opened,
                )
            for observer in self._observers:
                observer(item, result, committed_at)

    def _build_with_retry(self, messages: list[RawMessage], *, final: bool) -> list[Batch]:
        """Build a batch, waiting out a database outage (device and state look-ups).

        Safe to repeat: the look-ups come before any detector sees a reading. Should the
        builder fail on the batch for any other reason, each message is built alone, and
        one that still fails becomes a dead letter: the loop goes on.
        """
        held = len(messages)
        try:
            return [
                self._committer.until_reachable(
                    lambda: self._builder.build(messages, final=final), held
                )
            ]
        except CommitAbandoned:
            raise
        except Exception:
            log.exception("building a batch failed; building its messages one by one")
        last = len(messages) - 1
        return [self._build_alone(m, final=final and i == last) for i, m in enumerate(messages)]

    def _build_alone(self, message: RawMessage, *, final: bool) -> Batch:
        try:
            return self._committer.until_reachable(
                lambda: self._builder.build([message], final=final), 1
            )
        except CommitAbandoned:
            raise
        except Exception as exc:
            return Batch([message], rejections=[processing_error(message, exc)])
