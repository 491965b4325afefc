"""Offers, pure: which campaigns a zone entry may lead to, and why not when it may not.

The pipeline (conventions §5.4) for one zone entry, each step naming the rule that stopped
it so that every decision can be explained:

1. **Customer-level suppression**, in order: consent to ``location_marketing`` by ``push``
   (checked now, with the ledger record that decided it; an objection to direct marketing
   wins over any grant); the store closed; quiet hours; the daily cap across every
   marketing message we send. These apply to every campaign.
2. **Service story**: an open ticket or a bad survey (CSAT <= 2 or NPS <= 6) in the last N
   days suppresses *promotions*; a *service* campaign for the customer's failing appliance
   (the part its diagnosis names, or a successor model) is still allowed: it helps.
3. **Candidates**: campaigns valid now, for this zone or one of its categories, with stock
   and budget left, dwell reached, not sent to this customer within ``days_apart`` days
   nor more than ``max_per_customer`` times.
4. **Arbitration**: the highest expected value p x value - cost (p from the learner).

>>> from datetime import UTC, datetime, timedelta
>>> now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
>>> yoghurt = Campaign(1, "Y", "Yoghurt", "promotion", "-20% yoghurt", now - timedelta(days=1),
...     now + timedelta(days=1), (), ("dairy",), (), 20.0, 300, 50, 10_000, 0, 10, 0, 7, 3, 1800)
>>> ctx = Context(customer_id=7, zone_id=3, categories=("dairy",), at=now, dwell_s=0,
...     store_open=True, local_hour=11)
>>> stopped = suppression(ctx, History(), Limits())
>>> stopped is None
True
>>> [c.code for c in candidates([yoghurt], ctx, History(), service_only=False)]
['Y']
>>> suppression(ctx, History(open_tickets=1), Limits()).rule
'open_ticket'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

Kind = Literal["promotion", "service"]
Outcome = Literal["sent", "suppressed", "holdout"]
SERVICE_RULES: Final = frozenset({"open_ticket", "bad_survey"})


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    code: str
    name: str
    kind: Kind
    message: str
    starts_at: datetime
    ends_at: datetime
    zone_ids: tuple[int, ...]
    categories: tuple[str, ...]
    device_types: tuple[str, ...]
    discount_percent: float
    value_cents: int
    cost_cents: int
    budget_cents: int
    spent_cents: int
    stock: int
    min_dwell_s: int
    days_apart: int
    max_per_customer: int
    offer_ttl_s: int


@dataclass(frozen=True, slots=True)
class Context:
    """The zone entry an offer would answer."""

    customer_id: int
    zone_id: int
    categories: tuple[str, ...]
    at: datetime
    dwell_s: float
    store_open: bool
    local_hour: int


@dataclass(frozen=True, slots=True)
class FailingAppliance:
    device_type: str
    model: str
    part: str


@dataclass(frozen=True, slots=True)
class History:
    """What we know of the customer that caps, suppresses or shapes the choice, read at
    decision time."""

    marketing_today: int = 0
    open_tickets: int = 0
    bad_survey_at: datetime | None = None
    last_sent: dict[int, datetime] = field(default_factory=dict)  # campaign -> last offer
    times_sent: dict[int, int] = field(default_factory=dict)
    failing: tuple[FailingAppliance, ...] = ()
    # category -> (cents, lines) bought in the last months (receipts): purchase history
    purchases: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Limits:
    per_customer_per_day: int = 2
    quiet_start_hour: int = 21  # store-local, inclusive
    quiet_end_hour: int = 8  # store-local, exclusive
    bad_survey_days: int = 14


@dataclass(frozen=True, slots=True)
class Stop:
    """Why nothing (or only service help) is offered: the rule and a sentence."""

    rule: str
    reason: str


def quiet(hour: int, limits: Limits) -> bool:
    """Whether a store-local hour is in the quiet hours (which may wrap midnight).

    >>> [quiet(h, Limits(quiet_start_hour=21, quiet_end_hour=8)) for h in (7, 8, 20, 21, 23)]
    [True, False, False, True, True]
    """
    start, end = limits.quiet_start_hour, limits.quiet_end_hour
    if start == end:
        return False
    return start <= hour < end if start < end else hour >= start or hour < end


def suppression(ctx: Context, history: History, limits: Limits) -> Stop | None:
    """The first customer-level rule that stops offers (consent is checked by the caller)."""
    if not ctx.store_open:
        return Stop("store_closed", "the store is closed")
    if quiet(ctx.local_hour, limits):
        return Stop(
            "quiet_hours",
            f"quiet hours ({limits.quiet_start_hour}:00-{limits.quiet_end_hour}:00 store time)",
        )
    if history.marketing_today >= limits.per_customer_per_day:
        return Stop(
            "daily_cap",
            f"{history.marketing_today} marketing message(s) sent today; "
            f"the cap is {limits.per_customer_per_day} a day across all channels",
        )
    if history.open_tickets:
        return Stop("open_ticket", f"{history.open_tickets} open service ticket(s)")
    if history.bad_survey_at is not None and ctx.at - history.bad_survey_at <= timedelta(
        days=limits.bad_survey_days
    ):
        return Stop(
            "bad_survey",
            f"a bad satisfaction survey on {history.bad_survey_at.date().isoformat()} "
            f"(within {limits.bad_survey_days} days)",
        )
    return None


def campaign_stop(
    campaign: Campaign,
    ctx: Context,
    history: History,
    exhausted: Mapping[int, str] | None = None,
) -> str | None:
    """Why this campaign cannot go to this entry (the first rule that fails), or None.

    ``exhausted`` (campaign id -> ``out_of_stock``/``budget_spent``) replaces the row's
    stock and budget figures where the caller holds the units (reservations).
    """
    in_zone = ctx.zone_id in campaign.zone_ids
    in_category = bool(set(campaign.categories) & set(ctx.categories))
    last = history.last_sent.get(campaign.id)
    checks = (
        ("outside_validity", not campaign.starts_at <= ctx.at < campaign.ends_at),
        (
            "other_zone",
            bool(campaign.zone_ids or campaign.categories) and not (in_zone or in_category),
        ),
        ("out_of_stock", _out_of("out_of_stock", campaign, exhausted)),
        ("budget_spent", _out_of("budget_spent", campaign, exhausted)),
        ("dwell_not_reached", ctx.dwell_s < campaign.min_dwell_s),
        ("days_apart", last is not None and ctx.at - last < timedelta(days=campaign.days_apart)),
        ("campaign_cap", history.times_sent.get(campaign.id, 0) >= campaign.max_per_customer),
        (
            "no_failing_appliance",
            campaign.kind == "service" and fitting_appliance(campaign, history) is None,
        ),
    )
    return next((rule for rule, failed in checks if failed), None)


def _out_of(rule: str, campaign: Campaign, exhausted: Mapping[int, str] | None) -> bool:
    if exhausted is not None:
        return exhausted.get(campaign.id) == rule
    if rule == "out_of_stock":
        return campaign.stock <= 0
    return campaign.spent_cents + campaign.cost_cents > campaign.budget_cents


def fitting_appliance(campaign: Campaign, history: History) -> FailingAppliance | None:
    """The customer's failing appliance a service campaign is for, if any."""
    for appliance in history.failing:
        if not campaign.device_types or appliance.device_type in campaign.device_types:
            return appliance
    return None


def candidates(
    campaigns: list[Campaign],
    ctx: Context,
    history: History,
    *,
    service_only: bool,
    exhausted: Mapping[int, str] | None = None,
) -> list[Campaign]:
    """The campaigns this entry may receive (only service help when ``service_only``)."""
    return [
        c
        for c in campaigns
        if (c.kind == "service" or not service_only)
        and campaign_stop(c, ctx, history, exhausted) is None
    ]


def expected_value(propensity: float, value_cents: int, cost_cents: int) -> float:
    """p x value - cost, in cents.

    >>> expected_value(0.25, 400, 50)
    50.0
    """
    return propensity * value_cents - cost_cents
