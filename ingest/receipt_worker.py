"""The receipts worker: receipts from the broker, one transaction each, acknowledged after it.

Receipts are few (one per checkout), so one thread applies them in arrival order, which
keeps acknowledgements in order too (MQTT 4.6.0-2). While the database is away a receipt is
retried with backoff, never dropped; a receipt that makes our own code fail is
dead-lettered as ``processing_error`` so that it cannot block the ones behind it.
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

from crm_core.campaigns.receipts import Recorded
from ingest.messages import RawMessage, Rejection, processing_error
from ingest.presence import dead_letter
from ingest.receipts import apply_receipt

log = logging.getLogger(__name__)
_STOP = object()


@dataclass
class ReceiptStats:
    recorded: int = 0
    redeemed: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    retries: int = 0


class ReceiptWorker:
    def __init__(self, pool: ConnectionPool[psycopg.Connection[TupleRow]]) -> None:
        self._pool = pool
        self._queue: queue.Queue[object] = queue.Queue(maxsize=10_000)
        self._ack: Callable[[RawMessage], None] = lambda message: None
        self._thread = threading.Thread(target=self._run, name="receipts", daemon=True)
        self.stats = ReceiptStats()

    def set_acknowledger(self, ack: Callable[[RawMessage], None]) -> None:
        self._ack = ack

    def deliver(self, message: RawMessage) -> None:
        """paho's callback: hand over (blocks when 10,000 wait, slowing the broker to us)."""
        self._queue.put(message)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            if message is _STOP:
                return
            assert isinstance(message, RawMessage)
            self._count(self._handle(message))
            self._ack(message)

    def _handle(self, message: RawMessage) -> Recorded | Rejection:
        delay = 0.1
        while True:
            try:
                with self._pool.connection() as conn:
                    return apply_receipt(conn, message)
            except psycopg.OperationalError as exc:
                self.stats.retries += 1
                log.warning("receipts: database unavailable (%s); retrying in %.1f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception as exc:
                log.exception("receipts: processing failed on %s", message.topic)
                rejection = processing_error(message, exc)
                with self._pool.connection() as conn:
                    dead_letter(conn, rejection)
                return rejection

    def _count(self, outcome: Recorded | Rejection) -> None:
        if isinstance(outcome, Rejection):
            self.stats.dead_letters += 1
        elif outcome.duplicate:
            self.stats.duplicates += 1
        else:
            self.stats.recorded += 1
            self.stats.redeemed += outcome.redeemed
