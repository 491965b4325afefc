"""The simulator's cold-chain network plus a repacking: lot LM2 (milk, split across two
trucks, one of them failing) is repacked at Depot South into lot LM2-R, which goes on to a
store and is bought there. Used by the EPCIS and the repacking trace tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.bootstrap import cold_chain_evaluator
from crm_core.traceability.model import Network
from crm_core.traceability.postgres import import_network
from devices.catalog import Catalog, load_catalog
from devices.coldchain.online import TEMPERATURE
from devices.metric_ids import metric_id_map, sync_metric_ids
from simulators.coldchain import Scenario, gln, gtin, sscc
from tests.integration.conftest import register_devices

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
MILK = gtin(980001)
STORE = gln(112)  # Store 12, supplied from Depot South
REPACK_STORE_BUYER = 0  # index of the customer who buys the repacked lot


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def build(db: Pool, start: float | None = None) -> tuple[Scenario, list[int]]:
    scenario = Scenario(start=start if start is not None else time.time() - 3 * 86400).build()
    register_devices(db, sorted(scenario.loggers), "temperature_logger", with_customer=False)
    t0 = scenario.start
    extra: dict[str, Any] = {
        "lots": [{"gtin": MILK, "lot": "LM2-R", "produced_on": "2026-12-01"}],
        "transformations": [
            {
                "reference": "RP-1",
                "site": gln(3),
                "at": _iso(t0 + 7 * 3600),
                "inputs": [{"gtin": MILK, "lot": "LM2", "quantity": 50}],
                "outputs": [{"gtin": MILK, "lot": "LM2-R", "quantity": 100}],
            }
        ],
        "shipments": [
            {
                "reference": "SH-R1",
                "legs": [
                    {
                        "seq": 1,
                        "origin": gln(3),
                        "destination": STORE,
                        "carrier": "ColdWay",
                        "vehicle": "VAN-R",
                        "departed_at": _iso(t0 + 9 * 3600),
                        "arrived_at": _iso(t0 + 11 * 3600),
                        "lots": [
                            {"gtin": MILK, "lot": "LM2-R", "sscc": sscc(9001), "quantity": 60},
                            {"gtin": MILK, "lot": "LM2-R", "sscc": sscc(9002), "quantity": 40},
                        ],
                    }
                ],
            }
        ],
        "deliveries": [
            {
                "gtin": MILK,
                "lot": "LM2-R",
                "store": STORE,
                "quantity": 100,
                "delivered_at": _iso(t0 + 11 * 3600),
                "shipment": "SH-R1",
                "leg_seq": 1,
            }
        ],
    }
    with db.connection() as conn:
        customers = [
            int(r[0])
            for r in conn.execute(
                "INSERT INTO customers (kind, name, email) SELECT 'person', 'Shopper ' || n, "
                "'shopper' || n || '@example.net' FROM generate_series(0, %s) n RETURNING id",
                (scenario.customers,),
            ).fetchall()
        ]
        network = dict(scenario.network)
        network["lots"] = network["lots"] + extra["lots"]
        network["shipments"] = network["shipments"] + extra["shipments"]
        network["deliveries"] = network["deliveries"] + extra["deliveries"]
        network["transformations"] = extra["transformations"]
        network["purchases"] = [
            *scenario.purchase_docs(customers),
            {
                "customer_id": customers[-1],
                "receipt": "R-REPACK",
                "store": STORE,
                "gtin": MILK,
                "lot": "LM2-R",
                "bought_at": _iso(t0 + 13 * 3600),
            },
        ]
        import_network(conn, Network.model_validate(network), actor="test", now=NOW)
        # a few readings per logger, so that the sensor reports have figures
        sync_metric_ids(conn, load_catalog())
        conn.execute(
            "INSERT INTO readings (device_id, metric_id, ts, value, received_at) "
            "SELECT d.id, m.id, a.from_ts + make_interval(mins => 30 * k), "
            "4 + (k %% 3) + CASE WHEN d.serial = 'LG-12' AND k = 4 THEN 9 ELSE 0 END, now() "
            "FROM logger_assignments a JOIN devices d ON d.id = a.device_id "
            "JOIN metrics m ON m.key = %s CROSS JOIN generate_series(0, 5) k",
            (TEMPERATURE,),
        )
    return scenario, customers


def judge_failing_truck(db: Pool, catalog: Catalog, scenario: Scenario) -> None:
    """The failing truck's simulated readings (every 5 min) in place of the few above, and
    its leg judged by the online evaluator, as ingest would: its excursions are recorded."""
    failing = "LG-12"
    dep, arr, _ = scenario.loggers[failing]
    with db.connection() as conn:  # the failing truck's readings, and its leg judged
        ids = metric_id_map(conn)
        conn.execute(
            "DELETE FROM readings WHERE device_id = (SELECT id FROM devices WHERE serial = %s)",
            (failing,),
        )
        conn.cursor().executemany(
            "INSERT INTO readings (device_id, metric_id, ts, value, received_at) "
            "SELECT id, %s, to_timestamp(%s), %s, now() FROM devices WHERE serial = %s",
            [
                (ids[TEMPERATURE], t, scenario.temperature(failing, t), failing)
                for t in range(int(dep), int(arr), 300)
            ],
        )
        evaluator = cold_chain_evaluator(catalog, ids, clock=lambda: NOW)
        leg = conn.execute(
            "SELECT leg_id FROM logger_assignments a JOIN devices d ON d.id = a.device_id "
            "WHERE d.serial = %s",
            (failing,),
        ).fetchone()
        assert leg is not None
        assert evaluator.evaluate_leg(conn, leg[0])  # it broke a rule
