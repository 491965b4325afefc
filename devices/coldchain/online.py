"""The online evaluation: a handler on ingest's ``ReadingsStored`` that re-judges every leg
whose loggers' readings just arrived, late or out of order ones included.

Only rows of the loggers' metrics count; the legs are found through the loggers'
assignments at the readings' times, and each is evaluated again from all its readings (a
few thousand rows a leg), so a buffered upload that lands hours later changes the verdict
as if it had come on time. A rule newly breached on a leg is an :class:`ExcursionFound`
event, which the recall rule (``alerts/``) turns into a proposed recall; a verdict that
does not change emits nothing, so redelivered readings cause nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_core.kernel.events import Event
from devices.coldchain.evaluation import evaluate
from devices.coldchain.postgres import (
    affected_legs,
    leg_products,
    leg_series,
    lots_over_budget,
    save_evaluation,
)
from devices.stored import ReadingsStored

TEMPERATURE = "load_temp"
DOOR = "load_door_open"


@dataclass(frozen=True, slots=True)
class ExcursionFound(Event):
    """A leg's readings broke a rule of a product it carries (newly, in this transaction)."""

    leg_id: int
    gtin: str
    rules: tuple[str, ...]  # single | cumulative | mkt | budget
    lots_over_budget: tuple[int, ...]


class LegEvaluator:
    """``ReadingsStored`` -> the affected legs evaluated again -> ``ExcursionFound``."""

    def __init__(
        self, metric_ids: dict[str, int], *, interval_s: float, clock: Callable[[], datetime]
    ) -> None:
        self._temp = metric_ids[TEMPERATURE]
        self._door = metric_ids[DOOR]
        self._interval = interval_s
        self._clock = clock

    def __call__(self, event: ReadingsStored, uow: Any) -> list[Event]:
        temp, door = self._temp, self._door
        spans: dict[int, tuple[float, float]] = {}
        for device_id, metric_id, ts, _, _ in event.rows:
            if metric_id in (temp, door):
                lo, hi = spans.get(device_id, (ts, ts))
                spans[device_id] = (min(lo, ts), max(hi, ts))
        if not spans:
            return []
        conn = uow.connection
        found: list[Event] = []
        for leg_id in affected_legs(conn, spans):
            found.extend(self.evaluate_leg(conn, leg_id))
        return found

    def evaluate_leg(self, conn: Any, leg_id: int) -> list[Event]:
        """Evaluate one leg for each product it carries; the newly breached rules as events."""
        temps, doors = leg_series(conn, leg_id, self._temp, self._door)
        now = self._clock()
        events: list[Event] = []
        for item in leg_products(conn, leg_id):
            ev = evaluate(item.product, temps, doors, interval_s=self._interval)
            save_evaluation(conn, leg_id, item.gtin, ev, now)
            over = lots_over_budget(conn, leg_id, item.gtin)
            rules = ev.breached + (("budget",) if over else ())
            if set(rules) - set(item.breached):
                events.append(
                    ExcursionFound(leg_id, item.gtin, rules, tuple(lot for lot, _, _ in over))
                )
        return events
