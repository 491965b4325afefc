"""A small cold-chain network with a failing truck, and the truth about who was exposed.

A plant ships chilled milk and yoghurt (2-8 °C) and ambient juice to two depots; lots are
split across pallets and trucks; each depot delivers to six stores; loyalty-card customers
buy there. On one plant-to-depot leg (truck TR-12) the refrigeration unit fails for
``failure_min`` minutes: the chilled lots on it are exposed, the juice on the same truck is
not. :attr:`Scenario.truth` says which lots, stores and customers that reaches, for the
test and the demo to compare with the recall the system proposes.

Loggers report every 5 minutes but upload in hourly SenML packs, as buffering loggers do;
:meth:`Scenario.packs` can hold back the failing truck's packs to be uploaded late.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from biip.checksums import gs1_standard_check_digit

from simulators.payloads import senml_series

COMPANY = "703206"
INTERVAL_S = 300
PACK_S = 3600
FAILING_TRUCK = "TR-12"


def _with_check(digits: str) -> str:
    return digits + str(gs1_standard_check_digit(digits))


def gtin(item: int) -> str:
    return _with_check(f"0{COMPANY}{item:06d}")


def gln(location: int) -> str:
    return _with_check(f"{COMPANY}{location:06d}")


def sscc(serial: int) -> str:
    return _with_check(f"0{COMPANY}{serial:010d}")


@dataclass(frozen=True, slots=True)
class Truth:
    lots: frozenset[tuple[str, str]]  # (gtin, lot)
    stores: frozenset[str]  # GLNs
    customers: frozenset[int]  # indexes into Scenario.customer_names
    failing_logger: str


@dataclass
class Scenario:
    start: float  # epoch seconds of the first departure
    seed: int = 7
    failure_min: int = 90
    customers: int = 24
    network: dict[str, Any] = field(default_factory=dict)
    loggers: dict[str, tuple[float, float, bool]] = field(default_factory=dict)
    truth: Truth | None = None
    purchases: list[tuple[int, str, str, str, float]] = field(default_factory=list)

    def build(self) -> Scenario:
        rng = random.Random(self.seed)
        iso = _iso
        milk, yog, juice = gtin(980001), gtin(980002), gtin(980003)
        products = [
            {
                "gtin": milk,
                "name": "Fresh milk 1 L",
                "temp_class": "chilled",
                "range_min": 2,
                "range_max": 8,
                "single_limit_min": 30,
                "budget_min": 120,
            },
            {
                "gtin": yog,
                "name": "Plain yoghurt 500 g",
                "temp_class": "chilled",
                "range_min": 2,
                "range_max": 8,
                "single_limit_min": 30,
                "budget_min": 120,
            },
            {
                "gtin": juice,
                "name": "Apple juice 1 L",
                "temp_class": "ambient",
                "range_min": 0,
                "range_max": 25,
                "single_limit_min": 240,
                "budget_min": 1440,
            },
        ]
        plant, d1, d2 = gln(1), gln(2), gln(3)
        stores = [gln(100 + i) for i in range(1, 13)]
        sites = [
            {"gln": plant, "name": "Dairy plant", "kind": "plant"},
            {"gln": d1, "name": "Depot North", "kind": "depot"},
            {"gln": d2, "name": "Depot South", "kind": "depot"},
        ]
        sites += [
            {
                "gln": s,
                "name": f"Store {i + 1}",
                "kind": "store",
                "email": f"store{i + 1}@shops.example",
            }
            for i, s in enumerate(stores)
        ]
        lots = {
            "M1": milk,
            "M2": milk,
            "M3": milk,
            "Y1": yog,
            "Y2": yog,
            "J1": juice,
            "J2": juice,
        }
        lot_docs = [{"gtin": g, "lot": f"L{code}"} for code, g in lots.items()]
        t0 = self.start
        pallet = iter(range(1, 10_000))

        def cargo(codes: list[str], qty: int = 100) -> list[dict[str, Any]]:
            return [
                {"gtin": lots[c], "lot": f"L{c}", "sscc": sscc(next(pallet)), "quantity": qty}
                for c in codes
            ]

        def leg(
            seq: int,
            origin: str,
            dest: str,
            truck: str,
            dep: float,
            hours: float,
            codes: list[str],
            logger: str,
            failing: bool = False,
        ) -> dict[str, Any]:
            arr = dep + hours * 3600
            self.loggers[logger] = (dep, arr, failing)
            return {
                "seq": seq,
                "origin": origin,
                "destination": dest,
                "carrier": "ColdWay",
                "vehicle": truck,
                "departed_at": iso(dep),
                "arrived_at": iso(arr),
                "lots": cargo(codes),
                "loggers": [{"serial": logger, "from_ts": iso(dep), "to_ts": iso(arr)}],
            }

        # M2 is split: one pallet on each truck; so is Y1/Y2 by product
        shipments = [
            {
                "reference": "SH-100",
                "legs": [leg(1, plant, d1, "TR-11", t0, 6, ["M1", "M2", "Y1", "J1"], "LG-11")],
            },
            {
                "reference": "SH-101",
                "legs": [
                    leg(1, plant, d2, FAILING_TRUCK, t0, 6, ["M2", "M3", "Y2", "J2"], "LG-12", True)
                ],
            },
        ]
        north, south = ["M1", "M2", "Y1", "J1"], ["M2", "M3", "Y2", "J2"]
        deliveries: list[dict[str, Any]] = []
        carried: dict[str, set[str]] = {}
        for i, store in enumerate(stores):
            depot, pool = (d1, north) if i < 6 else (d2, south)
            codes = sorted(rng.sample(pool, 2))
            dep = t0 + 8 * 3600 + i * 600
            ref = f"SH-2{i:02d}"
            shipments.append(
                {
                    "reference": ref,
                    "legs": [leg(1, depot, store, f"VAN-{i + 1}", dep, 2, codes, f"LG-2{i:02d}")],
                }
            )
            carried[store] = set(codes)
            deliveries += [
                {
                    "gtin": lots[c],
                    "lot": f"L{c}",
                    "store": store,
                    "quantity": 40,
                    "delivered_at": iso(dep + 7200),
                    "shipment": ref,
                    "leg_seq": 1,
                }
                for c in codes
            ]
        exposed = {"M2", "M3", "Y2"}  # chilled lots on the failing truck (J2 stays in range)
        bought: set[int] = set()
        for n in range(self.customers):
            store = stores[rng.randrange(12)]
            code = rng.choice(sorted(carried[store]))
            when = t0 + 12 * 3600 + n * 900
            self.purchases.append((n, store, lots[code], f"L{code}", when))
            if code in exposed:
                bought.add(n)
        self.network = {
            "products": products,
            "sites": sites,
            "lots": lot_docs,
            "shipments": shipments,
            "deliveries": deliveries,
        }
        self.truth = Truth(
            lots=frozenset((lots[c], f"L{c}") for c in exposed),
            stores=frozenset(s for s, codes in carried.items() if codes & exposed),
            customers=frozenset(bought),
            failing_logger="LG-12",
        )
        return self

    def purchase_docs(self, customer_ids: list[int]) -> list[dict[str, Any]]:
        """Receipts for the customers (``customer_ids[n]`` is customer ``n``)."""
        return [
            {
                "customer_id": customer_ids[n],
                "receipt": f"R-{n:05d}",
                "store": store,
                "gtin": g,
                "lot": lot,
                "bought_at": _iso(when),
            }
            for n, store, g, lot, when in self.purchases
        ]

    def temperature(self, logger: str, t: float) -> float:
        dep, _, failing = self.loggers[logger]
        rng = random.Random(f"{self.seed}:{logger}:{int(t)}")
        base = 4.0 + rng.gauss(0, 0.3)
        if failing:
            fail_from = dep + 2 * 3600
            if fail_from <= t < fail_from + self.failure_min * 60:
                return round(12.0 + rng.gauss(0, 0.5), 2)
        return round(base, 2)

    def packs(self, logger: str) -> list[tuple[float, bytes]]:
        """(upload time, SenML pack) for each hour of the logger's leg."""
        dep, arr, _ = self.loggers[logger]
        out: list[tuple[float, bytes]] = []
        t = dep
        while t < arr:
            end = min(t + PACK_S, arr)
            times = [t + i * INTERVAL_S for i in range(int((end - t) // INTERVAL_S))]
            series = [
                (x, {"load_temp": self.temperature(logger, x), "load_door_open": False})
                for x in times
            ]
            out.append(
                (end, senml_series(logger, series, {"load_temp": "Cel", "load_door_open": "/"}))
            )
            t = end
        return out


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
