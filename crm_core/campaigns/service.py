"""Deciding the offers for a batch of zone entries: consent now, suppression, caps,
selection, outbox, in a few queries for the whole batch.

One call per batch of zone entries (or dwell moments), inside the transaction that
recorded them, so the entries and their decisions commit together. A redelivered entry
finds its decision and does nothing. The reads are set-based (the decisions already made,
every customer's consent ledger, their caps and service story: one query each for the
batch); the campaigns' definitions come from the caller (cached); stock and budget come
from this thread's reservations (:mod:`crm_core.campaigns.stock`), so no campaign row is
locked here. Decisions and pushes are written in one statement each. The offer itself goes
through the outbox (push over MQTT with an expiry): the outbox re-checks consent when it
sends, so a withdrawal between this decision and the push still wins. A ``NOTIFY
careline_outbox`` at commit wakes the push dispatcher at once.

Within a batch, each decision updates the customer's caps before the next entry is
decided, exactly as one transaction per entry did.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from crm_core.campaigns.context import FEATURES_VERSION, promoted_categories
from crm_core.campaigns.learner import OfferLearner
from crm_core.campaigns.model import (
    SERVICE_RULES,
    Campaign,
    Context,
    History,
    Limits,
    Outcome,
    campaign_stop,
    candidates,
    fitting_appliance,
    suppression,
)
from crm_core.campaigns.postgres import DecisionRow, customer_histories, record_decisions
from crm_core.campaigns.stock import Held, StockAllocator
from crm_core.consent.model import decide
from crm_core.consent.postgres import PostgresConsentLedger
from crm_core.notifications.channels.push import push_topic
from crm_core.notifications.model import Message
from crm_core.notifications.postgres import PostgresOutbox
from crm_core.notifications.wake import CHANNEL as WAKE_CHANNEL

Connection = psycopg.Connection[TupleRow]


@dataclass(frozen=True, slots=True)
class Entry:
    """A zone entry (or the moment a visit's dwell is reached), as presence reports it."""

    customer_id: int
    visit_id: int
    zone_id: int
    zone_name: str
    store_name: str
    categories: tuple[str, ...]
    at: datetime
    dwell_s: float
    store_open: bool
    local_hour: int
    decided_at: datetime  # the clock's now: when the outbox may send it
    trigger: str = "entry"  # or "dwell"


@dataclass(frozen=True, slots=True)
class Decided:
    outcome: Outcome
    rule: str
    reason: str
    campaign_id: int | None
    decision_id: int | None  # None: decided before (a redelivery)


def in_holdout(visit_id: int, percent: float) -> bool:
    """Whether this entry is in the random holdout (stable for a visit: a redelivery agrees).

    >>> sum(in_holdout(v, 10) for v in range(10_000)) in range(900, 1100)
    True
    """
    digest = hashlib.sha256(f"holdout/{visit_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 10_000 < percent * 100


def outbox_key(entry: Entry) -> str:
    suffix = "" if entry.trigger == "entry" else f"/{entry.trigger}"
    return f"offer/{entry.visit_id}{suffix}"


@dataclass
class _Draft:
    """One entry's decision before it is written (the push needs the decision's id)."""

    entry: Entry
    row: DecisionRow
    message: Message | None = None


def _row(
    entry: Entry,
    consent: tuple[int | None, str],
    outcome: Outcome,
    rule: str,
    reason: str,
    *,
    campaign: Campaign | None = None,
    detail: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
) -> DecisionRow:
    zone_event: dict[str, Any] = {
        "kind": "zone_enter" if entry.trigger == "entry" else "zone_dwell",
        "visit_id": entry.visit_id,
        "zone_id": entry.zone_id,
        "zone": entry.zone_name,
        "store": entry.store_name,
        "at": entry.at.isoformat(),
    }
    if entry.trigger != "entry":
        zone_event["dwell_s"] = entry.dwell_s
    return DecisionRow(
        at=entry.at,
        customer_id=entry.customer_id,
        visit_id=entry.visit_id,
        zone_id=entry.zone_id,
        campaign_id=None if campaign is None else campaign.id,
        outcome=outcome,
        reason=reason,
        rule=rule,
        consent_record_id=consent[0],
        outbox_key=outbox_key(entry) if outcome == "sent" else None,
        expires_at=expires_at,
        detail={"zone_event": zone_event, "consent": consent[1], **(detail or {})},
        trigger=entry.trigger,
    )


def _context(entry: Entry) -> Context:
    return Context(
        entry.customer_id,
        entry.zone_id,
        entry.categories,
        entry.at,
        entry.dwell_s,
        entry.store_open,
        entry.local_hour,
    )


@dataclass
class _Batch:
    learner: OfferLearner
    limits: Limits
    holdout_percent: float
    campaigns: list[Campaign]
    held: Held
    histories: dict[int, History]
    wanted: set[int]
    promoted: tuple[str, ...] = ()  # the valid campaigns' categories: the feature names

    def exhausted(self) -> dict[int, str]:
        """Campaigns out of units for this thread (only those some entry could receive:
        the rest fail on another rule, which is the one to report)."""
        return {c: why for c in self.wanted if (why := self.held.stop(c)) is not None}

    def select(self, entry: Entry, consent: tuple[int | None, str]) -> _Draft:
        ctx = _context(entry)
        history = self.histories[entry.customer_id]
        stop = suppression(ctx, history, self.limits)
        if stop is not None and stop.rule not in SERVICE_RULES:
            return _Draft(entry, _row(entry, consent, "suppressed", stop.rule, stop.reason))
        exhausted = self.exhausted()
        offered = _offered(self.campaigns, entry)
        options = candidates(
            offered, ctx, history, service_only=stop is not None, exhausted=exhausted
        )
        if not options:
            if stop is not None:
                return _Draft(entry, _row(entry, consent, "suppressed", stop.rule, stop.reason))
            why = {c.code: campaign_stop(c, ctx, history, exhausted) or "fits"
                   for c in offered}  # fmt: skip
            return _Draft(entry, _row(
                entry, consent, "suppressed", "no_campaign", "no campaign fits this zone entry",
                detail={"campaigns": why},
            ))  # fmt: skip
        choice = self.learner.choose(options, ctx, history, self.promoted)
        campaign = choice.campaign
        detail: dict[str, Any] = {
            "policy": choice.policy,
            "features": choice.features,
            "features_version": FEATURES_VERSION,
            "candidates": sorted(c.id for c in options),
        }
        helping = fitting_appliance(campaign, history) if campaign.kind == "service" else None
        if stop is not None:
            detail["instead_of"] = {"rule": stop.rule, "reason": stop.reason}
        if helping is not None:
            detail["appliance"] = {
                "device_type": helping.device_type,
                "model": helping.model,
                "part": helping.part,
            }
        expires_at = entry.at + timedelta(seconds=campaign.offer_ttl_s)
        if in_holdout(entry.visit_id, self.holdout_percent):
            return _Draft(entry, _row(
                entry, consent, "holdout", "holdout",
                f"random holdout ({self.holdout_percent:g} % of entries receive no offer)",
                campaign=campaign, detail=detail, expires_at=expires_at,
            ))  # fmt: skip
        text = campaign.message
        if helping is not None:
            text = f"{campaign.message} ({helping.part} for your {helping.model})"
        if stop is not None:
            rule, reason = "service_help", f"instead of a promotion ({stop.reason}): {text}"
        else:
            rule = "best_expected_value" if choice.policy == "linucb" else "exploration"
            reason = f"{campaign.name}: fits {entry.zone_name}; consent: {consent[1]}"
        self.held.spend(campaign.id)
        times = history.times_sent.get(campaign.id, 0)
        self.histories[entry.customer_id] = dataclasses.replace(
            history,
            marketing_today=history.marketing_today + 1,
            last_sent={**history.last_sent, campaign.id: entry.at},
            times_sent={**history.times_sent, campaign.id: times + 1},
        )
        row = _row(entry, consent, "sent", rule, reason, campaign=campaign, detail=detail,
                   expires_at=expires_at)  # fmt: skip
        message = Message(
            idempotency_key=outbox_key(entry),
            customer_id=entry.customer_id,
            channel="push",
            purpose="location_marketing",
            recipient=push_topic(entry.customer_id),
            subject=campaign.name,
            body=text,
            payload={
                "type": "offer",
                "campaign": campaign.code,
                "discount_percent": campaign.discount_percent,
                "zone": entry.zone_name,
                "store": entry.store_name,
            },
            expires_at=expires_at,
        )
        return _Draft(entry, row, message)


def _decided_before(conn: Connection, entries: list[Entry]) -> dict[tuple[int, str], Decided]:
    rows = conn.execute(
        "SELECT visit_id, trigger, outcome, rule, reason, campaign_id FROM offer_decisions "
        "WHERE visit_id = ANY(%s)",
        (sorted({e.visit_id for e in entries}),),
    ).fetchall()
    return {(int(r[0]), r[1]): Decided(r[2], r[3], r[4], r[5], None) for r in rows}


def decide_offers(
    conn: Connection,
    entries: list[Entry],
    learner: OfferLearner,
    limits: Limits,
    *,
    holdout_percent: float,
    campaigns: list[Campaign],
    allocator: StockAllocator,
) -> list[Decided]:
    """Decide, record and (if sent) enqueue the offers for these zone entries, in order.

    ``campaigns``: the campaigns valid now (definitions; units come from ``allocator``).
    """
    if not entries:
        return []
    before = _decided_before(conn, entries)
    fresh: list[Entry] = []
    seen: set[tuple[int, str]] = set()
    for e in entries:
        if (e.visit_id, e.trigger) not in before and (e.visit_id, e.trigger) not in seen:
            seen.add((e.visit_id, e.trigger))
            fresh.append(e)
    if not fresh:
        return [before[(e.visit_id, e.trigger)] for e in entries]
    # Consent at the moment of use: location marketing by push, or nothing at all.
    ledgers = PostgresConsentLedger(conn).histories(sorted({e.customer_id for e in fresh}))
    consents = {c: decide(records, "location_marketing", "push") for c, records in ledgers.items()}
    allowed = [e for e in fresh if consents[e.customer_id].allowed]
    since: dict[int, datetime] = {}
    for e in allowed:
        since[e.customer_id] = min(e.at, since.get(e.customer_id, e.at))
    histories = customer_histories(conn, since, limits)
    wanted, needed = _wanted(campaigns, allowed, histories)
    now = max(e.decided_at for e in entries)
    allocator.top_up(conn, wanted, needed, now)
    held = allocator.hold(conn, [c.id for c in wanted])
    batch = _Batch(
        learner, limits, holdout_percent, campaigns, held, histories, {c.id for c in wanted},
        promoted_categories([c.categories for c in campaigns]),
    )  # fmt: skip
    drafts: list[_Draft] = []
    for entry in fresh:
        consent = consents[entry.customer_id]
        cited = (None if consent.record is None else consent.record.id, consent.reason)
        if not consent.allowed:
            rule = (
                "objection" if consent.record and consent.record.action == "object" else ("consent")
            )
            drafts.append(_Draft(entry, _row(entry, cited, "suppressed", rule, consent.reason)))
            continue
        drafts.append(batch.select(entry, cited))
    return _write(conn, entries, before, drafts, held, now)


def _offered(campaigns: list[Campaign], entry: Entry) -> list[Campaign]:
    """A dwell moment is for the campaigns that wait for a dwell (the rest had the entry)."""
    if entry.trigger == "entry":
        return campaigns
    return [c for c in campaigns if c.min_dwell_s > 0]


def _wanted(
    campaigns: list[Campaign], entries: list[Entry], histories: dict[int, History]
) -> tuple[list[Campaign], dict[int, int]]:
    """The campaigns some entry could receive if units were left (whose units to hold),
    and for how many entries each."""
    plenty: dict[int, str] = {}
    wanted: dict[int, Campaign] = {}
    needed: dict[int, int] = {}
    for entry in entries:
        ctx = _context(entry)
        history = histories[entry.customer_id]
        offered = _offered(campaigns, entry)
        for c in candidates(offered, ctx, history, service_only=False, exhausted=plenty):
            wanted[c.id] = c
            needed[c.id] = needed.get(c.id, 0) + 1
    return list(wanted.values()), needed


def _write(
    conn: Connection,
    entries: list[Entry],
    before: dict[tuple[int, str], Decided],
    drafts: list[_Draft],
    held: Held,
    now: datetime,
) -> list[Decided]:
    ids = record_decisions(conn, [d.row for d in drafts])
    messages: list[Message] = []
    made: dict[tuple[int, str], Decided] = {}
    for draft in drafts:
        row = draft.row
        decision_id = ids.get((row.visit_id, row.trigger))
        made[(row.visit_id, row.trigger)] = Decided(
            row.outcome, row.rule, row.reason, row.campaign_id, decision_id
        )
        if draft.message is None:
            continue
        if decision_id is None:  # decided meanwhile by someone else: not ours to send
            assert row.campaign_id is not None
            held.unspend(row.campaign_id)
            continue
        payload = {**draft.message.payload, "offer_id": decision_id}
        messages.append(dataclasses.replace(draft.message, payload=payload))
    PostgresOutbox(conn).enqueue_many(messages, now)
    held.commit(now)
    if messages:
        conn.execute(f"NOTIFY {WAKE_CHANNEL}")  # heard at commit: the pushes go at once
    return [made.get((e.visit_id, e.trigger)) or before[(e.visit_id, e.trigger)] for e in entries]
