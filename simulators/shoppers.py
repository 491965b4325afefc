"""Simulated shoppers, pure: stores and their beacons, who the shoppers are, where they walk,
what their phones hear, and what they buy.

Everything here is deterministic for a seed and does no I/O; :mod:`simulators.shopping`
publishes it. The world (stores, zones, beacons, campaigns, tastes) is
:mod:`simulators.store_world`.

Radio: a phone scans about once a second; in a zone it hears that zone's beacon at about
-62 dBm with a few dB of jitter, sometimes nothing for a few seconds (a drop-out: a body
between phone and beacon, the OS throttling scans), and now and then the next zone's beacon
far weaker (about -88 dBm, below careline's -75 dBm entry threshold) or a beacon of another
shop that careline does not know. The app's backend posts what the phone heard in batches.

Purchases: each segment buys each category at a base rate; an offer adds a lift that
depends on how well the campaign fits the segment (a yoghurt coupon moves families, hardly
students). A shopper who got an offer and buys shows the coupon (its ``offer_id`` is on the
receipt line); one in the holdout buys at the base rate. So redemption depends on fit, and
uplift is the lift: the learner and the uplift report have something real to find.

>>> from simulators.store_world import demo_world
>>> world = demo_world()
>>> plan = plan_shoppers(world, 20, seed=3)
>>> sum(s.consented for s in plan) in range(8, 18)
True
>>> trip = plan_trip(world, plan[0], start=1_765_015_200.0, seed=3)
>>> trip.visits[0].zone.code in {z.code for s in world.stores for z in s.zones}
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Final

from simulators.store_world import UUID, StoreSpec, World, ZoneSpec

FOREIGN_UUID: Final = "e2c56db5-dffb-48d2-b060-d0f5a71096e0"  # another shop's beacons
SCAN_S: Final = 1.0
BATCH_S: Final = 5.0  # the app backend posts what the phone heard every few seconds
IN_ZONE_DBM: Final = -62.0
JITTER_DB: Final = 5.0
BLEED_DBM: Final = -88.0  # the next zone's beacon, heard faintly
DROPOUT_P: Final = 0.06  # chance per scan that a drop-out starts
SEGMENTS: Final = ("family", "student", "gourmet", "home_owner")


@dataclass(frozen=True, slots=True)
class ShopperSpec:
    """One shopper: who they are to the CRM, and what the simulation knows of them."""

    index: int
    name: str
    segment: str
    consented: bool  # location marketing by push granted in the app
    open_ticket: bool = False
    bad_survey: bool = False

    @property
    def installation(self) -> str:
        return f"shopper-app-{self.index:03d}"

    @property
    def email(self) -> str:
        return f"shopper{self.index:03d}@example.net"


_FIRST: Final = (
    "Nora",
    "Elias",
    "Maya",
    "Hugo",
    "Lea",
    "Omar",
    "Ines",
    "Theo",
    "Zoe",
    "Luca",
    "Sara",
    "Noah",
    "Emma",
    "Jules",
    "Alba",
    "Milan",
    "Rosa",
    "Yann",
    "Ada",
    "Karl",
)
_LAST: Final = (
    "Weber",
    "Moreau",
    "Rossi",
    "Keller",
    "Dubois",
    "Novak",
    "Garcia",
    "Lindqvist",
    "Bauer",
    "Lefevre",
    "Costa",
    "Janssen",
    "Marin",
    "Fischer",
    "Petit",
    "Horvat",
)


def plan_shoppers(world: World, count: int, seed: int) -> list[ShopperSpec]:
    """About 60 % consented; among them some with an open ticket or a recent bad survey."""
    rng = random.Random(seed)
    shoppers = []
    for n in range(count):
        consented = rng.random() < 0.6
        story = rng.random()
        shoppers.append(
            ShopperSpec(
                index=n + 1,
                name=f"{_FIRST[n % len(_FIRST)]} {_LAST[(n * 7 + seed) % len(_LAST)]}",
                segment=rng.choice(SEGMENTS),
                consented=consented,
                open_ticket=consented and story < 0.12,
                bad_survey=consented and 0.12 <= story < 0.22,
            )
        )
    return shoppers


@dataclass(frozen=True, slots=True)
class Visit:
    """The truth: the shopper was in ``zone`` of ``store`` from ``start`` to ``end``."""

    store: StoreSpec
    zone: ZoneSpec
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Trip:
    shopper: ShopperSpec
    store: StoreSpec
    visits: tuple[Visit, ...]
    checkout_at: float
    batches: tuple[tuple[float, dict[str, Any]], ...] = field(repr=False)  # (post at, payload)


def _beacon(uuid: str, major: int, minor: int) -> dict[str, Any]:
    return {"uuid": uuid, "major": major, "minor": minor}


def plan_trip(
    world: World, shopper: ShopperSpec, start: float, seed: int, *, dwell_scale: float = 1.0
) -> Trip:
    """A walk through two to four zones of one store, and what the phone heard on the way."""
    rng = random.Random(f"{seed}/{shopper.index}/{start}")
    store = rng.choice(world.stores)
    zones = rng.sample(store.zones, rng.randint(2, len(store.zones)))
    visits: list[Visit] = []
    heard: list[dict[str, Any]] = []
    t = start
    for zone in zones:
        dwell = rng.uniform(30, 75) * dwell_scale
        visits.append(Visit(store, zone, t, t + dwell))
        neighbours = [z for z in store.zones if z is not zone]
        quiet_until = 0.0
        scan = t
        while scan < t + dwell:
            if scan >= quiet_until and rng.random() < DROPOUT_P:
                quiet_until = scan + rng.uniform(2, 6)  # a brief drop-out
            if scan >= quiet_until:
                rssi = round(IN_ZONE_DBM + rng.gauss(0, JITTER_DB))
                heard.append(
                    {"t": round(scan, 3), "rssi": max(-100, min(-30, rssi)),
                     "ibeacon": _beacon(UUID, store.major, zone.minor)}
                )  # fmt: skip
            if rng.random() < 0.25:
                other = rng.choice(neighbours)
                heard.append(
                    {"t": round(scan + 0.3, 3), "rssi": round(BLEED_DBM + rng.gauss(0, 3)),
                     "ibeacon": _beacon(UUID, store.major, other.minor)}
                )  # fmt: skip
            if rng.random() < 0.03:
                heard.append(
                    {"t": round(scan + 0.5, 3), "rssi": -70,
                     "ibeacon": _beacon(FOREIGN_UUID, 9, rng.randint(1, 50))}
                )  # fmt: skip
            scan += SCAN_S + rng.uniform(-0.2, 0.2)
        t += dwell + rng.uniform(5, 15) * dwell_scale  # walking to the next zone
    batches: list[tuple[float, dict[str, Any]]] = []
    heard.sort(key=lambda s: float(s["t"]))
    edge = start + BATCH_S
    chunk: list[dict[str, Any]] = []
    for sighting in heard:
        if float(sighting["t"]) >= edge and chunk:
            batches.append((edge, {"sightings": chunk}))
            chunk = []
            while float(sighting["t"]) >= edge:
                edge += BATCH_S
        chunk.append(sighting)
    if chunk:
        batches.append((edge, {"sightings": chunk}))
    return Trip(shopper, store, tuple(visits), t + 20 * dwell_scale, tuple(batches))


@dataclass(frozen=True, slots=True)
class HeldOffer:
    """An offer on the shopper's phone at checkout (from the push's payload)."""

    offer_id: int
    campaign: str
    zone: str
    store: str
    expires_at: float


def basket(
    world: World, trip: Trip, offers: list[HeldOffer], seed: int
) -> tuple[list[dict[str, Any]], list[int]]:
    """The receipt's lines, and the offers they redeem.

    Per campaign the shopper walked past: with the coupon, buy at ``base + lift`` and show
    it; without, buy at ``base``. Plus the rest of the basket (no campaign's category).
    """
    rng = random.Random(f"{seed}/basket/{trip.shopper.index}/{trip.checkout_at}")
    segment = trip.shopper.segment
    lines: list[dict[str, Any]] = [
        {"sku": "BASKET", "category": "groceries", "amount_cents": rng.randint(800, 6000)}
    ]
    redeemed: list[int] = []
    held = {o.campaign: o for o in offers if o.expires_at >= trip.checkout_at}
    seen = {c for v in trip.visits for c in v.zone.categories}
    bought: set[str] = set()
    for campaign in world.campaigns:
        offer = held.get(campaign.code)
        if offer is None or not seen & set(campaign.categories):
            continue
        if rng.random() < world.redeem_p(segment, campaign):
            price = round(campaign.price_cents * (1 - campaign.discount_percent / 100))
            lines.append({"sku": campaign.code.upper(), "category": campaign.categories[0],
                          "amount_cents": price, "offer_id": offer.offer_id})  # fmt: skip
            redeemed.append(offer.offer_id)
            bought.add(campaign.categories[0])
    offered = {c for code in held for c in world.campaign(code).categories}
    for category in sorted({c for campaign in world.campaigns for c in campaign.categories}):
        if category in bought or category in offered or category not in seen:
            continue
        if rng.random() < world.base[segment].get(category, 0.0):
            lines.append({"sku": category.upper(), "category": category,
                          "amount_cents": rng.randint(200, 1500)})  # fmt: skip
    return lines, redeemed
