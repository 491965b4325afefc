"""The event ingest publishes once a batch's readings are written (same transaction).

Handlers that judge readings as they arrive (the cold-chain evaluation of a truck leg) take
it; ingest publishes it only when some handler is registered, and hands over its own row
list (no copy): handlers read it and must not change it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crm_core.kernel.events import Event

# device_id, metric_id, device time, value, receive time (UTC epoch seconds)
StoredRow = tuple[int, int, float, float, float]


@dataclass(frozen=True, slots=True, eq=False)
class ReadingsStored(Event):
    """Rows of a batch just merged into ``readings`` (duplicates included)."""

    rows: Sequence[StoredRow]
