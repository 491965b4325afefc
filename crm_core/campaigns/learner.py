"""Selection that learns: river's LinUCB (disjoint) over the eligible campaigns.

Why LinUCBDisjoint (river 0.26.1, ``river.bandit``): each campaign is an arm with its own
Bayesian linear model of the reward given the context, so campaigns can come and go
(disjoint arms need no shared feature space per arm), the context (the customer's segment
and purchase history, the zone's categories, the hour, dwell, the service story:
:mod:`crm_core.campaigns.context`) shifts each arm's estimate, so a campaign can be worth
much to one segment and little to another, and the upper
confidence bound explores campaigns it knows little about instead of starving them.
Context-free bandits (UCB, Thompson) would ignore the zone and the customer; a
propensity classifier alone would never explore.

The reward is the offer's value in euros: ``value - cost`` when redeemed, ``-cost`` when it
expired unused, so the bound ranks by expected value (p x value - cost; conventions §5.4).
A share of decisions (``explore``) picks uniformly among the candidates and is logged as
such: those are the unbiased logs the offline replay evaluation uses (Li et al., 2011).

The model is shared through PostgreSQL (:mod:`crm_core.campaigns.learner_state`): every few
seconds a deciding process adds the offers settled since the state's watermark (redeemed,
or expired) to the one state row, under its row lock, and rebuilds its model from it. A
restart loads the row; two processes hold the same policy after each catch-up.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from river import bandit

from crm_core.campaigns.context import FEATURES_VERSION, context_features, no_context
from crm_core.campaigns.learner_state import LearnerState
from crm_core.campaigns.model import Campaign, Context, History

Connection = psycopg.Connection[TupleRow]
Features = dict[str, float]
log = logging.getLogger(__name__)


def features(
    ctx: Context, history: History, promoted: Sequence[str], *, context: bool = True
) -> Features:
    """The context the learner sees at one zone entry (the same for every arm): see
    :mod:`crm_core.campaigns.context`. Coarse (purpose limitation, data minimisation): no
    identity and no location beyond the zone's categories. ``context=False``: the bias
    alone, the context-free baseline each arm learns only its average from."""
    found = context_features(
        ctx.categories, ctx.local_hour, ctx.dwell_s, history.purchases, promoted,
        failing=bool(history.failing), recent=history.marketing_today,
    )  # fmt: skip
    return found if context else no_context(found)


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
    """The policy, thread-safe; ``choose``, and ``catch_up`` to learn from settled offers.

    With ``shared`` (the default), :meth:`catch_up` learns through the one state row in
    PostgreSQL (:mod:`crm_core.campaigns.learner_state`) and rebuilds the policy from it;
    without, it learns on its own from the settled offers since its last call (offline
    replays, tests of the policy itself).
    """

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        explore: float = 0.1,
        seed: int | None = None,
        shared: bool = True,
        writer: str = "careline",
        context: bool = True,
    ):
        self._context = context
        self._alpha = alpha
        self._seed = seed
        self._policy = bandit.LinUCBDisjoint(alpha=alpha, seed=seed)
        self._explore = explore
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._watermark: datetime | None = None
        self._shared = shared
        self._writer = writer
        self._version: tuple[datetime | None, int] | None = None
        self.learned = 0

    def choose(
        self,
        options: list[Campaign],
        ctx: Context,
        history: History,
        promoted: Sequence[str] = (),
    ) -> Choice:
        """``promoted``: the categories of the campaigns valid now (the feature names)."""
        assert options
        context = features(ctx, history, promoted, context=self._context)
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
        """Learn from the offers settled since the last call (all of them the first time);
        how many were new."""
        if not self._shared:
            rows = settled(conn, self._watermark, now)
            for campaign_id, context, value in rows:
                self.learn(campaign_id, context, value)
            self._watermark = now
            return len(rows)
        conn.execute(
            "INSERT INTO offer_learner_state (name, state, watermark, learned, writer, "
            "updated_at) VALUES ('linucb', %s, NULL, 0, %s, %s) ON CONFLICT (name) DO NOTHING",
            (Jsonb(LearnerState().as_json()), self._writer, now),
        )
        row = conn.execute(
            "SELECT state, watermark, learned FROM offer_learner_state WHERE name = 'linucb' "
            "FOR UPDATE"
        ).fetchone()
        assert row is not None
        watermark: datetime | None = row[1]
        try:
            state = LearnerState.from_json(dict(row[0]))
        except ValueError as exc:
            # An older format learned other features: its sums cannot be mixed with these.
            # Start again, from the settled offers logged with today's features.
            log.warning(
                "offer learner state reset: %s; %d offer(s) learned before are dropped, "
                "relearning from the settled offers logged with features version %d",
                exc, int(row[2] or 0), FEATURES_VERSION,
            )  # fmt: skip
            state, watermark = LearnerState(), None
        rows = settled(conn, watermark, now) if watermark is None or now > watermark else []
        for campaign_id, context, value in rows:
            state.add(str(campaign_id), context, value)
        if rows or watermark is None or now > watermark:
            watermark = now
            conn.execute(
                "UPDATE offer_learner_state SET state = %s, watermark = %s, learned = %s, "
                "writer = %s, updated_at = %s WHERE name = 'linucb'",
                (Jsonb(state.as_json()), watermark, state.learned, self._writer, now),
            )
        version = (watermark, state.learned)
        if version != self._version:
            self._rebuild(state)
            self._version = version
        return len(rows)

    def _rebuild(self, state: LearnerState) -> None:
        policy = bandit.LinUCBDisjoint(alpha=self._alpha, seed=self._seed)
        for arm, stats in state.arms.items():
            for x, y in stats.samples():
                policy.update(arm, x, y)  # type: ignore[no-untyped-call]
        with self._lock:
            self._policy = policy
            self.learned = state.learned

    def upper_bound(self, campaign_id: int, context: Features) -> float:
        """The arm's upper confidence bound in this context (to compare two learners)."""
        model = self._policy._bayes_lin_regs[str(campaign_id)]
        dist = model.predict_one(context, with_dist=True)  # type: ignore[no-untyped-call]
        return float(dist.mu + self._alpha * dist.sigma)


def settled(
    conn: Connection, after: datetime | None, until: datetime
) -> list[tuple[int, Features, float]]:
    """Sent offers that were redeemed, or expired unused, in (after, until], decided with
    this version of the features (older decisions logged other features)."""
    rows = conn.execute(
        "SELECT d.campaign_id, d.detail->'features', d.redeemed_at IS NOT NULL, "
        "c.value_cents, c.cost_cents FROM offer_decisions d "
        "JOIN campaigns c ON c.id = d.campaign_id WHERE d.outcome = 'sent' "
        "AND coalesce(d.redeemed_at, d.expires_at) <= %(until)s "
        "AND (%(after)s::timestamptz IS NULL OR coalesce(d.redeemed_at, d.expires_at) > %(after)s) "
        "AND d.detail->>'features_version' = %(version)s "
        "ORDER BY coalesce(d.redeemed_at, d.expires_at)",
        {"after": after, "until": until, "version": str(FEATURES_VERSION)},
    ).fetchall()
    return [(int(r[0]), dict(r[1]), reward(bool(r[2]), int(r[3]), int(r[4]))) for r in rows]


def replay(
    logged: Iterable[tuple[list[str], Features, str, float]], policy: Any
) -> tuple[float, int]:
    """Offline replay (river's ``evaluate_offline``): mean reward of ``policy`` on logs."""
    stat, used = bandit.evaluate_offline(policy, list(logged))  # type: ignore[arg-type]
    total = stat.get() or 0.0
    return (total / used if used else 0.0), used
