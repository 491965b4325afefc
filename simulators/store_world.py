"""The stores, beacons, campaigns and shoppers' tastes that the shopper simulation walks in.

Data, read by :mod:`simulators.shoppers` to plan trips and baskets, and seeded into careline
by the demo and the tests (``careline.demo.shopper_seed``), so that the beacons the phones
hear are the beacons careline knows and the campaigns they redeem are careline's.

Tastes: ``base`` is how likely a segment buys a category without an offer; ``lift`` is what
an offer of a campaign adds for that segment: the fit the learner and the uplift report
should find.

>>> world = demo_world()
>>> round(world.redeem_p("family", world.campaign("yoghurt")), 2)
0.65
>>> round(world.redeem_p("gourmet", world.campaign("yoghurt")), 2)
0.18
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

UUID: Final = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"  # the chain's iBeacon proximity UUID


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    code: str
    name: str
    categories: tuple[str, ...]
    minor: int


@dataclass(frozen=True, slots=True)
class StoreSpec:
    code: str
    name: str
    timezone: str
    major: int
    zones: tuple[ZoneSpec, ...]


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    code: str
    name: str
    message: str
    categories: tuple[str, ...]
    discount_percent: float
    value_cents: int
    cost_cents: int
    price_cents: int  # what a shopper pays for the product on the receipt


@dataclass(frozen=True, slots=True)
class World:
    stores: tuple[StoreSpec, ...]
    campaigns: tuple[CampaignSpec, ...]
    base: dict[str, dict[str, float]]  # segment -> category -> buys without an offer
    lift: dict[str, dict[str, float]]  # segment -> campaign -> added by the offer

    def redeem_p(self, segment: str, campaign: CampaignSpec) -> float:
        """How likely a shopper of the segment buys with this offer in hand."""
        base = max((self.base[segment].get(c, 0.0) for c in campaign.categories), default=0.0)
        return min(1.0, base + self.lift[segment].get(campaign.code, 0.0))

    def campaign(self, code: str) -> CampaignSpec:
        return next(c for c in self.campaigns if c.code == code)


def demo_world() -> World:
    """Two stores, four zones each, five campaigns, four segments."""
    zones = (
        ("dairy", "Dairy", ("dairy",)),
        ("bakery", "Bakery", ("bakery",)),
        ("wine", "Wine cellar", ("wine",)),
        ("appliances", "Appliances", ("appliances", "spare_parts")),
    )
    stores = tuple(
        StoreSpec(
            code,
            name,
            tz,
            major,
            tuple(
                ZoneSpec(z, label, cats, minor)
                for minor, (z, label, cats) in enumerate(zones, start=1)
            ),
        )
        for major, (code, name, tz) in enumerate(
            (
                ("LYON-1", "Lyon Part-Dieu", "Europe/Paris"),
                ("BER-1", "Berlin Mitte", "Europe/Berlin"),
            ),
            start=1,
        )
    )
    campaigns = (
        CampaignSpec(
            "yoghurt", "Yoghurt week", "-30 % on yoghurt today", ("dairy",), 30, 400, 40, 349
        ),
        CampaignSpec(
            "cheese", "Cheese board", "2 for 1 on aged cheese", ("dairy",), 50, 700, 90, 899
        ),
        CampaignSpec(
            "croissant", "Fresh croissants", "4 croissants for 3", ("bakery",), 25, 300, 30, 420
        ),
        CampaignSpec(
            "wine",
            "Winemaker's pick",
            "-20 % on the winemaker's pick",
            ("wine",),
            20,
            1200,
            150,
            1490,
        ),
        CampaignSpec(
            "filter",
            "Water filters",
            "-25 % on fridge water filters",
            ("spare_parts",),
            25,
            900,
            100,
            2490,
        ),
    )
    base = {
        "family": {"dairy": 0.30, "bakery": 0.30, "wine": 0.05, "spare_parts": 0.03},
        "student": {"dairy": 0.10, "bakery": 0.20, "wine": 0.05, "spare_parts": 0.01},
        "gourmet": {"dairy": 0.15, "bakery": 0.10, "wine": 0.20, "spare_parts": 0.02},
        "home_owner": {"dairy": 0.10, "bakery": 0.10, "wine": 0.08, "spare_parts": 0.10},
    }
    lift = {
        "family": {
            "yoghurt": 0.35,
            "cheese": 0.05,
            "croissant": 0.30,
            "wine": 0.02,
            "filter": 0.05,
        },
        "student": {
            "yoghurt": 0.10,
            "cheese": 0.02,
            "croissant": 0.25,
            "wine": 0.05,
            "filter": 0.0,
        },
        "gourmet": {
            "yoghurt": 0.03,
            "cheese": 0.45,
            "croissant": 0.05,
            "wine": 0.35,
            "filter": 0.02,
        },
        "home_owner": {
            "yoghurt": 0.05,
            "cheese": 0.05,
            "croissant": 0.05,
            "wine": 0.05,
            "filter": 0.40,
        },
    }
    return World(stores, campaigns, base, lift)
