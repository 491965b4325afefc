"""A demo story on a thread of its own: started and stopped with the demo, its failure
logged rather than raised, and held back until the fleet's first ticket so that it does
not slow the fleet's replay."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import ExitStack

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


class StoryThread:
    """Subclasses set ``name`` and write :meth:`story`, checking ``self._stop``."""

    name = "story"

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def start_in(self, stack: ExitStack) -> None:
        """Start, and stop with ``stack``."""
        self.start()
        stack.callback(self.stop)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        try:
            self.story()
        except Exception:
            log.exception("the %s story stopped", self.name)

    def story(self) -> None:
        raise NotImplementedError

    def wait_for_a_ticket(self, sql: str, timeout_s: float = 40.0) -> None:
        """Until ``sql`` finds a row (the fleet's first ticket), ``timeout_s`` or a stop."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self._stop.wait(1.0):
            with self._pool.connection() as conn:
                if conn.execute(sql).fetchone():
                    return
