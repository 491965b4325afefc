"""What the web app is given by the composition root; it opens and closes nothing itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.settings import Settings
from crm_core.kernel.capabilities import Capabilities
from crm_core.kernel.clock import Clock, utc_now
from crm_core.kernel.events import EventBus
from devices.catalog import Catalog

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


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
    clock: Clock = utc_now
    bus: EventBus | None = None
    """The domain events' bus: use cases publish on it inside their transaction."""
