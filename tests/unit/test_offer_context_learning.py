"""The learner with context beats a context-free one where segments prefer different
categories (the simulator's tastes, :mod:`simulators.store_world`).

Seeded and deterministic: shoppers of four segments with a purchase history drawn from
their segment's base rates (summed by the same function that keeps the profile in
PostgreSQL), entering a zone where every campaign is a candidate; a shopper redeems with
the simulator's probability for their segment and the campaign. The same stream of
shoppers and the same random draws go to both learners; only the features differ.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from crm_core.campaigns.context import promoted_categories, segment
from crm_core.campaigns.learner import OfferLearner, reward
from crm_core.campaigns.model import Campaign, Context, History
from crm_core.campaigns.spend import by_category
from simulators.shoppers import SEGMENTS
from simulators.store_world import World, demo_world

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ROUNDS = 4000
SHOPPERS = 200


def _campaigns(world: World) -> list[Campaign]:
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=30)
    out = []
    for n, c in enumerate(world.campaigns, start=1):
        out.append(Campaign(
            n, c.code, c.name, "promotion", c.message, start, end, (), c.categories, (),
            c.discount_percent, c.value_cents, c.cost_cents, 10**9, 0, 10**6, 0, 0, 10**6, 1800,
        ))  # fmt: skip
    return out


def _history(world: World, segment_name: str, rng: random.Random) -> dict[str, tuple[int, int]]:
    """A dozen earlier trips (fortnightly, within the profile's six months): each promoted
    category bought at the segment's base rate, at the price of one of its products, plus
    the everyday basket."""
    lines: list[tuple[str, int]] = []
    for _ in range(12):
        lines.append(("groceries", rng.randint(800, 6000)))
        for category, p in sorted(world.base[segment_name].items()):
            if rng.random() < p:
                prices = [c.price_cents for c in world.campaigns if category in c.categories]
                lines.append((category, rng.choice(prices)))
    return by_category(lines)


def _run(context: bool) -> float:
    """Mean net reward (euros per offer) of a learner over the rounds."""
    world = demo_world()
    campaigns = _campaigns(world)
    specs = {c.id: world.campaign(c.code) for c in campaigns}
    promoted = promoted_categories([c.categories for c in campaigns])
    people = random.Random(7)
    shoppers = [
        (seg, _history(world, seg, people))
        for seg in (people.choice(SEGMENTS) for _ in range(SHOPPERS))
    ]
    learner = OfferLearner(alpha=1.0, explore=0.1, seed=11, shared=False, context=context)
    stream, luck = random.Random(13), random.Random(17)
    total = 0.0
    for n in range(ROUNDS):
        seg, spend = shoppers[stream.randrange(SHOPPERS)]
        ctx = Context(n, 1, promoted, T0 + timedelta(seconds=n), 0.0, True,
                      stream.choice((9, 12, 16, 19)))  # fmt: skip
        choice = learner.choose(campaigns, ctx, History(purchases=spend), promoted)
        spec = specs[choice.campaign.id]
        redeemed = luck.random() < world.redeem_p(seg, spec)
        value = reward(redeemed, spec.value_cents, spec.cost_cents)
        learner.learn(choice.campaign.id, choice.features, value)
        total += value
    return total / ROUNDS


def test_the_segment_is_found_in_the_purchase_history() -> None:
    world = demo_world()
    rng = random.Random(3)
    promoted = promoted_categories([c.categories for c in world.campaigns])
    found = {s: [segment(_history(world, s, rng), promoted) for _ in range(50)] for s in SEGMENTS}
    # Gourmets' money goes mostly to wine and home owners' to spare parts; families' and
    # students' to dairy and bakery. Not one to one: a segment is a tendency, which is why
    # the shares go to the learner too.
    assert max(set(found["gourmet"]), key=found["gourmet"].count) == "wine"
    assert max(set(found["home_owner"]), key=found["home_owner"].count) == "spare_parts"
    for s in ("family", "student"):
        assert sum(found[s].count(c) for c in ("dairy", "bakery")) >= 40


def test_the_learner_with_context_beats_the_context_free_one() -> None:
    with_context = _run(context=True)
    without = _run(context=False)
    # Measured: about 1.58 EUR per offer with context, 0.86 without. For scale: the best
    # campaign per segment, were segments known exactly, earns about 3.0; the best single
    # campaign (cheese) about 1.2. Segments found from a dozen trips are a tendency, not
    # the truth (a home owner's few filters can be outnumbered by dairy), hence the gap.
    assert without < 1.1
    assert with_context > 1.4
    assert with_context > 1.5 * without
    assert _run(context=True) == with_context  # deterministic
