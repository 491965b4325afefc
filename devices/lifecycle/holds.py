"""Readings that retention must keep: a cold-chain logger's readings during a shipment leg.

The readings a logger took while it travelled with a leg are that leg's temperature
history, a traceability record. FSMA 204 (21 CFR 1.1455) asks for traceability records to
be kept for 24 months, and a recall or an investigation needs them for as long as it runs,
whatever their age. So a logger's readings within its assignment window are held while:

* the leg has not arrived, or the logger is still assigned (open window);
* the leg arrived less than ``traceability_retention_days`` ago;
* a lot the leg carried is in a recall that is proposed or approved, or was closed less
  than ``traceability_retention_days`` ago (the recall's own record keeping);
* a lot the leg carried has an open investigation (complaints).

Outside those windows a logger's readings are ordinary readings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

_HELD = """
SELECT a.device_id, a.from_ts, COALESCE(a.to_ts, 'infinity'::timestamptz)
  FROM logger_assignments a
  JOIN shipment_legs l ON l.id = a.leg_id
 WHERE a.to_ts IS NULL
    OR l.arrived_at IS NULL
    OR l.arrived_at >= %(kept_since)s
    OR EXISTS (SELECT 1
                 FROM leg_lots ll
                 JOIN recall_lots rl ON rl.lot_id = ll.lot_id
                 JOIN recalls r ON r.id = rl.recall_id
                WHERE ll.leg_id = l.id
                  AND (r.status IN ('proposed', 'approved') OR r.closed_at >= %(kept_since)s))
    OR EXISTS (SELECT 1
                 FROM leg_lots ll
                 JOIN investigations i ON i.lot_id = ll.lot_id
                WHERE ll.leg_id = l.id AND i.status = 'open')
 ORDER BY a.device_id, a.from_ts
"""


@dataclass(frozen=True, slots=True)
class Hold:
    """A device's readings in [start, end] are kept."""

    device_id: int
    start: datetime
    end: datetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and self.end >= start


def held_windows(conn: psycopg.Connection[TupleRow], kept_since: datetime) -> list[Hold]:
    """Every window of readings held for traceability as of ``kept_since`` (now minus the
    traceability retention)."""
    rows = conn.execute(_HELD, {"kept_since": kept_since}).fetchall()
    return [Hold(device_id, start, end) for device_id, start, end in rows]
