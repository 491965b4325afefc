"""The device registry as ingest sees it: serial -> (id, type), with a cache in front.

Ingest looks a device up for every message, so answers are cached; an unknown serial is
remembered for a short while too, so that a flood from an unregistered device costs one
query per ``negative_ttl_s``, not one per message. Serials come from the network, so the
unknown ones are kept in a bounded LRU cache with a time to live (cachetools' ``TTLCache``):
a million made-up serials cost at most ``negative_size`` entries. Known devices are
registered ones, bounded by the registry itself.

A device registered while ingest runs must not wait out that time to live: the registry's
writers send a notification (:mod:`devices.records`), a listener thread passes the serial
to :meth:`DeviceDirectory.invalidate`, and the next lookup asks the database again. The
listener only enqueues; the cache itself is touched by the ingest thread alone.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import psycopg
from cachetools import TTLCache
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel.errors import database_errors


@dataclass(frozen=True, slots=True)
class DeviceRef:
    id: int
    serial: str
    device_type: str


class DeviceSource(Protocol):
    """Where the registry's answers come from (PostgreSQL, or a fake in unit tests)."""

    def fetch(self, serials: Iterable[str]) -> list[DeviceRef]: ...

    def fetch_all(self) -> list[DeviceRef]: ...


class DeviceDirectory:
    """Cached lookups of devices by serial."""

    def __init__(
        self,
        source: DeviceSource,
        *,
        negative_ttl_s: float = 30.0,
        negative_size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._known: dict[str, DeviceRef] = {}
        self._unknown: TTLCache[str, bool] = TTLCache(negative_size, negative_ttl_s, timer=clock)
        # Serials to forget, from other threads (None: forget every unknown answer).
        self._invalidated: queue.SimpleQueue[str | None] = queue.SimpleQueue()

    def preload(self) -> int:
        for ref in self._source.fetch_all():
            self._known[ref.serial] = ref
        return len(self._known)

    def resolve(self, serials: Iterable[str]) -> dict[str, DeviceRef]:
        """The known devices among ``serials``; one query for all the cache misses."""
        found: dict[str, DeviceRef] = {}
        missing: list[str] = []
        self._apply_invalidations()
        unknown = self._unknown
        for serial in serials:
            ref = self._known.get(serial)
            if ref is not None:
                found[serial] = ref
            elif serial not in unknown:
                missing.append(serial)
        if missing:
            for ref in self._source.fetch(missing):
                self._known[ref.serial] = ref
                found[ref.serial] = ref
            for serial in missing:
                if serial not in found:
                    unknown[serial] = True
        return found

    @property
    def unknown_cached(self) -> int:
        """Unknown serials remembered now."""
        return len(self._unknown)

    def forget(self, serial: str) -> None:
        """Drop a cached answer (a device was registered or changed)."""
        self._known.pop(serial, None)
        self._unknown.pop(serial, None)

    def invalidate(self, serial: str | None) -> None:
        """Forget ``serial`` (None: every unknown answer) before the next lookup; safe to
        call from any thread."""
        self._invalidated.put(serial)

    def _apply_invalidations(self) -> None:
        while True:
            try:
                serial = self._invalidated.get_nowait()
            except queue.Empty:
                return
            if serial is None:
                self._unknown.clear()
            else:
                self.forget(serial)


class PostgresDeviceSource:
    def __init__(self, pool: ConnectionPool[psycopg.Connection[TupleRow]]) -> None:
        self._pool = pool

    def fetch(self, serials: Iterable[str]) -> list[DeviceRef]:
        with database_errors(), self._pool.connection(timeout=5.0) as conn:
            rows = conn.execute(
                "SELECT id, serial, device_type FROM devices WHERE serial = ANY(%s)",
                (list(serials),),
            ).fetchall()
        return [DeviceRef(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def fetch_all(self) -> list[DeviceRef]:
        with self._pool.connection() as conn:
            rows = conn.execute("SELECT id, serial, device_type FROM devices").fetchall()
        return [DeviceRef(int(r[0]), str(r[1]), str(r[2])) for r in rows]
