"""The presence worker: sightings from the broker, applied a batch of messages per transaction.

``threads`` threads apply messages concurrently (psycopg releases the interpreter lock
while PostgreSQL works); an installation's messages always go to the same thread, so its
sightings are applied in order. Each message is acknowledged to the broker only after its
transaction commits (its zone events, visits and whatever the zone-event handlers wrote,
or its dead letter), and acknowledgements leave in the order the messages arrived (MQTT
4.6.0-2), however the threads finish. The zone events of a batch go to the handler in one
call (offers are decided set-based for the batch). While the
database is away the message is retried, never dropped; a message that makes our own code
fail is dead-lettered as ``processing_error`` so that it cannot block the ones behind it.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from devices.presence.model import PresenceRules, ZoneChange
from devices.presence.tracking import Applied
from ingest.messages import RawMessage, Rejection, processing_error
from ingest.presence import ZoneEventHandler, apply_message, apply_messages, dead_letter

log = logging.getLogger(__name__)
_STOP = object()
BATCH = 32  # messages of one lane applied in one transaction, at most


@dataclass
class PresenceStats:
    applied: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    zone_events: int = 0
    retries: int = 0


class PresenceWorker:
    def __init__(
        self,
        pool: ConnectionPool[psycopg.Connection[TupleRow]],
        rules: PresenceRules,
        on_events: ZoneEventHandler | None = None,
        *,
        threads: int = 1,
    ) -> None:
        self._pool = pool
        self._rules = rules
        self._on_events = on_events
        self._queues: list[queue.Queue[object]] = [
            queue.Queue(maxsize=10_000) for _ in range(threads)
        ]
        self._ack: Callable[[RawMessage], None] = lambda message: None
        self._threads = [
            threading.Thread(target=self._run, args=(q,), name=f"presence-{n}", daemon=True)
            for n, q in enumerate(self._queues)
        ]
        self._order: collections.deque[list[object]] = collections.deque()
        self._order_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self.stats = PresenceStats()

    def set_acknowledger(self, ack: Callable[[RawMessage], None]) -> None:
        self._ack = ack

    def deliver(self, message: RawMessage) -> None:
        """paho's callback: hand over (blocks when 10,000 are waiting, which slows the
        broker's delivery to us rather than losing anything)."""
        slot: list[object] = [message, False]
        with self._order_lock:
            self._order.append(slot)
        lane = zlib.crc32(message.topic.encode("utf-8", "surrogatepass")) % len(self._queues)
        self._queues[lane].put(slot)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        for lane in self._queues:
            lane.put(_STOP)
        for thread in self._threads:
            thread.join(timeout)

    def backlog(self) -> int:
        return sum(lane.qsize() for lane in self._queues)

    def _run(self, lane: queue.Queue[object]) -> None:
        while True:
            first = lane.get()
            if first is _STOP:
                return
            slots = [first]
            stop = False
            while len(slots) < BATCH:
                try:
                    more = lane.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                slots.append(more)
            messages: list[RawMessage] = []
            for slot in slots:
                assert isinstance(slot, list)
                assert isinstance(slot[0], RawMessage)
                messages.append(slot[0])
            self._handle_batch(messages)
            for slot in slots:
                assert isinstance(slot, list)
                self._acknowledge(slot)
            if stop:
                return

    def _handle_batch(self, messages: list[RawMessage]) -> None:
        """What arrived together, in one transaction (one commit for many messages); if
        one of them makes the database refuse, each again on its own."""
        if len(messages) == 1:
            self._handle(messages[0])
            return
        try:
            with self._pool.connection() as conn:
                outcomes = apply_messages(conn, messages, self._rules)
                events = [e for o in outcomes if isinstance(o, Applied) for e in o.events]
                if self._on_events is not None and events:
                    self._on_events(conn, events)  # the batch's zone events decided together
        except psycopg.OperationalError:
            outcomes = None  # retried one by one, with backoff
        except Exception:
            log.debug("presence: a batch failed; applying its messages one by one")
            outcomes = None
        if outcomes is None:
            for message in messages:
                self._handle(message)
            return
        for outcome in outcomes:
            self._count(outcome)

    def _acknowledge(self, slot: list[object]) -> None:
        """Mark done; acknowledge every finished message at the head of the arrival order."""
        with self._order_lock:
            slot[1] = True
            while self._order and self._order[0][1]:
                done = self._order.popleft()[0]
                assert isinstance(done, RawMessage)
                self._ack(done)

    def _handle(self, message: RawMessage) -> None:
        delay = 0.1
        while True:
            try:
                with self._pool.connection() as conn:
                    outcome = apply_message(conn, message, self._rules, self._on_events)
            except psycopg.OperationalError as exc:
                with self._stats_lock:
                    self.stats.retries += 1
                log.warning("presence: database unavailable (%s); retrying in %.1f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            except Exception as exc:
                log.exception("presence: processing failed on %s", message.topic)
                with self._pool.connection() as conn:
                    dead_letter(conn, processing_error(message, exc))
                with self._stats_lock:
                    self.stats.dead_letters += 1
                return
            break
        self._count(outcome)

    def _count(self, outcome: Applied | Rejection) -> None:
        with self._stats_lock:
            if not isinstance(outcome, Applied):
                self.stats.dead_letters += 1
            elif outcome.duplicate:
                self.stats.duplicates += 1
            else:
                self.stats.applied += 1
                self.stats.zone_events += sum(
                    e.kind is not ZoneChange.DWELL for e in outcome.events
                )
