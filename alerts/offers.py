"""Zone entry -> offer: the handler that turns presence events into offer decisions.

Registered by ``careline.bootstrap`` on the presence worker, so it runs in the transaction
that recorded the zone entries: the entries, their decisions and the outbox rows commit
together, and a redelivered sightings message (no new entry) decides nothing twice. The
worker hands over the events of a whole batch of messages at once; they are decided
together (:func:`crm_core.campaigns.service.decide_offers`). Exits are recorded by presence
and need no offer. A visit still in its zone whose dwell reaches a campaign's
``min_dwell_s`` is decided once more, for the campaigns that ask for a dwell.

Slow-changing data is cached per rule (per process): zones and stores (which are only
ever added: a new id is a miss) for ``DIRECTORY_TTL_S``; campaign definitions for
``CAMPAIGNS_TTL_S`` and only while ``(count, max id)`` of ``campaigns`` is unchanged (one
index-only query per batch), so a campaign created by the API counts from the next batch.
Campaigns are never edited in place; stock and budget are never cached (see
:mod:`crm_core.campaigns.stock`). ``invalidate()`` drops both caches at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import TupleRow

from crm_core.campaigns.learner import OfferLearner
from crm_core.campaigns.model import Campaign, Limits
from crm_core.campaigns.postgres import unended_campaigns
from crm_core.campaigns.service import Decided, Entry, decide_offers
from crm_core.campaigns.stock import StockAllocator
from devices.presence.directory import Store, Zone, get_store, get_zone
from devices.presence.model import ZoneChange
from devices.presence.tracking import ZoneEvent

Connection = psycopg.Connection[TupleRow]
CATCH_UP_EVERY_S = 10.0
DIRECTORY_TTL_S = 30.0
CAMPAIGNS_TTL_S = 60.0


@dataclass
class _Cache:
    zones: dict[int, tuple[float, Zone, Store]] = field(default_factory=dict)
    campaigns: tuple[float, tuple[int, int], list[Campaign]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class OfferRule:
    """Decides an offer for each zone entry; learns from settled offers as it goes."""

    learner: OfferLearner
    limits: Limits
    holdout_percent: float
    clock: Callable[[], datetime]
    allocator: StockAllocator = field(default_factory=StockAllocator)
    decided: list[Decided] = field(default_factory=list, repr=False)
    keep_last: int = 0  # the bench and the demo keep the latest decisions to report them
    _caught_up: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cache: _Cache = field(default_factory=_Cache, repr=False)

    def invalidate(self) -> None:
        with self._cache.lock:
            self._cache.zones.clear()
            self._cache.campaigns = None

    def close(self, conn: Connection | None = None) -> None:
        """A clean stop: unused stock back to the campaigns, the learner's state saved."""
        self.allocator.release(conn)

    def _zone(self, conn: Connection, zone_id: int) -> tuple[Zone, Store]:
        now = time.monotonic()
        with self._cache.lock:
            hit = self._cache.zones.get(zone_id)
        if hit is not None and now - hit[0] < DIRECTORY_TTL_S:
            return hit[1], hit[2]
        zone = get_zone(conn, zone_id)
        store = get_store(conn, zone.store_id)
        with self._cache.lock:
            self._cache.zones[zone_id] = (now, zone, store)
        return zone, store

    def _campaigns(self, conn: Connection, at: datetime) -> list[Campaign]:
        now = time.monotonic()
        row = conn.execute("SELECT count(*), coalesce(max(id), 0) FROM campaigns").fetchone()
        version = (0, 0) if row is None else (int(row[0]), int(row[1]))
        with self._cache.lock:
            hit = self._cache.campaigns
        if hit is not None and hit[1] == version and now - hit[0] < CAMPAIGNS_TTL_S:
            return [c for c in hit[2] if c.starts_at <= at < c.ends_at]
        campaigns = unended_campaigns(conn, at)
        with self._cache.lock:
            self._cache.campaigns = (now, version, campaigns)
        return [c for c in campaigns if c.starts_at <= at < c.ends_at]

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
        wanted = [e for e in events if e.kind in (ZoneChange.ENTER, ZoneChange.DWELL)]
        if not wanted:
            return
        campaigns = self._campaigns(conn, now)
        dwell_campaigns = [c for c in campaigns if c.min_dwell_s > 0]
        entries: list[Entry] = []
        for event in wanted:
            dwell = event.dwell_seconds or 0.0
            if event.kind is ZoneChange.DWELL and not any(
                c.min_dwell_s <= dwell for c in dwell_campaigns
            ):
                continue  # no campaign waits for this much dwell: nothing to decide
            zone, store = self._zone(conn, event.zone_id)
            local = event.at.astimezone(ZoneInfo(store.hours.timezone))
            entries.append(
                Entry(
                    customer_id=event.customer_id,
                    visit_id=event.visit_id,
                    zone_id=zone.id,
                    zone_name=zone.name,
                    store_name=store.name,
                    categories=zone.categories,
                    at=event.at,
                    dwell_s=0.0 if event.kind is ZoneChange.ENTER else dwell,
                    store_open=store.hours.is_open(event.at),
                    local_hour=local.hour,
                    decided_at=now,
                    trigger="entry" if event.kind is ZoneChange.ENTER else "dwell",
                )
            )
        outcomes = decide_offers(
            conn, entries, self.learner, self.limits, holdout_percent=self.holdout_percent,
            campaigns=campaigns, allocator=self.allocator,
        )  # fmt: skip
        if self.keep_last:
            with self._lock:
                self.decided.extend(outcomes)
                del self.decided[: -self.keep_last]
