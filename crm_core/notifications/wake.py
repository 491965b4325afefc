"""Prompt delivery: a dispatcher woken by PostgreSQL ``LISTEN/NOTIFY`` instead of a timer.

A writer that needs its message out at once (an in-store offer, good for minutes) runs
``NOTIFY careline_outbox`` in the transaction that enqueues it; PostgreSQL delivers the
notification only when that transaction commits, so the row is always visible by then.
The waker, on its own autocommit connection, drains the outbox as soon as it hears one
(several notifications that arrive together cost one drain). It claims rows exactly as
the scheduled job does (``FOR UPDATE SKIP LOCKED`` with a lease), so the two never send a
row twice at the same time, and the scheduled job stays as the safety net for retries and
for a notification lost while the waker was reconnecting.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import psycopg

from crm_core.notifications.dispatcher import Dispatcher

log = logging.getLogger(__name__)
CHANNEL = "careline_outbox"


class OutboxWaker:
    def __init__(
        self, conninfo: str, dispatcher: Dispatcher, *, idle_s: float = 1.0, drains: int = 4
    ) -> None:
        self._conninfo = conninfo
        self._dispatcher = dispatcher
        self._idle_s = idle_s
        # Sending one message is a few short transactions and a PUBACK wait: several drains
        # at once (their claims never overlap: SKIP LOCKED) keep up with bursts.
        self._pool = ThreadPoolExecutor(drains, thread_name_prefix="outbox-drain")
        self._parallel = drains
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-waker", daemon=True)
        self.drains = 0

    def start(self, timeout: float = 10.0) -> OutboxWaker:
        self._thread.start()
        self._ready.wait(timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self._pool.shutdown(wait=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._ready.set()
                    self._listen(conn)
            except psycopg.OperationalError as exc:
                log.warning("outbox waker: %s; listening again in 1 s", exc)
                time.sleep(1.0)

    def _listen(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        running: set[Future[None]] = set()
        while not self._stop.is_set():
            heard = False
            for _ in conn.notifies(timeout=self._idle_s, stop_after=1):
                heard = True
            if heard:
                # Top up to ``drains`` running drains without waiting for the ones running:
                # a drain goes on while rows are due, and waiting for the longest of them
                # left the others idle (one drain did all the work under a steady stream).
                running = {f for f in running if not f.done()}
                for _ in range(self._parallel - len(running)):
                    running.add(self._pool.submit(self._drain))
                self.drains += 1

    def _drain(self) -> None:
        try:
            self._dispatcher.drain()
        except Exception:
            log.exception("outbox waker: the drain failed; the scheduled job retries")
