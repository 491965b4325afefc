"""``careline bench trace``: forward traces (shipment -> lots -> legs, stores, customers) on a
loaded network, p50/p95 in milliseconds.

The dataset is COPY-loaded into a scratch database (dropped afterwards): customers, lots,
shipments of two legs each (plant -> depot -> store) carrying lots on pallets, a logger per
leg with its readings, deliveries and loyalty-card purchases. A trace never reads the
readings table, but the readings are there, as they are in production, so that the
database's size and caches are what they would be.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import typer

from careline.bench.scratch import scratch_database
from careline.settings import Settings
from crm_core.kernel import migrate
from crm_core.traceability.queries import forward_from_shipment
from simulators.coldchain import gln, gtin, sscc

START = datetime(2026, 1, 1, tzinfo=UTC)
PRODUCTS = 20
STORES = 300
DEPOTS = 10
LOTS_PER_LEG = 6
PURCHASES_PER_CUSTOMER = 4


@dataclass(frozen=True, slots=True)
class TraceSizes:
    customers: int = 50_000
    lots: int = 5_000
    shipments: int = 2_000
    readings: int = 20_000_000
    queries: int = 300
    seed: int = 1


def _copy(
    conn: psycopg.Connection[tuple[object, ...]], sql: str, rows: Iterator[tuple[object, ...]]
) -> None:
    with conn.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def load(url: str, sizes: TraceSizes) -> None:
    rng = random.Random(sizes.seed)
    legs = sizes.shipments * 2
    with psycopg.connect(url) as conn:
        _copy(
            conn,
            "COPY customers (kind, name, email) FROM STDIN",
            (("person", f"Customer {i}", f"c{i}@example.net") for i in range(sizes.customers)),
        )
        _copy(
            conn,
            "COPY products (gtin, name, temp_class, range_min, range_max, "
            "single_limit_min, budget_min) FROM STDIN",
            (
                (gtin(900_000 + p), f"Product {p}", "chilled", 2.0, 8.0, 30, 120)
                for p in range(PRODUCTS)
            ),
        )
        sites = [(gln(1), "Plant", "plant")]
        sites += [(gln(10 + d), f"Depot {d}", "depot") for d in range(DEPOTS)]
        stores = [gln(1000 + s) for s in range(STORES)]
        sites += [(g, f"Store {i}", "store") for i, g in enumerate(stores)]
        _copy(conn, "COPY supply_sites (gln, name, kind) FROM STDIN", iter(sites))
        _copy(
            conn,
            "COPY lots (gtin, lot_code) FROM STDIN",
            ((gtin(900_000 + i % PRODUCTS), f"L{i:07d}") for i in range(sizes.lots)),
        )
        _copy(
            conn,
            "COPY shipments (reference) FROM STDIN",
            ((f"SH-{i:06d}",) for i in range(sizes.shipments)),
        )
        leg_rows = []
        for s in range(sizes.shipments):
            depot, store = gln(10 + s % DEPOTS), stores[rng.randrange(STORES)]
            dep = START + timedelta(hours=s)
            leg_rows.append((s + 1, 1, gln(1), depot, dep, dep + timedelta(hours=6)))
            leg_rows.append(
                (s + 1, 2, depot, store, dep + timedelta(hours=8), dep + timedelta(hours=10))
            )
        _copy(
            conn,
            "COPY shipment_legs (shipment_id, seq, origin_gln, destination_gln, "
            "departed_at, arrived_at) FROM STDIN",
            iter(leg_rows),
        )
        pallets: list[tuple[object, ...]] = []
        deliveries: list[tuple[int, str, int, int, datetime]] = []
        store_lots: dict[str, set[int]] = {g: set() for g in stores}
        serial = 0
        for s in range(sizes.shipments):
            carried = rng.sample(range(1, sizes.lots + 1), LOTS_PER_LEG)
            store = leg_rows[2 * s + 1][3]
            for leg in (2 * s + 1, 2 * s + 2):
                for lot in carried:
                    serial += 1
                    pallets.append((leg, lot, sscc(serial), 50))
            for lot in carried:
                store_lots[store].add(lot)
                deliveries.append((lot, store, 2 * s + 2, 50, leg_rows[2 * s + 1][5]))
        _copy(conn, "COPY leg_lots (leg_id, lot_id, sscc, quantity) FROM STDIN", iter(pallets))
        _copy(
            conn,
            "COPY deliveries (lot_id, store_gln, leg_id, quantity, delivered_at) FROM STDIN",
            iter(sorted(set(deliveries), key=lambda d: (d[0], d[1], d[4]))),
        )
        stocked = [g for g in stores if store_lots[g]]
        lists = {g: sorted(store_lots[g]) for g in stocked}

        def purchases() -> Iterator[tuple[object, ...]]:
            n = 0
            for c in range(1, sizes.customers + 1):
                store = stocked[rng.randrange(len(stocked))]
                for lot in set(rng.choices(lists[store], k=PURCHASES_PER_CUSTOMER)):
                    n += 1
                    yield (c, lot, store, f"R{n:09d}", 1, START + timedelta(days=3))

        _copy(
            conn,
            "COPY purchases (customer_id, lot_id, store_gln, receipt, quantity, "
            "bought_at) FROM STDIN",
            purchases(),
        )
        _copy(
            conn,
            "COPY devices (serial, device_type, model) FROM STDIN",
            ((f"LG-{i:06d}", "temperature_logger", "TL-1") for i in range(legs)),
        )
        _copy(
            conn,
            "COPY logger_assignments (leg_id, device_id, from_ts, to_ts) FROM STDIN",
            ((i + 1, i + 1, r[4], r[5]) for i, r in enumerate(leg_rows)),
        )
        conn.commit()
        metric = conn.execute(
            "INSERT INTO metrics (key, unit) VALUES ('load_temp', 'Cel') "
            "ON CONFLICT (key) DO UPDATE SET unit = excluded.unit RETURNING id"
        ).fetchone()
        assert metric is not None
        conn.commit()
        _load_readings(conn, sizes.readings, legs, leg_rows, int(metric[0]))
        conn.execute("ANALYZE")
        conn.commit()


def _load_readings(
    conn: psycopg.Connection[tuple[object, ...]],
    total: int,
    legs: int,
    leg_rows: Sequence[tuple[object, ...]],
    metric_id: int,
) -> None:
    per_leg = max(-(-total // legs), 1)
    step = 6 * 3600 / per_leg  # spread over a six-hour leg
    chunk = 200_000
    with typer.progressbar(length=total, label="readings", file=sys.stderr) as bar:
        written = 0
        while written < total:
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY readings (device_id, metric_id, ts, value, received_at) FROM STDIN "
                    "(FORMAT BINARY)"
                ) as copy,
            ):
                copy.set_types(["int4", "int2", "timestamptz", "float8", "timestamptz"])
                end = min(written + chunk, total)
                for i in range(written, end):
                    leg, k = divmod(i, per_leg)
                    leg %= legs
                    dep = leg_rows[leg][4]
                    assert isinstance(dep, datetime)
                    ts = dep + timedelta(seconds=step * k)
                    copy.write_row((leg + 1, metric_id, ts, 4.0 + (i % 7) * 0.1, ts))
            conn.commit()
            bar.update(end - written)
            written = end


def measure(url: str, sizes: TraceSizes) -> dict[str, float | int]:
    rng = random.Random(sizes.seed + 1)
    times: list[float] = []
    customers = 0
    with psycopg.connect(url) as conn:
        for _ in range(20):  # warm the caches as a running server has them
            forward_from_shipment(conn, f"SH-{rng.randrange(sizes.shipments):06d}")
        for _ in range(sizes.queries):
            ref = f"SH-{rng.randrange(sizes.shipments):06d}"
            t0 = time.perf_counter()
            trace = forward_from_shipment(conn, ref)
            times.append((time.perf_counter() - t0) * 1000)
            customers += len(trace.customers)
            conn.rollback()
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "customers": sizes.customers,
        "lots": sizes.lots,
        "shipments": sizes.shipments,
        "readings": sizes.readings,
        "queries": sizes.queries,
        "mean_customers_per_trace": round(customers / max(sizes.queries, 1), 1),
    }


def run_trace_bench(settings: Settings, sizes: TraceSizes, *, as_json: bool) -> int:
    with ExitStack() as stack:
        url = scratch_database(settings, stack)
        migrate.upgrade(url)
        started = time.monotonic()
        load(url, sizes)
        loaded_s = time.monotonic() - started
        result = measure(url, sizes)
        result["load_s"] = round(loaded_s, 1)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(
            f"forward trace shipment -> customers: p50 {result['p50_ms']} ms, "
            f"p95 {result['p95_ms']} ms over {sizes.queries} traces "
            f"({result['mean_customers_per_trace']} customers each); target p95 < 200 ms\n"
            f"dataset: {sizes.customers} customers, {sizes.lots} lots, {sizes.shipments} "
            f"shipments, {sizes.readings} readings, loaded in {result['load_s']} s"
        )
    return 0 if float(result["p95_ms"]) < 200 else 1
