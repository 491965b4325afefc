"""Zone entry -> offer: the handler that turns presence events into offer decisions.

Registered by ``careline.bootstrap`` on the presence worker, so it runs in the transaction
that recorded the zone entry: the entry, its decision and the outbox row commit together,
and a redelivered sightings message (no new entry) decides nothing twice. Exits are
recorded by presence and need no offer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import TupleRow

from crm_core.campaigns.learner import OfferLearner
from crm_core.campaigns.model import Limits
from crm_core.campaigns.service import Decided, Entry, decide_offer
from devices.presence.directory import get_store, get_zone
from devices.presence.model import ZoneChange
from devices.presence.tracking import ZoneEvent

Connection = psycopg.Connection[TupleRow]
CATCH_UP_EVERY_S = 10.0


@dataclass
class OfferRule:
    """Decides an offer for each zone entry; learns from settled offers as it goes."""

    learner: OfferLearner
    limits: Limits
    holdout_percent: float
    clock: Callable[[], datetime]
    decided: list[Decided] = field(default_factory=list, repr=False)
    keep_last: int = 0  # the bench and the demo keep the latest decisions to report them
    _caught_up: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, conn: Connection, events: list[ZoneEvent]) -> None:
        now = self.clock()
        with self._lock:
            due = (
                self._caught_up is None
                or (now - self._caught_up).total_seconds() >= CATCH_UP_EVERY_S
            )
            if due:
                self._caught_up = now
        if due:
            self.learner.catch_up(conn, now)
        for event in events:
            if event.kind is not ZoneChange.ENTER:
                continue
            zone = get_zone(conn, event.zone_id)
            store = get_store(conn, zone.store_id)
            local = event.at.astimezone(ZoneInfo(store.hours.timezone))
            entry = Entry(
                customer_id=event.customer_id,
                visit_id=event.visit_id,
                zone_id=zone.id,
                zone_name=zone.name,
                store_name=store.name,
                categories=zone.categories,
                at=event.at,
                dwell_s=0.0,
                store_open=store.hours.is_open(event.at),
                local_hour=local.hour,
                decided_at=now,
            )
            outcome = decide_offer(
                conn, entry, self.learner, self.limits, holdout_percent=self.holdout_percent
            )
            if self.keep_last:
                self.decided.append(outcome)
                del self.decided[: -self.keep_last]
