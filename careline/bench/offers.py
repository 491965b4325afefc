"""``careline bench offers``: zone entry to offer on the phone, p50/p99, at a fixed rate.

A private Mosquitto and a scratch database (dropped afterwards) with one store, four zones,
shoppers with registered app installations (80 % consented to location marketing by push,
5 % with an open service ticket, each with a purchase history for the learner's context)
and four campaigns. A publisher thread sends, at the
offered rate, one sightings message per zone entry (three strong sightings, the last at
the moment of publishing) for a shopper not seen before. The presence worker applies it,
the offer rule decides in the same transaction, the outbox waker hears the commit and the
push channel publishes the offer; a subscriber standing in for the phones takes the time
each offer arrives. Latency = arrival - publish of the entry's message.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import typer
from paho.mqtt.enums import CallbackAPIVersion

from careline.bench.measure import _percentile
from careline.bench.scratch import scratch_database
from careline.embedded.mosquitto import MosquittoProcess
from careline.in_store import offer_rule
from careline.settings import Settings
from crm_core.kernel import migrate
from crm_core.kernel.clock import utc_now
from crm_core.kernel.pool import open_pool
from crm_core.notifications.channels.push import MqttPushChannel
from crm_core.notifications.dispatcher import Dispatcher
from crm_core.notifications.wake import OutboxWaker
from devices.presence.model import DAYS, PresenceRules
from ingest.mqtt_source import MqttSource
from ingest.presence import SUBSCRIPTION, installation_topic
from ingest.presence_worker import PresenceWorker
from ingest.settings import MqttSettings

UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
ZONES = (
    ("dairy", "dairy"),
    ("bakery", "bakery"),
    ("drinks", "drinks"),
    ("appliances", "appliances"),
)
MAX_IN_FLIGHT = 1000


@dataclass(frozen=True, slots=True)
class OffersBenchResult:
    entries_per_second: float
    offered_per_second: int
    entries: int
    p50_ms: float
    p99_ms: float
    offers: int
    suppressed: int
    holdout: int
    by_reason: dict[str, int]
    decide_p99_ms: float = float("nan")
    push_p99_ms: float = float("nan")
    cpu_ms_per_entry: float = float("nan")  # this process: publisher, workers, phones

    def as_json(self) -> dict[str, Any]:
        return {
            "entries_per_second": round(self.entries_per_second, 1),
            "offered_per_second": self.offered_per_second,
            "entries": self.entries,
            "p50_ms": round(self.p50_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "offers": self.offers,
            "suppressed": self.suppressed,
            "holdout": self.holdout,
            "suppressed_by_reason": self.by_reason,
            "decide_p99_ms": round(self.decide_p99_ms, 1),
            "push_p99_ms": round(self.push_p99_ms, 1),
            "cpu_ms_per_entry": round(self.cpu_ms_per_entry, 2),
        }


def _seed(url: str, shoppers: int) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        store = conn.execute(
            "INSERT INTO presence_stores (code, name, timezone, opening_hours, created_at) "
            "VALUES ('BENCH', 'Bench store', 'UTC', %s, now()) RETURNING id",
            (json.dumps({d: [["00:00", "23:59"]] for d in DAYS}),),
        ).fetchone()
        assert store is not None
        for minor, (code, category) in enumerate(ZONES, start=1):
            zone = conn.execute(
                "INSERT INTO presence_zones (store_id, code, name, categories) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                (store[0], code, code.title(), [category]),
            ).fetchone()
            assert zone is not None
            conn.execute(
                "INSERT INTO presence_beacons (zone_id, identifier, kind) "
                "VALUES (%s, %s, 'ibeacon')",
                (zone[0], f"ibeacon:{UUID}:1:{minor}"),
            )
            conn.execute(
                "INSERT INTO campaigns (code, name, kind, message, starts_at, ends_at, "
                "categories, discount_percent, value_cents, cost_cents, budget_cents, stock, "
                "created_at) VALUES (%s, %s, 'promotion', %s, %s, %s, %s, 15, 400, 40, "
                "100000000, 10000000, now())",
                (code, f"{code.title()} deal", f"15 % off {code}", now - timedelta(days=1),
                 now + timedelta(days=1), [category]),
            )  # fmt: skip
        with conn.cursor().copy("COPY customers (kind, name) FROM STDIN") as copy:
            for n in range(shoppers):
                copy.write_row(("person", f"Shopper {n}"))
        conn.execute(
            "INSERT INTO presence_installations (id, customer_id, registered_at) "
            "SELECT 'app-' || id, id, now() FROM customers"
        )
        conn.execute(
            "INSERT INTO consent_records (customer_id, action, purpose, channel, source, "
            "policy_version, actor, at) SELECT id, 'grant', 'location_marketing', 'push', 'app', "
            "'2026-12', 'bench', now() - interval '1 day' FROM customers WHERE id % 5 <> 0"
        )
        # A purchase history for the learner's context: three months of two to four
        # categories each, so the decisions' profile query reads what a real one would.
        conn.execute(
            "INSERT INTO customer_category_spend (customer_id, category, month, spend_cents, "
            "lines) SELECT c.id, z.cat, (date_trunc('month', now()) - m * interval '1 month')"
            "::date, 300 + (c.id * 37 + z.k * 11) %% 2000, 1 + (c.id + z.k) %% 4 "
            "FROM customers c, unnest(%s::text[]) WITH ORDINALITY AS z(cat, k), "
            "generate_series(0, 2) AS m WHERE (c.id + z.k) %% 3 <> 0",
            ([category for _, category in ZONES],),
        )
        conn.execute(
            "INSERT INTO tickets (kind, status, priority, subject, description, customer_id, "
            "created_at, updated_at) SELECT 'reactive', 'new', 3, 'Noisy', 'Noisy fridge', id, "
            "now(), now() FROM customers WHERE id % 20 = 1"
        )


class _Phones:
    """Subscribed to every app's topic; the arrival time of each customer's offer."""

    def __init__(self, port: int) -> None:
        self.arrived: dict[int, float] = {}
        ready = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="bench-phones", protocol=mqtt.MQTTv5
        )
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe("app/+/notifications", qos=1)
        self.client.on_subscribe = lambda c, u, m, r, p: ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not ready.wait(10):
            raise RuntimeError("the phones' subscriber could not subscribe")

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        customer = int(message.topic.split("/")[1])
        self.arrived.setdefault(customer, time.time())

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _publish(port: int, rate: int, seconds: float, sent: dict[int, float]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-shop")
    client.max_inflight_messages_set(MAX_IN_FLIGHT)
    client.connect("127.0.0.1", port)
    client.loop_start()
    total = int(rate * seconds)
    started = time.time()
    try:
        for n in range(total):
            due = started + n / rate
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            customer = n + 1
            minor = n % len(ZONES) + 1
            now = time.time()
            body = json.dumps(
                {
                    "sightings": [
                        {"t": now - 2 + s, "rssi": -60,
                         "ibeacon": {"uuid": UUID, "major": 1, "minor": minor}}
                        for s in range(3)
                    ]
                }
            ).encode()  # fmt: skip
            sent[customer] = now
            client.publish(installation_topic(f"app-{customer}"), body, qos=1)
    finally:
        time.sleep(0.5)
        client.loop_stop()
        client.disconnect()


def _watch(worker: PresenceWorker, entries: int, limit_s: float, finished: list[float]) -> None:
    """When the last entry was applied (not after the publisher's own wait)."""
    deadline = time.time() + limit_s
    while time.time() < deadline:
        if worker.stats.applied + worker.stats.dead_letters >= entries:
            break
        time.sleep(0.01)
    finished.append(time.time())


def measure_offers(
    settings: Settings, rate: int, seconds: float, mosquitto: str | None
) -> OffersBenchResult:
    entries = int(rate * seconds)
    with ExitStack() as stack:
        broker = MosquittoProcess(mosquitto).start()
        stack.callback(broker.close)
        url = scratch_database(settings, stack)
        migrate.upgrade(url)
        _seed(url, entries)
        threads = settings.presence.threads
        pool = open_pool(url, min_size=threads + 2, max_size=threads + 6)
        stack.callback(pool.close)
        offers = settings.offers.model_copy(
            update={"quiet_start_hour": 0, "quiet_end_hour": 0, "per_customer_per_day": 100}
        )
        rule = offer_rule(settings.model_copy(update={"offers": offers}), conninfo=url)
        stack.callback(rule.close)
        push = MqttPushChannel("127.0.0.1", broker.port, clock=utc_now)
        stack.callback(push.close)
        dispatcher = Dispatcher(
            pool, {"push": push}, policy=settings.notifications.policy(), clock=utc_now
        )
        waker = OutboxWaker(url, dispatcher, idle_s=0.5).start()
        stack.callback(waker.stop)
        phones = _Phones(broker.port)
        stack.callback(phones.close)
        worker = PresenceWorker(
            pool, PresenceRules(rssi_enter=-75, enter_sightings=3), rule, threads=threads
        )
        source = MqttSource(
            MqttSettings(host="127.0.0.1", port=broker.port, client_id="bench-presence"),
            SUBSCRIPTION,
            worker.deliver,
        )
        worker.set_acknowledger(source.ack)
        worker.start()
        stack.callback(worker.stop)
        source.start()
        stack.callback(source.stop)
        sent: dict[int, float] = {}
        cpu_started = time.process_time()
        started = time.time()
        finished: list[float] = []
        watcher = threading.Thread(
            target=_watch, args=(worker, entries, 120 + seconds, finished), daemon=True
        )
        watcher.start()
        _publish(broker.port, rate, seconds, sent)
        watcher.join()
        applied_at = finished[0]
        cpu = time.process_time() - cpu_started
        applied = worker.stats.applied
        time.sleep(2)  # the last pushes
        with pool.connection() as conn:
            rows = conn.execute(
                "SELECT outcome, rule, count(*) FROM offer_decisions GROUP BY outcome, rule"
            ).fetchall()
            stages = conn.execute(
                "SELECT customer_id, extract(epoch FROM created_at), "
                "extract(epoch FROM sent_at) FROM outbox WHERE sent_at IS NOT NULL"
            ).fetchall()
    counted = {(outcome, rule): int(n) for outcome, rule, n in rows}
    # Where the time goes: publish -> decision committed (presence + offer rule, queueing
    # included; created_at is the deciding clock, just before commit) and decision -> push
    # acknowledged by the broker (the outbox waker and dispatcher).
    decide = [(float(c) - sent[int(k)]) * 1000 for k, c, _ in stages if int(k) in sent]
    pushed = [(float(s) - float(c)) * 1000 for _, c, s in stages]
    latencies = [(phones.arrived[c] - sent[c]) * 1000 for c in phones.arrived if c in sent]
    elapsed = max(applied_at - started, 1e-9)
    return OffersBenchResult(
        entries_per_second=applied / elapsed,
        offered_per_second=rate,
        entries=applied,
        p50_ms=statistics.median(latencies) if latencies else float("nan"),
        p99_ms=_percentile(latencies, 0.99) if latencies else float("nan"),
        offers=sum(n for (o, _), n in counted.items() if o == "sent"),
        suppressed=sum(n for (o, _), n in counted.items() if o == "suppressed"),
        holdout=sum(n for (o, _), n in counted.items() if o == "holdout"),
        by_reason={r: n for (o, r), n in sorted(counted.items()) if o == "suppressed"},
        decide_p99_ms=_percentile(decide, 0.99) if decide else float("nan"),
        push_p99_ms=_percentile(pushed, 0.99) if pushed else float("nan"),
        cpu_ms_per_entry=cpu * 1000 / max(applied, 1),
    )


def run_offers_bench(
    settings: Settings, rate: int, seconds: float, mosquitto: str | None, *, as_json: bool
) -> int:
    result = measure_offers(settings, rate, seconds, mosquitto)
    if as_json:
        typer.echo(json.dumps(result.as_json()))
    else:
        typer.echo(
            f"{result.entries:,} zone entries at {result.entries_per_second:,.0f}/s "
            f"(offered {rate}/s): entry -> offer on the phone p50 {result.p50_ms:.0f} ms, "
            f"p99 {result.p99_ms:.0f} ms (target p99 < 1000 ms); publish -> decided p99 "
            f"{result.decide_p99_ms:.0f} ms, decided -> pushed p99 {result.push_p99_ms:.0f} ms\n"
            f"offers {result.offers:,}, holdout {result.holdout:,}, suppressed "
            f"{result.suppressed:,}: "
            + ", ".join(f"{r} {n:,}" for r, n in result.by_reason.items())
        )
    return 0
