"""What the web app is given by the composition root; it opens and closes nothing itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.settings import Settings
from crm_core.kernel.capabilities import Capabilities
from devices.catalog import Catalog

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AppContext:
    """Everything the routes need. The caller owns the pool's lifecycle.

    ``ingest_status``, when given, is called by ``/readyz`` and its answer shown there; a
    ``"ready": False`` entry in it makes the process not ready. ``clock`` is injected so
    tests can freeze time (device online/offline status depends on it).
    """

    settings: Settings
    pool: Pool
    catalog: Catalog
    capabilities: Capabilities
    ingest_status: Callable[[], dict[str, object]] | None = None
    clock: Callable[[], datetime] = utc_now
