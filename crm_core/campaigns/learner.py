"""Selection that learns: river's LinUCB (disjoint) over the eligible campaigns.

Why LinUCBDisjoint (river 0.26.1, ``river.bandit``): each campaign is an arm with its own
Bayesian linear model of the reward given the context, so campaigns can come and go
(disjoint arms need no shared feature space per arm), the context (zone fit, time of day,
dwell, the customer's service story and history) shifts the estimate, and the upper
confidence bound explores campaigns it knows little about instead of starving them.
Context-free bandits (UCB, Thompson) would ignore the zone and the customer; a
propensity classifier alone would never explore.

The reward is the offer's value in euros: ``value - cost`` when redeemed, ``-cost`` when it
expired unused, so the bound ranks by expected value (p x value - cost; conventions §5.4).
A share of decisions (``explore``) picks uniformly among the candidates and is logged as
such: those are the unbiased logs the offline replay evaluation uses (Li et al., 2011).

The model lives in the deciding process. At start it replays every settled offer; then it
catches up on offers settled since (redeemed, or expired), at most every few seconds.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from river import bandit

from crm_core.campaigns.model import Campaign, Context, History

Connection = psycopg.Connection[TupleRow]
Features = dict[str, float]


def features(ctx: Context, history: History) -> Features:
    """The context the learner sees at one zone entry (the same for every arm).

    Small and coarse (purpose limitation, data minimisation): no identity and no location;
    the zone matters through which campaigns are candidates, and each arm's own model
    learns what its campaign is worth in this context.
    """
    angle = 2 * math.pi * ctx.local_hour / 24
    return {
        "bias": 1.0,
        "hour_sin": math.sin(angle),
        "hour_cos": math.cos(angle),
        "dwell": min(ctx.dwell_s / 60.0, 30.0) / 30.0,
        "failing": 1.0 if history.failing else 0.0,
        "recent": min(history.marketing_today, 3) / 3.0,
    }


def reward(redeemed: bool, value_cents: int, cost_cents: int) -> float:
    """Euros: what the offer earned.

    >>> reward(True, 500, 50), reward(False, 500, 50)
    (4.5, -0.5)
    """
    return ((value_cents if redeemed else 0) - cost_cents) / 100.0


@dataclass(frozen=True, slots=True)
class Choice:
    campaign: Campaign
    policy: str  # "linucb" or "explore"
    features: Features


class OfferLearner:
    """The policy, thread-safe; ``choose`` then, once the offer is settled, ``learn``."""

    def __init__(self, *, alpha: float = 1.0, explore: float = 0.1, seed: int | None = None):
        self._policy = bandit.LinUCBDisjoint(alpha=alpha, seed=seed)
        self._explore = explore
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._watermark: datetime | None = None
        self.learned = 0

    def choose(self, options: list[Campaign], ctx: Context, history: History) -> Choice:
        assert options
        context = features(ctx, history)
        by_arm = {str(c.id): c for c in options}
        with self._lock:
            if len(options) > 1 and self._rng.random() < self._explore:
                return Choice(self._rng.choice(options), "explore", context)
            arm = self._policy.pull(sorted(by_arm), context)
        return Choice(by_arm[str(arm)], "linucb", context)

    def learn(self, campaign_id: int, context: Features, value: float) -> None:
        with self._lock:
            self._policy.update(str(campaign_id), context, value)  # type: ignore[no-untyped-call]
            self.learned += 1

    def catch_up(self, conn: Connection, now: datetime) -> int:
        """Learn from the offers settled since the last call (all of them the first time)."""
        rows = settled(conn, self._watermark, now)
        for campaign_id, context, value in rows:
            self.learn(campaign_id, context, value)
        self._watermark = now
        return len(rows)


def settled(
    conn: Connection, after: datetime | None, until: datetime
) -> list[tuple[int, Features, float]]:
    """Sent offers that were redeemed, or expired unused, in (after, until]."""
    rows = conn.execute(
        "SELECT d.campaign_id, d.detail->'features', d.redeemed_at IS NOT NULL, "
        "c.value_cents, c.cost_cents FROM offer_decisions d "
        "JOIN campaigns c ON c.id = d.campaign_id WHERE d.outcome = 'sent' "
        "AND coalesce(d.redeemed_at, d.expires_at) <= %(until)s "
        "AND (%(after)s::timestamptz IS NULL OR coalesce(d.redeemed_at, d.expires_at) > %(after)s) "
        "AND d.detail ? 'features' ORDER BY coalesce(d.redeemed_at, d.expires_at)",
        {"after": after, "until": until},
    ).fetchall()
    return [(int(r[0]), dict(r[1]), reward(bool(r[2]), int(r[3]), int(r[4]))) for r in rows]


def replay(
    logged: Iterable[tuple[list[str], Features, str, float]], policy: Any
) -> tuple[float, int]:
    """Offline replay (river's ``evaluate_offline``): mean reward of ``policy`` on logs."""
    stat, used = bandit.evaluate_offline(policy, list(logged))  # type: ignore[arg-type]
    total = stat.get() or 0.0
    return (total / used if used else 0.0), used
