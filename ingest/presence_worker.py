"""The presence worker: sightings from the broker, applied one message per transaction.

Each message is acknowledged to the broker only after its transaction commits (its zone
events, visits and whatever the zone-event handlers wrote, or its dead letter). While the
database is away the message is retried, never dropped; a message that makes our own code
fail is dead-lettered as ``processing_error`` so that it cannot block the ones behind it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from devices.presence.model import PresenceRules
from devices.presence.tracking import Applied
from ingest.messages import RawMessage, processing_error
from ingest.presence import ZoneEventHandler, apply_message, dead_letter

log = logging.getLogger(__name__)
_STOP = object()


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
    ) -> None:
        self._pool = pool
        self._rules = rules
        self._on_events = on_events
        self._queue: queue.Queue[object] = queue.Queue(maxsize=10_000)
        self._ack: Callable[[RawMessage], None] = lambda message: None
        self._thread = threading.Thread(target=self._run, name="presence", daemon=True)
        self.stats = PresenceStats()

    def set_acknowledger(self, ack: Callable[[RawMessage], None]) -> None:
        self._ack = ack

    def deliver(self, message: RawMessage) -> None:
        """paho's callback: hand over (blocks when 10,000 are waiting, which slows the
        broker's delivery to us rather than losing anything)."""
        self._queue.put(message)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def backlog(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, RawMessage)
            self._handle(item)
            self._ack(item)

    def _handle(self, message: RawMessage) -> None:
        delay = 0.1
        while True:
            try:
                with self._pool.connection() as conn:
                    outcome = apply_message(conn, message, self._rules, self._on_events)
            except psycopg.OperationalError as exc:
                self.stats.retries += 1
                log.warning("presence: database unavailable (%s); retrying in %.1f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            except Exception as exc:
                log.exception("presence: processing failed on %s", message.topic)
                with self._pool.connection() as conn:
                    dead_letter(conn, processing_error(message, exc))
                self.stats.dead_letters += 1
                return
            break
        if isinstance(outcome, Applied):
            if outcome.duplicate:
                self.stats.duplicates += 1
            else:
                self.stats.applied += 1
                self.stats.zone_events += len(outcome.events)
        else:
            self.stats.dead_letters += 1
