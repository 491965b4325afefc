"""The demo's in-store story: shoppers walk through two stores with their phones.

Seeds the stores, zones, beacons, campaigns and shoppers (:mod:`careline.demo.shopper_seed`),
replays the trips of the last few minutes (all over by now) at once through the embedded
broker, waits for the receipts, prints what careline decided (offers sent, suppressed by
reason, redeemed, one example with its reason) and checks it against the simulator's truth;
then a shopper walks in live every so often, for the console's phone preview.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.demo.shopper_seed import seed_shoppers, seed_world
from careline.demo.story_thread import StoryThread
from crm_core.campaigns.queries import uplift_report
from simulators.publisher import Publisher
from simulators.shoppers import ShopperSpec, plan_shoppers, plan_trip
from simulators.shopping import Phones, SimulationTruth, run_shoppers
from simulators.store_world import World, demo_world

log = logging.getLogger(__name__)
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
SHOPPERS = 24
SEED = 5
REPLAY_S = 420  # the catch-up trips: started within the last seven minutes ...
LONGEST_TRIP_S = 200  # ... and over by now (four zones at dwell_scale 0.5, walks, checkout)
LIVE_EVERY_S = 45


def check_against_truth(truth: SimulationTruth) -> list[str]:
    """What careline did that the simulation says it should not have (empty: nothing)."""
    wrong = [
        f"a push to customer {a.customer_id}, who is not a shopper" for a in truth.stray_pushes
    ]
    for record, arrived in truth.offers():
        shopper = record.trip.shopper
        if not shopper.consented:
            wrong.append(f"{shopper.name} got an offer without consent")
        if shopper.open_ticket or shopper.bad_survey:
            wrong.append(f"{shopper.name} got a promotion despite their service story")
        if arrived.offer.zone not in {v.zone.name for v in record.trip.visits}:
            wrong.append(f"{shopper.name} got an offer for {arrived.offer.zone}, never entered")
    return wrong


class ShopperStory(StoryThread):
    name = "shoppers"

    def __init__(
        self,
        pool: Pool,
        host: str,
        port: int,
        say: Callable[[str], None],
        console_url: str,
        presence_backlog: Callable[[], int],
    ) -> None:
        super().__init__(pool)
        self._host, self._port = host, port
        self._backlog = presence_backlog
        self._say, self._console = say, console_url
        self.truth: SimulationTruth | None = None

    def story(self) -> None:
        # After the fleet's first proactive ticket (or 40 s): shoppers must not slow it.
        self.wait_for_a_ticket("SELECT 1 FROM tickets WHERE kind = 'proactive'")
        world = demo_world()
        shoppers = plan_shoppers(world, SHOPPERS, seed=SEED)
        now = datetime.now(UTC)
        with self._pool.connection() as conn:
            seed_world(conn, world, now)
            customers = seed_shoppers(conn, shoppers, now)
        consented = [s for s in shoppers if s.consented]
        self._say(
            f"shoppers: {len(shoppers)} shoppers with the app in {len(world.stores)} stores "
            f"({len(consented)} consented to location marketing, "
            f"{sum(s.open_ticket for s in shoppers)} of them with an open ticket, "
            f"{sum(s.bad_survey for s in shoppers)} with a bad survey last week); "
            "stores open around the clock, quiet hours off for the demo"
        )
        started = time.time()
        first = started - REPLAY_S
        trips = [
            plan_trip(
                world,
                s,
                first + n * (REPLAY_S - LONGEST_TRIP_S) / len(shoppers),
                SEED,
                dwell_scale=0.5,
            )
            for n, s in enumerate(shoppers)
        ]
        with (
            Publisher(self._host, self._port, client_id="careline-shopper-sim") as publisher,
            Phones(self._host, self._port, client_id="careline-shopper-phones") as phones,
        ):
            truth = run_shoppers(
                world, trips, customers, publisher, phones, seed=SEED, stop=self._stop,
                idle=self._idle,
            )  # fmt: skip
            self.truth = truth
            self._wait_for_receipts(truth)
            if self._stop.is_set():
                return
            self._report(truth, shoppers, customers, started)
            self._live(world, shoppers, customers, publisher, phones)

    def _idle(self) -> bool:
        """Every sighting applied and every offer pushed (so the phones hold theirs)."""
        if self._backlog():
            return False
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM outbox WHERE channel = 'push' AND status IN ('pending', 'sending') "
                "AND purpose = 'location_marketing' LIMIT 1"
            ).fetchone()
        return row is None

    def _wait_for_receipts(self, truth: SimulationTruth) -> None:
        ids = [t.receipt_id for t in truth.trips if t.receipt_id is not None]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self._stop.wait(0.5):
            with self._pool.connection() as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pos_receipts WHERE receipt_id = ANY(%s)", (ids,)
                ).fetchone()
            if row is not None and row[0] >= len(ids):
                return

    def _report(
        self,
        truth: SimulationTruth,
        shoppers: list[ShopperSpec],
        customers: dict[int, int],
        started: float,
    ) -> None:
        ids = sorted(customers.values())
        since = datetime.fromtimestamp(started - REPLAY_S - 60, UTC)
        with self._pool.connection() as conn:
            outcomes = conn.execute(
                "SELECT outcome, rule, count(*) FROM offer_decisions "
                "WHERE customer_id = ANY(%s) AND at >= %s GROUP BY outcome, rule "
                "ORDER BY count(*) DESC",
                (ids, since),
            ).fetchall()
            redeemed = conn.execute(
                "SELECT count(*) FILTER (WHERE outcome = 'sent'), "
                "count(*) FILTER (WHERE outcome = 'holdout') FROM offer_decisions "
                "WHERE customer_id = ANY(%s) AND at >= %s AND receipt_id IS NOT NULL",
                (ids, since),
            ).fetchone()
            example = conn.execute(
                "SELECT c.name, d.reason, d.rule, d.detail->'zone_event'->>'zone', "
                "d.detail->'zone_event'->>'store', d.customer_id FROM offer_decisions d "
                "JOIN customers c ON c.id = d.customer_id WHERE d.customer_id = ANY(%s) "
                "AND d.outcome = 'sent' AND d.at >= %s ORDER BY d.id LIMIT 1",
                (ids, since),
            ).fetchone()
            uplift = uplift_report(conn, datetime.now(UTC))
        sent = sum(int(n) for o, _, n in outcomes if o == "sent")
        holdout = sum(int(n) for o, _, n in outcomes if o == "holdout")
        suppressed = [(str(r), int(n)) for o, r, n in outcomes if o == "suppressed"]
        by_reason = ", ".join(f"{rule} {n}" for rule, n in suppressed) or "none"
        self._say(
            f"shoppers: {truth.sightings_messages} sightings messages, {truth.receipts} receipts; "
            f"offers sent {sent}, holdout {holdout}, suppressed "
            f"{sum(n for _, n in suppressed)} ({by_reason}); redeemed "
            f"{redeemed[0] if redeemed else 0} (holdout conversions "
            f"{redeemed[1] if redeemed else 0})"
        )
        if example is not None:
            self._say(
                f"shoppers: e.g. {example[0]} entering {example[3]} ({example[4]}): "
                f"{example[1]} [{example[2]}]\n"
                f"    {self._console}/console/customers/{example[5]}/offers"
            )
        wrong = check_against_truth(truth)
        verdict = (
            "every offer reached a consenting shopper without an open ticket or a bad "
            "survey, in a zone the simulation walked them through"
            if not wrong
            else "NOT as the simulation says: " + "; ".join(wrong[:5])
        )
        self._say(f"shoppers: checked against the simulation: {verdict}")
        by_customer = {customers[s.index]: s for s in shoppers}
        clean = [s for s in shoppers if s.consented and not s.open_ticket and not s.bad_survey]
        phone = by_customer[int(example[5])] if example is not None else clean[0]
        self._say(
            f"shoppers: uplift report ({len(uplift)} campaigns with settled offers so far): "
            f"{self._console}/console/uplift\n"
            f"    a shopper's phone, live: {self._console}/console/phone?installation="
            f"{phone.installation}"
        )

    def _live(
        self,
        world: World,
        shoppers: list[ShopperSpec],
        customers: dict[int, int],
        publisher: Publisher,
        phones: Phones,
    ) -> None:
        """A shopper walks in every ``LIVE_EVERY_S`` seconds, in real time."""
        rng = random.Random(SEED)
        while not self._stop.is_set():
            shopper = rng.choice(shoppers)
            trip = plan_trip(world, shopper, time.time(), SEED, dwell_scale=0.5)
            run_shoppers(world, [trip], customers, publisher, phones, seed=SEED, stop=self._stop)
            self._stop.wait(LIVE_EVERY_S)
