"""The learner against the random holdout and against a random policy, with 95 % intervals.

**Which random policy.** Every deciding process already runs one: the exploration share
of decisions (``policy = 'explore'``, :mod:`crm_core.campaigns.learner`) picks uniformly
among the candidates, on the same traffic, at the same time, under the same caps, and its
redemptions are measured exactly as the learner's. So the random policy is *measured*
rather than estimated: no inverse propensity weights (whose variance grows with the number
of candidates), no assumption that the logged propensities are right. The offline replay
(:func:`crm_core.campaigns.queries.replay_evaluation`) stays as the second, offline check.

**Which entries.** Exploration happens only when an entry has more than one candidate
campaign (with one, every policy sends the same offer), so both policies are compared on
those entries only; the assignment (``random() < explore``) is random, so the two groups
are alike but for the policy. Each policy's uplift is against the holdout entries that
policy chose a campaign for (the holdout is drawn after the choice), since a policy that
picks fitting campaigns also picks categories the customer buys anyway.

Net value: ``value - cost`` when redeemed, ``- cost`` when not (the learner's reward), in
euros per offer, with a normal interval; conversion with a Wilson interval; differences of
proportions with :func:`crm_core.campaigns.queries.uplift_interval`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

from crm_core.campaigns.queries import Z95, ReplayResult, replay_evaluation, uplift_interval

Connection = psycopg.Connection[TupleRow]
POLICIES = (("learner", "linucb"), ("random", "explore"))


def wilson(successes: int, n: int) -> tuple[float | None, float | None, float | None]:
    """A proportion in percent with its 95 % Wilson interval.

    >>> wilson(30, 100)
    (30.0, 21.9, 39.6)
    >>> wilson(0, 0)
    (None, None, None)
    """
    if not n:
        return None, None, None
    p = successes / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return round(100 * p, 1), round(100 * (centre - half), 1), round(100 * (centre + half), 1)


def mean_interval(
    mean: float | None, variance: float | None, n: int
) -> tuple[float | None, float | None, float | None]:
    """A mean with its 95 % normal interval, from the sample variance.

    >>> mean_interval(2.0, 4.0, 100)
    (2.0, 1.608, 2.392)
    """
    if mean is None or not n:
        return None, None, None
    half = Z95 * math.sqrt((variance or 0.0) / n)
    return round(mean, 3), round(mean - half, 3), round(mean + half, 3)


@dataclass(frozen=True, slots=True)
class PolicyOutcome:
    policy: str  # "learner" (LinUCB with context) or "random" (the exploration share)
    offered: int
    redeemed: int
    conversion: float | None  # percent of offers redeemed
    conversion_low: float | None
    conversion_high: float | None
    value_per_offer: float | None  # euros, net of the offer's cost
    value_low: float | None
    value_high: float | None
    holdout: int  # entries this policy chose a campaign for, held out
    holdout_conversions: int
    uplift: float | None  # percentage points against this policy's holdout
    uplift_low: float | None
    uplift_high: float | None


@dataclass(frozen=True, slots=True)
class PolicyComparison:
    learner: PolicyOutcome
    random: PolicyOutcome
    conversion_difference: float | None  # learner - random, percentage points
    conversion_difference_low: float | None
    conversion_difference_high: float | None
    value_difference: float | None  # learner - random, euros per offer
    value_difference_low: float | None
    value_difference_high: float | None
    replay: ReplayResult


def compare_policies(conn: Connection, now: datetime) -> PolicyComparison:
    """Settled entries with more than one candidate, per policy (see the module)."""
    rows = conn.execute(
        """
        SELECT d.detail->>'policy', d.outcome, count(*),
               count(*) FILTER (WHERE d.redeemed_at IS NOT NULL),
               avg(v.net), var_samp(v.net)
        FROM offer_decisions d JOIN campaigns c ON c.id = d.campaign_id,
        LATERAL (SELECT ((CASE WHEN d.redeemed_at IS NOT NULL THEN c.value_cents ELSE 0 END)
                         - c.cost_cents) / 100.0 AS net) v
        WHERE d.outcome IN ('sent', 'holdout') AND d.detail->>'policy' IN ('linucb', 'explore')
          AND jsonb_typeof(d.detail->'candidates') = 'array'
          AND jsonb_array_length(d.detail->'candidates') > 1
          AND (d.redeemed_at IS NOT NULL OR d.expires_at <= %s)
        GROUP BY 1, 2
        """,
        (now,),
    ).fetchall()
    found = {(r[0], r[1]): r[2:] for r in rows}
    outcomes: dict[str, PolicyOutcome] = {}
    stats: dict[str, tuple[float | None, float | None, int]] = {}
    for name, logged in POLICIES:
        sent = found.get((logged, "sent"), (0, 0, None, None))
        held = found.get((logged, "holdout"), (0, 0, None, None))
        n, redeemed = int(sent[0]), int(sent[1])
        mean = None if sent[2] is None else float(sent[2])
        var = None if sent[3] is None else float(sent[3])
        stats[name] = (mean, var, n)
        conv = wilson(redeemed, n)
        value = mean_interval(mean, var, n)
        lift = uplift_interval(n, redeemed, int(held[0]), int(held[1]))
        outcomes[name] = PolicyOutcome(
            name, n, redeemed, *conv, *value, int(held[0]), int(held[1]), *lift
        )
    learner, rnd = outcomes["learner"], outcomes["random"]
    diff = uplift_interval(learner.offered, learner.redeemed, rnd.offered, rnd.redeemed)
    (m1, v1, n1), (m2, v2, n2) = stats["learner"], stats["random"]
    if m1 is None or m2 is None or not n1 or not n2:
        value_diff: tuple[float | None, float | None, float | None] = (None, None, None)
    else:
        half = Z95 * math.sqrt((v1 or 0.0) / n1 + (v2 or 0.0) / n2)
        d = m1 - m2
        value_diff = (round(d, 3), round(d - half, 3), round(d + half, 3))
    return PolicyComparison(learner, rnd, *diff, *value_diff, replay_evaluation(conn, now))
