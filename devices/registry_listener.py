"""Word from the registry's writers to a running ingest worker: "this serial exists now".

A thread with its own connection ``LISTEN``\\s on :data:`devices.records.CHANNEL` and hands
each serial to :meth:`DeviceDirectory.invalidate`. After a lost connection it reconnects
with a growing pause and forgets every cached "unknown" answer, since notifications sent
meanwhile are lost; at worst a device then waits for the cache's time to live, as before.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from psycopg import sql

from devices.records import CHANNEL
from devices.registry import DeviceDirectory

log = logging.getLogger(__name__)

POLL_S = 0.5
MAX_PAUSE_S = 30.0


class RegistryListener:
    def __init__(self, url: str, directory: DeviceDirectory) -> None:
        self._url = url
        self._directory = directory
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="registry-listener", daemon=True)
        self.listening = threading.Event()
        self._failing = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)

    def _run(self) -> None:
        pause = 1.0
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg.Error as exc:
                if not self._failing:  # an outage is logged once, its recovery once
                    log.warning("registry listener lost its connection: %s", exc)
                    self._failing = True
                self.listening.clear()
                self._stop.wait(pause)
                pause = min(pause * 2, MAX_PAUSE_S)
                continue
            pause = 1.0
        self.listening.clear()

    def _listen(self) -> None:
        with psycopg.connect(self._url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
            self._directory.invalidate(None)  # what was missed while not listening
            self.listening.set()
            if self._failing:
                log.info("registry listener: connected again")
                self._failing = False
            while not self._stop.is_set():
                for note in conn.notifies(timeout=POLL_S):
                    self._directory.invalidate(note.payload)
