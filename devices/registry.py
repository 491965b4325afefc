"""The device registry as ingest sees it: serial -> (id, type), with a cache in front.

Ingest looks a device up for every message, so answers are cached; an unknown serial is
remembered for a short while too, so that a flood from an unregistered device costs one
query per ``negative_ttl_s``, not one per message. Serials come from the network, so the
unknown ones are kept in a bounded LRU cache with a time to live (cachetools' ``TTLCache``):
a million made-up serials cost at most ``negative_size`` entries. Known devices are
registered ones, bounded by the registry itself.
"""

from __future__ import annotations

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

    def preload(self) -> int:
        for ref in self._source.fetch_all():
            self._known[ref.serial] = ref
        return len(self._known)

    def resolve(self, serials: Iterable[str]) -> dict[str, DeviceRef]:
        """The known devices among ``serials``; one query for all the cache misses."""
        found: dict[str, DeviceRef] = {}
        missing: list[str] = []
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
