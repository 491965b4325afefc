"""Deciding the offer for one zone entry: consent now, suppression, caps, selection, outbox.

One call per zone entry, inside the transaction that recorded the entry, so the entry and
its decision commit together. A redelivered entry finds its decision and does nothing. The
offer itself goes through the outbox (push over MQTT with an expiry): the outbox re-checks
consent when it sends, so a withdrawal between this decision and the push still wins.
A ``NOTIFY careline_outbox`` at commit wakes the push dispatcher at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from crm_core.campaigns.learner import OfferLearner
from crm_core.campaigns.model import (
    SERVICE_RULES,
    Campaign,
    Context,
    Limits,
    Outcome,
    campaign_stop,
    candidates,
    fitting_appliance,
    suppression,
)
from crm_core.campaigns.postgres import (
    DecisionRow,
    customer_history,
    live_campaigns,
    record_decision,
    spend,
)
from crm_core.consent.postgres import PostgresConsentLedger
from crm_core.consent.service import may_send
from crm_core.notifications.channels.push import push_topic
from crm_core.notifications.model import Message
from crm_core.notifications.postgres import PostgresOutbox
from crm_core.notifications.wake import CHANNEL as WAKE_CHANNEL

Connection = psycopg.Connection[TupleRow]


@dataclass(frozen=True, slots=True)
class Entry:
    """A zone entry, as the presence context reports it."""

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


def _why_none(campaigns: list[Campaign], ctx: Context, history: Any) -> dict[str, str]:
    return {c.code: campaign_stop(c, ctx, history) or "fits" for c in campaigns}


@dataclass(frozen=True, slots=True)
class _Recorder:
    """Writes the decision for one entry, with its zone event and consent record."""

    conn: Connection
    entry: Entry
    consent_id: int | None
    consent_reason: str

    def __call__(
        self,
        outcome: Outcome,
        rule: str,
        reason: str,
        *,
        campaign: Campaign | None = None,
        detail: dict[str, Any] | None = None,
        outbox_key: str | None = None,
        expires_at: datetime | None = None,
    ) -> Decided:
        entry = self.entry
        zone_event = {
            "kind": "zone_enter",
            "visit_id": entry.visit_id,
            "zone_id": entry.zone_id,
            "zone": entry.zone_name,
            "store": entry.store_name,
            "at": entry.at.isoformat(),
        }
        row = DecisionRow(
            at=entry.at,
            customer_id=entry.customer_id,
            visit_id=entry.visit_id,
            zone_id=entry.zone_id,
            campaign_id=None if campaign is None else campaign.id,
            outcome=outcome,
            reason=reason,
            rule=rule,
            consent_record_id=self.consent_id,
            outbox_key=outbox_key,
            expires_at=expires_at,
            detail={"zone_event": zone_event, "consent": self.consent_reason, **(detail or {})},
        )
        decision_id = record_decision(self.conn, row)
        return Decided(outcome, rule, reason, row.campaign_id, decision_id)


def decide_offer(
    conn: Connection,
    entry: Entry,
    learner: OfferLearner,
    limits: Limits,
    *,
    holdout_percent: float,
) -> Decided:
    """Decide, record and (if sent) enqueue the offer for one zone entry."""
    decided = conn.execute(
        "SELECT outcome, rule, reason, campaign_id FROM offer_decisions WHERE visit_id = %s",
        (entry.visit_id,),
    ).fetchone()
    if decided is not None:
        return Decided(decided[0], decided[1], decided[2], decided[3], None)
    # Consent at the moment of use: location marketing by push, or nothing at all.
    consent = may_send(PostgresConsentLedger(conn), entry.customer_id, "location_marketing", "push")
    record = _Recorder(
        conn, entry, None if consent.record is None else consent.record.id, consent.reason
    )
    if not consent.allowed:
        rule = "objection" if consent.record and consent.record.action == "object" else "consent"
        return record("suppressed", rule, consent.reason)
    return _select(conn, entry, learner, limits, holdout_percent, record)


def _select(
    conn: Connection,
    entry: Entry,
    learner: OfferLearner,
    limits: Limits,
    holdout_percent: float,
    record: _Recorder,
) -> Decided:
    ctx = Context(
        entry.customer_id,
        entry.zone_id,
        entry.categories,
        entry.at,
        entry.dwell_s,
        entry.store_open,
        entry.local_hour,
    )
    history = customer_history(conn, entry.customer_id, entry.at, limits)
    stop = suppression(ctx, history, limits)
    if stop is not None and stop.rule not in SERVICE_RULES:
        return record("suppressed", stop.rule, stop.reason)
    campaigns = live_campaigns(conn, entry.at)
    options = candidates(campaigns, ctx, history, service_only=stop is not None)
    if not options:
        if stop is not None:
            return record("suppressed", stop.rule, stop.reason)
        return record(
            "suppressed",
            "no_campaign",
            "no campaign fits this zone entry",
            detail={"campaigns": _why_none(campaigns, ctx, history)},
        )
    choice = learner.choose(options, ctx, history)
    campaign = choice.campaign
    detail: dict[str, Any] = {
        "policy": choice.policy,
        "features": choice.features,
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
    if in_holdout(entry.visit_id, holdout_percent):
        return record(
            "holdout",
            "holdout",
            f"random holdout ({holdout_percent:g} % of entries receive no offer)",
            campaign=campaign,
            detail=detail,
            expires_at=expires_at,
        )
    key = f"offer/{entry.visit_id}"
    text = campaign.message
    if helping is not None:
        text = f"{campaign.message} ({helping.part} for your {helping.model})"
    if stop is not None:
        rule, reason = "service_help", f"instead of a promotion ({stop.reason}): {text}"
    else:
        rule = "best_expected_value" if choice.policy == "linucb" else "exploration"
        reason = f"{campaign.name}: fits {entry.zone_name}; consent: {record.consent_reason}"
    decided = record(
        "sent", rule, reason, campaign=campaign, detail=detail, outbox_key=key,
        expires_at=expires_at,
    )  # fmt: skip
    PostgresOutbox(conn).enqueue(
        Message(
            idempotency_key=key,
            customer_id=entry.customer_id,
            channel="push",
            purpose="location_marketing",
            recipient=push_topic(entry.customer_id),
            subject=campaign.name,
            body=text,
            payload={
                "type": "offer",
                "offer_id": decided.decision_id,
                "campaign": campaign.code,
                "discount_percent": campaign.discount_percent,
                "zone": entry.zone_name,
                "store": entry.store_name,
            },
            expires_at=expires_at,
        ),
        entry.decided_at,
    )
    spend(conn, campaign.id)
    conn.execute(f"NOTIFY {WAKE_CHANNEL}")  # heard at commit: the push goes at once
    return decided
