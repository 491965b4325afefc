"""Read models of offers: a customer's decisions with reasons, the uplift per campaign,
and the offline replay evaluation of the selection policy."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from river import bandit

from crm_core.campaigns.context import FEATURES_VERSION, no_context
from crm_core.campaigns.learner import replay, reward

Connection = psycopg.Connection[TupleRow]
Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class OfferHistoryLine:
    id: int
    at: datetime
    outcome: str
    rule: str
    reason: str
    campaign: str | None
    consent_record_id: int | None
    zone_event: dict[str, Any]
    expires_at: datetime | None
    redeemed_at: datetime | None
    delivery: str | None  # the outbox status of the push, if one was written


def offer_history(conn: Connection, customer_id: int, limit: int = 200) -> list[OfferHistoryLine]:
    rows = conn.execute(
        "SELECT d.id, d.at, d.outcome, d.rule, d.reason, c.code, d.consent_record_id, "
        "d.detail->'zone_event', d.expires_at, d.redeemed_at, o.status "
        "FROM offer_decisions d LEFT JOIN campaigns c ON c.id = d.campaign_id "
        "LEFT JOIN outbox o ON o.idempotency_key = d.outbox_key "
        "WHERE d.customer_id = %s ORDER BY d.at DESC, d.id DESC LIMIT %s",
        (customer_id, limit),
    ).fetchall()
    return [
        OfferHistoryLine(
            int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], dict(r[7] or {}), r[8], r[9], r[10]
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Uplift:
    """Conversion with the offer against the random holdout, with a 95 % interval."""

    campaign: str
    treated: int
    treated_conversions: int
    holdout: int
    holdout_conversions: int
    uplift: float | None  # percentage points
    ci_low: float | None
    ci_high: float | None


def uplift_interval(
    treated: int, converted: int, control: int, control_converted: int
) -> tuple[float | None, float | None, float | None]:
    """Difference of two proportions, in percentage points, with a 95 % Wald interval
    (Agresti-Caffo: one success and one failure added to each group, which keeps the
    interval honest for small counts and proportions near 0 or 1).

    >>> uplift_interval(200, 50, 100, 10)
    (15.0, 6.0, 23.0)
    >>> uplift_interval(10, 1, 0, 0)
    (None, None, None)
    """
    if not treated or not control:
        return None, None, None
    pt, pc = converted / treated, control_converted / control
    at, ac = (converted + 1) / (treated + 2), (control_converted + 1) / (control + 2)
    se = math.sqrt(at * (1 - at) / (treated + 2) + ac * (1 - ac) / (control + 2))
    centre = at - ac
    return (
        round(100 * (pt - pc), 1),
        round(100 * (centre - Z95 * se), 1),
        round(100 * (centre + Z95 * se), 1),
    )


def uplift_report(conn: Connection, now: datetime) -> list[Uplift]:
    """Per campaign, over entries whose conversion window has closed (or converted)."""
    rows = conn.execute(
        "SELECT c.code, "
        "count(*) FILTER (WHERE d.outcome = 'sent'), "
        "count(*) FILTER (WHERE d.outcome = 'sent' AND d.redeemed_at IS NOT NULL), "
        "count(*) FILTER (WHERE d.outcome = 'holdout'), "
        "count(*) FILTER (WHERE d.outcome = 'holdout' AND d.redeemed_at IS NOT NULL) "
        "FROM offer_decisions d JOIN campaigns c ON c.id = d.campaign_id "
        "WHERE d.outcome IN ('sent', 'holdout') "
        "AND (d.redeemed_at IS NOT NULL OR d.expires_at <= %s) "
        "GROUP BY c.code ORDER BY c.code",
        (now,),
    ).fetchall()
    report = []
    for code, treated, converted, held, held_converted in rows:
        lift, low, high = uplift_interval(treated, converted, held, held_converted)
        report.append(Uplift(code, treated, converted, held, held_converted, lift, low, high))
    return report


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """Mean reward (euros per offer) of policies replayed on the logged random choices."""

    logged: int
    linucb: float
    linucb_matched: int
    linucb_no_context: float  # the same LinUCB seeing only the bias: what context adds
    linucb_no_context_matched: int
    random: float
    random_matched: int


def replay_evaluation(conn: Connection, now: datetime, seed: int = 1) -> ReplayResult:
    """Replay (Li et al., 2011) on the offers chosen uniformly at random (``explore``),
    settled by now and logged with today's features: LinUCB with context, LinUCB without
    (the bias only) and a uniformly random policy."""
    rows = conn.execute(
        "SELECT d.campaign_id, d.detail->'features', d.detail->'candidates', "
        "d.redeemed_at IS NOT NULL, c.value_cents, c.cost_cents FROM offer_decisions d "
        "JOIN campaigns c ON c.id = d.campaign_id WHERE d.outcome = 'sent' "
        "AND d.detail->>'policy' = 'explore' AND d.detail ? 'candidates' "
        "AND d.detail->>'features_version' = %s "
        "AND (d.redeemed_at IS NOT NULL OR d.expires_at <= %s) ORDER BY d.at, d.id",
        (str(FEATURES_VERSION), now),
    ).fetchall()
    logged = [
        ([str(a) for a in r[2]], dict(r[1]), str(r[0]), reward(bool(r[3]), int(r[4]), int(r[5])))
        for r in rows
    ]
    lin, lin_used = replay(logged, bandit.LinUCBDisjoint(alpha=1.0, seed=seed))
    bare = [(arms, no_context(x), arm, y) for arms, x, arm, y in logged]
    flat, flat_used = replay(bare, bandit.LinUCBDisjoint(alpha=1.0, seed=seed))
    rnd, rnd_used = replay(logged, bandit.RandomPolicy(seed=random.Random(seed).randint(0, 9999)))
    return ReplayResult(
        len(logged), round(lin, 3), lin_used, round(flat, 3), flat_used, round(rnd, 3), rnd_used
    )
