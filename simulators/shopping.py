"""Shoppers' phones and the stores' tills over MQTT: the I/O of the shopper simulation.

:func:`run_shoppers` publishes each trip's sightings as the app's backend would
(``ps/<installation>/sightings``, QoS 1) when their time comes: trips in the past are
replayed at once, later ones go out live. The phones listen on their customers' app topics
(``app/<customer>/notifications``) like the app does, and at checkout each shopper decides
what to buy from the offers on the phone (:func:`simulators.shoppers.basket`); the till
publishes the receipt (``pos/<store>/receipts``). It returns the truth: where each shopper
was, which offers reached which phone, and what each receipt redeemed, for the demo and the
tests to compare with what careline decided.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ingest.presence import installation_topic
from ingest.receipts import receipts_topic
from simulators.publisher import Publisher
from simulators.shoppers import HeldOffer, Trip, basket
from simulators.store_world import World


@dataclass(frozen=True, slots=True)
class Arrived:
    """A push as the phone got it."""

    customer_id: int
    offer: HeldOffer
    arrived_at: float
    title: str
    body: str


@dataclass
class TripTruth:
    trip: Trip
    customer_id: int
    offers: list[Arrived] = field(default_factory=list)
    receipt_id: str | None = None
    redeemed: list[int] = field(default_factory=list)


@dataclass
class SimulationTruth:
    trips: list[TripTruth] = field(default_factory=list)
    sightings_messages: int = 0
    receipts: int = 0
    stray_pushes: list[Arrived] = field(default_factory=list)  # to nobody in the simulation

    def offers(self) -> list[tuple[TripTruth, Arrived]]:
        return [(t, a) for t in self.trips for a in t.offers]


class Phones:
    """Every simulated phone's app: one MQTT session subscribed to ``app/+/notifications``."""

    def __init__(self, host: str, port: int, client_id: str = "shopper-phones") -> None:
        self._lock = threading.Lock()
        self._got: list[Arrived] = []
        self.last_arrival = 0.0
        subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self._client.on_connect = lambda c, u, f, r, p: c.subscribe("app/+/notifications", qos=1)
        self._client.on_subscribe = lambda c, u, m, r, p: subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect(host, port)
        self._client.loop_start()
        if not subscribed.wait(15):
            self.close()
            raise TimeoutError("the phones could not subscribe to app/+/notifications")

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            customer = int(message.topic.split("/")[1])
            doc = json.loads(message.payload)
            data = doc["data"]
            if doc.get("type") != "offer":
                return
            offer = HeldOffer(
                int(data["offer_id"]),
                str(data["campaign"]),
                str(data["zone"]),
                str(data["store"]),
                datetime.fromisoformat(doc["expires_at"]).timestamp(),
            )
        except (ValueError, KeyError, TypeError, IndexError):
            return  # not an offer this simulation understands (the app would ignore it too)
        now = time.time()
        with self._lock:
            if any(a.offer.offer_id == offer.offer_id for a in self._got):
                return  # QoS 1 redelivery: the app drops the second copy by its id
            self._got.append(Arrived(customer, offer, now, str(doc["title"]), str(doc["body"])))
            self.last_arrival = now

    def received(self) -> list[Arrived]:
        with self._lock:
            return list(self._got)

    def __enter__(self) -> Phones:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def run_shoppers(
    world: World,
    trips: Sequence[Trip],
    customers: dict[int, int],
    publisher: Publisher,
    phones: Phones,
    *,
    seed: int,
    stop: threading.Event,
    settle_s: float = 2.0,
    idle: Callable[[], bool] = lambda: True,
    clock: Callable[[], float] = time.time,
) -> SimulationTruth:
    """Publish the trips' sightings and receipts in time order; the truth of what happened.

    ``customers`` maps a shopper's index to the customer id careline gave them. Before a
    checkout whose time has passed (a replayed trip), it waits until the pipeline has been
    quiet for ``settle_s`` (no publish, no push), so the phone holds what was sent for it.
    """
    truth = SimulationTruth()
    by_trip = {id(trip): TripTruth(trip, customers[trip.shopper.index]) for trip in trips}
    truth.trips = list(by_trip.values())
    events: list[tuple[float, int, str, Trip, dict[str, Any] | None]] = []
    replayed_until = clock()
    for n, trip in enumerate(trips):
        for m, (at, payload) in enumerate(trip.batches):
            events.append((at, n * 10_000 + m, "sightings", trip, payload))
        # A replayed trip's checkout waits for every replayed sighting: one settle for all.
        checkout = max(trip.checkout_at, replayed_until)
        events.append((checkout, n * 10_000 + 9_999, "checkout", trip, None))
    heapq.heapify(events)
    last_publish = 0.0
    while events and not stop.is_set():
        at, _, kind, trip, body = heapq.heappop(events)
        wait = at - clock()
        if wait > 0 and stop.wait(wait):
            break
        record = by_trip[id(trip)]
        if kind == "sightings":
            assert body is not None
            publisher.publish(
                installation_topic(trip.shopper.installation), json.dumps(body).encode()
            )
            truth.sightings_messages += 1
            last_publish = clock()
            continue
        publisher.flush(10)
        deadline = clock() + 60
        while clock() < deadline and not stop.is_set():
            quiet_since = max(last_publish, phones.last_arrival)
            if clock() - quiet_since >= settle_s and idle():
                break
            stop.wait(0.2)
        started = trip.batches[0][0] if trip.batches else trip.checkout_at
        record.offers = [
            a
            for a in phones.received()
            if a.customer_id == record.customer_id
            and a.offer.store == trip.store.name
            and a.arrived_at >= started - 1
            and all(a.offer.offer_id != o.offer.offer_id for t in truth.trips for o in t.offers)
        ]
        lines, redeemed = basket(world, trip, [a.offer for a in record.offers], seed)
        record.receipt_id = f"{trip.store.code}-{int(trip.checkout_at)}-{trip.shopper.index:03d}"
        record.redeemed = redeemed
        receipt = {
            "receipt_id": record.receipt_id,
            "at": trip.checkout_at,
            "customer_id": record.customer_id,
            "total_cents": sum(int(line["amount_cents"]) for line in lines),
            "lines": lines,
        }
        publisher.publish(receipts_topic(trip.store.code), json.dumps(receipt).encode())
        truth.receipts += 1
    publisher.flush(10)
    known = {r.customer_id for r in truth.trips}
    truth.stray_pushes = [a for a in phones.received() if a.customer_id not in known]
    return truth
