"""The context the offer learner sees, pure: segment, purchase history, zone, hour, dwell.

**Segment.** The CRM holds no segment column, and hand-made segments ("family",
"student") would need data we do not hold (age, household). What we do hold is what the
customer bought: the receipts' lines, each with a category and an amount, summed per
customer, category and month (``customer_category_spend``, kept by
:mod:`crm_core.campaigns.spend`, last :data:`PROFILE_MONTHS` months). The segment is the
*promoted* category (one some valid campaign is about) the customer bought most often (ties:
more spend, then alphabetical); a customer with no such purchase is ``none``. Restricting
it to promoted categories keeps the everyday basket ("groceries", which everyone buys) from
making everyone alike; counting purchases rather than euros keeps one expensive item (a
water filter, a good bottle) from outweighing a habit. It is the category-affinity
segmentation of retail CRMs, computed from our own data and explainable in one sentence.

**Purchase history**: the share of the customer's spend in each promoted category.

**Context**: the zone's promoted categories, the hour of day in four store-local buckets,
the dwell reached (for dwell-triggered decisions), whether an appliance of theirs is
failing and how many marketing messages they had today.

Each campaign is a disjoint arm of LinUCB with its own linear model over these features,
so an arm learns *which segments and histories* redeem it, not only its average.

>>> bought = {"wine": (3000, 2), "dairy": (1000, 3), "groceries": (9000, 4)}
>>> f = context_features(("dairy",), 11, 0.0, bought, ("dairy", "wine"), failing=False, recent=0)
>>> f["segment:dairy"], f["share:wine"], f["share:dairy"], f["zone:dairy"], f["hour:midday"]
(1.0, 0.75, 0.25, 1.0, 1.0)
>>> segment({}, ("dairy",))
'none'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

Features = dict[str, float]
Purchases = Mapping[str, tuple[int, int]]  # category -> (cents, lines) in the window
FEATURES_VERSION: Final = 2  # 1: bias, hour sin/cos, dwell, failing, recent (no customer)
PROFILE_MONTHS: Final = 6
HOUR_BUCKETS: Final = (("morning", 11), ("midday", 14), ("afternoon", 18), ("evening", 24))


def segment(purchases: Purchases, promoted: Sequence[str]) -> str:
    """The promoted category bought most often (ties: more spend, then alphabetical).

    >>> segment({"wine": (1490, 1), "bakery": (840, 2)}, ("bakery", "wine"))
    'bakery'
    """
    best, most = "none", (0, 0)
    for c in sorted(promoted):
        cents, lines = purchases.get(c, (0, 0))
        if lines > 0 and (lines, cents) > most:
            best, most = c, (lines, cents)
    return best


def hour_bucket(local_hour: int) -> str:
    """The store-local hour's part of the day.

    >>> [hour_bucket(h) for h in (8, 11, 13, 17, 20)]
    ['morning', 'midday', 'midday', 'afternoon', 'evening']
    """
    return next(name for name, end in HOUR_BUCKETS if local_hour < end)


def context_features(
    zone_categories: Sequence[str],
    local_hour: int,
    dwell_s: float,
    purchases: Purchases,
    promoted: Sequence[str],
    *,
    failing: bool,
    recent: int,
) -> Features:
    """The features of one zone entry (the same for every arm); ``promoted``: the
    categories of the campaigns valid now, which fixes the feature names for a while."""
    spend = {c: max(purchases.get(c, (0, 0))[0], 0) for c in promoted}
    total = sum(spend.values())
    out: Features = {"bias": 1.0}
    out[f"segment:{segment(purchases, promoted)}"] = 1.0
    for c in promoted:
        amount = spend[c]
        if amount and total:
            out[f"share:{c}"] = round(amount / total, 4)
        if c in zone_categories:
            out[f"zone:{c}"] = 1.0
    out[f"hour:{hour_bucket(local_hour)}"] = 1.0
    if dwell_s > 0:
        out["dwell"] = round(min(dwell_s / 60.0, 30.0) / 30.0, 4)
    if failing:
        out["failing"] = 1.0
    if recent:
        out["recent"] = min(recent, 3) / 3.0
    return out


def no_context(features: Features) -> Features:
    """The context-free baseline: only the bias (each arm learns its average value)."""
    return {"bias": 1.0}


def promoted_categories(category_lists: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """The categories some campaign is about, once each.

    >>> promoted_categories([("wine",), ("dairy", "wine"), ()])
    ('dairy', 'wine')
    """
    return tuple(sorted({c for cats in category_lists for c in cats}))
