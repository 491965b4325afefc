"""No data: a device silent for longer than its type's ``no_data_after_s`` is a fault.

Pure: the scheduler's job reads each reporting device's last receive time and whether its
no-data fault is open (:func:`devices.faults.postgres.silences`), and this module says what
changed. The fault is on the pseudo-metric :data:`TELEMETRY` with detector :data:`NO_DATA`;
it opens at the last receive time (when the data stopped) and clears at the next one.
Devices that never reported are not judged: nothing says they should have; nor are
devices silent for more than :data:`HORIZON_S` when first judged.

>>> from devices.catalog import load_catalog
>>> quiet = Silence(device_id=3, device_type="refrigerator", last_received=0.0, fault_open=False)
>>> [type(e).__name__ for e in no_data_events([quiet], load_catalog(), now=3600.0)]
['FaultOpened']
>>> back = Silence(3, "refrigerator", last_received=7000.0, fault_open=True)
>>> [e.cleared_at for e in no_data_events([back], load_catalog(), now=7010.0)]
[7000.0]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from devices.catalog import Catalog
from devices.faults.model import FaultCleared, FaultEvent, FaultOpened

TELEMETRY: Final = "telemetry"
NO_DATA: Final = "no_data"
HORIZON_S: Final = 7 * 86400.0
"""A device silent for longer than this when first judged gets no fault: the check runs
every minute, so such a silence began while nothing was checking (the first run after an
upgrade, a scheduler that was down), and a week-old silence is a retired device more than
an urgent one. Without it the first run would open a ticket for every device ever sold."""


@dataclass(frozen=True, slots=True)
class Silence:
    device_id: int
    device_type: str
    last_received: float  # UTC epoch seconds
    fault_open: bool
    no_data_after_s: float | None = None
    """The device's own interval (a device or customer override), else its type's."""


def no_data_events(silences: Iterable[Silence], catalog: Catalog, now: float) -> list[FaultEvent]:
    """FaultOpened for devices gone silent too long, FaultCleared for those heard again.

    Score and threshold are in minutes: how long it has been silent, and how long it may be.
    """
    events: list[FaultEvent] = []
    for silence in silences:
        kind = catalog.device_types.get(silence.device_type)
        if kind is None:
            continue
        silent_s = now - silence.last_received
        after_s = silence.no_data_after_s or kind.no_data_after_s
        if after_s <= silent_s < HORIZON_S and not silence.fault_open:
            events.append(
                FaultOpened(
                    device_id=silence.device_id,
                    metric=TELEMETRY,
                    detector=NO_DATA,
                    score=silent_s / 60,
                    threshold=after_s / 60,
                    opened_at=silence.last_received,
                    evidence=(),
                )
            )
        elif silent_s < after_s and silence.fault_open:
            events.append(
                FaultCleared(silence.device_id, TELEMETRY, NO_DATA, silence.last_received)
            )
    return events
