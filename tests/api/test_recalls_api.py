"""The supply-chain and recall API: import with GS1 validation, traces, approval by quality."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.bootstrap import cold_chain_evaluator, event_bus
from crm_core.kernel.uow import PostgresUnitOfWork
from devices.catalog import Catalog
from devices.metric_ids import sync_metric_ids
from devices.stored import ReadingsStored
from simulators.coldchain import Scenario
from tests.api.conftest import key_for

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
NOW_TS = datetime(2026, 11, 20, 6, 0, tzinfo=UTC).timestamp()
START = NOW_TS


def shoppers(conn: psycopg.Connection[TupleRow], n: int) -> list[int]:
    return [
        int(r[0])
        for r in conn.execute(
            "INSERT INTO customers (kind, name, email) SELECT 'person', 'C' || n, "
            "'c' || n || '@example.net' FROM generate_series(0, %s) n RETURNING id",
            (n - 1,),
        ).fetchall()
    ]


def setup_network(db: Pool, client: httpx.Client, agent: dict[str, str]) -> Scenario:
    scenario = Scenario(start=START, customers=12).build()
    with db.connection() as conn:
        for serial in sorted(scenario.loggers):
            conn.execute(
                "INSERT INTO devices (serial, device_type, model) "
                "VALUES (%s, 'temperature_logger', 'TL-1')",
                (serial,),
            )
        ids = [
            int(r[0])
            for r in conn.execute(
                "INSERT INTO customers (kind, name, email) SELECT 'person', 'C' || n, "
                "'c' || n || '@example.net' FROM generate_series(0, 11) n RETURNING id"
            ).fetchall()
        ]
    doc = {**scenario.network, "purchases": scenario.purchase_docs(ids)}
    first = client.post("/api/v1/supply-chain/import", json=doc, headers=agent)
    assert first.status_code == 200, first.text
    assert first.json()["lots"] == 7
    again = client.post("/api/v1/supply-chain/import", json=doc, headers=agent)
    assert again.json() == dict.fromkeys(first.json(), 0)
    return scenario


def feed_readings(db: Pool, catalog: Catalog, scenario: Scenario) -> None:
    """The loggers' readings straight into the table, then the event ingest would publish."""
    with db.connection() as conn:
        metric_ids = sync_metric_ids(conn, catalog)
        serials: dict[str, int] = dict(conn.execute("SELECT serial, id FROM devices").fetchall())
        rows = []
        for logger, (dep, arr, _) in scenario.loggers.items():
            t = dep
            while t < arr:
                rows.append(
                    (
                        serials[logger],
                        metric_ids["load_temp"],
                        t,
                        scenario.temperature(logger, t),
                        t,
                    )
                )
                t += 300
        conn.cursor().executemany(
            "INSERT INTO readings (device_id, metric_id, ts, value, received_at) "
            "VALUES (%s, %s, to_timestamp(%s), %s, to_timestamp(%s))",
            rows,
        )
        bus = event_bus(catalog, metric_ids=metric_ids)
        assert cold_chain_evaluator(catalog, metric_ids) is not None
        bus.publish([ReadingsStored(rows)], PostgresUnitOfWork(conn))


def test_bad_gs1_identifiers_are_refused_with_the_reason(
    client: httpx.Client, agent: dict[str, str]
) -> None:
    doc = {
        "products": [
            {
                "gtin": "07032069800014",
                "name": "Milk",
                "temp_class": "chilled",
                "range_min": 2,
                "range_max": 8,
            }
        ]
    }
    answer = client.post("/api/v1/supply-chain/import", json=doc, headers=agent)
    assert answer.status_code == 422
    assert "products.0.gtin" in answer.json()["detail"]
    assert "check digit" in answer.json()["detail"]
    unknown = {"lots": [{"gtin": "07032069800010", "lot": "X1"}]}
    answer = client.post("/api/v1/supply-chain/import", json=unknown, headers=agent)
    assert answer.status_code == 422
    assert "unknown product" in answer.json()["detail"]


def test_recall_needs_the_quality_role_and_notifies_only_after_approval(
    db: Pool, client: httpx.Client, agent: dict[str, str], catalog: Catalog
) -> None:
    scenario = setup_network(db, client, agent)
    feed_readings(db, catalog, scenario)
    assert scenario.truth is not None
    listed = client.get("/api/v1/recalls", headers=agent).json()
    assert len(listed) == 1
    assert {r["status"] for r in listed} == {"proposed"}
    recall_id = listed[-1]["id"]
    detail = client.get(f"/api/v1/recalls/{recall_id}", headers=agent).json()
    assert detail["evidence"]["vehicle"] == "TR-12"
    approve = {"recall_class": "II", "contact": "0800 123 456"}
    refused = client.post(f"/api/v1/recalls/{recall_id}/approve", json=approve, headers=agent)
    assert refused.status_code == 403
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    quality = {"Authorization": f"Bearer {key_for(db, 'quality')}"}
    done = client.post(f"/api/v1/recalls/{recall_id}/approve", json=approve, headers=quality)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "approved"
    assert body["approved_by"] == "test quality"
    assert body["notices"]
    twice = client.post(f"/api/v1/recalls/{recall_id}/approve", json=approve, headers=quality)
    assert twice.status_code == 409
    store = next(n for n in body["notices"] if n["level"] == "store")
    ack = client.post(
        f"/api/v1/recalls/{recall_id}/acknowledgements",
        json={"level": "store", "consignee": store["consignee"], "returned_qty": 12},
        headers=agent,
    )
    assert ack.status_code == 200
    assert ack.json()["store"]["reached"] == 1
    closed = client.post(f"/api/v1/recalls/{recall_id}/close", headers=quality)
    assert closed.status_code == 200
    assert "effectiveness" in closed.json()
    actions: list[str] = []
    for _ in range(50):  # the request's transaction commits as its answer goes out
        with db.connection() as conn:
            actions = [
                r[0]
                for r in conn.execute(
                    "SELECT action FROM audit_log WHERE entity = 'recall' ORDER BY id"
                ).fetchall()
            ]
        if actions[-1:] == ["closed"]:
            break
        time.sleep(0.05)
    assert actions[-3:] == ["approved", "acknowledged", "closed"], actions

    fwd = client.get("/api/v1/trace/forward", params={"shipment": "SH-101"}, headers=agent)
    assert fwd.status_code == 200
    assert {s["gln"] for s in fwd.json()["stores"]} >= scenario.truth.stores
    gtin, lot = sorted(scenario.truth.lots)[0]
    back = client.get(
        "/api/v1/trace/backward",
        params={"element_string": f"(01){gtin}(10){lot}"},
        headers=agent,
    )
    assert back.status_code == 200, back.text
    [trace] = back.json()
    assert any(leg["breached"] for leg in trace["legs"])
    missing = client.get("/api/v1/trace/forward", params={"shipment": "NOPE"}, headers=agent)
    assert missing.status_code == 404


def test_complaints_about_one_lot_open_one_investigation_with_traces(
    db: Pool, client: httpx.Client, agent: dict[str, str], catalog: Catalog
) -> None:
    scenario = setup_network(db, client, agent)
    feed_readings(db, catalog, scenario)
    assert scenario.truth is not None
    gtin, lot = sorted(scenario.truth.lots)[0]
    answers = [
        client.post(
            "/api/v1/complaints",
            json={"description": f"sour milk #{i}", "code": f"(01){gtin}(10){lot}"},
            headers=agent,
        ).json()
        for i in range(4)
    ]
    assert [a["investigation_opened"] for a in answers] == [False, False, True, False]
    assert answers[0]["investigation_id"] is None
    assert answers[3]["investigation_id"] == answers[2]["investigation_id"]
    body: dict[str, Any] = {}
    for _ in range(50):  # the last complaint's transaction commits as its answer goes out
        found = client.get(
            f"/api/v1/investigations/{answers[2]['investigation_id']}", headers=agent
        )
        assert found.status_code == 200
        body = found.json()
        if len(body["complaints"]) == 4:
            break
        time.sleep(0.05)
    assert len(body["complaints"]) == 4
    assert any(leg["breached"] for leg in body["traces"][0]["legs"])
    bad = client.post(
        "/api/v1/complaints",
        json={"description": "x", "code": "(01)07032069800011"},
        headers=agent,
    )
    assert bad.status_code == 422


def test_fsma_204_spreadsheet_for_a_lot(
    db: Pool, client: httpx.Client, agent: dict[str, str]
) -> None:
    scenario = setup_network(db, client, agent)
    assert scenario.truth is not None
    gtin, lot = sorted(scenario.truth.lots)[0]
    answer = client.get("/api/v1/fsma204.csv", params={"gtin": gtin, "lot": lot}, headers=agent)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert rows
    assert {r["event"] for r in rows} == {"shipping", "receiving"}
    assert {r["traceability_lot_code"] for r in rows} == {f"{gtin}.{lot}"}
    assert {r["tlc_source"] for r in rows} == {"Dairy plant"}
    assert all(r["reference_document_type"] == "BOL" for r in rows)
    assert client.get("/api/v1/fsma204.csv", headers=agent).status_code == 422


def test_shipment_temperature_report_is_a_pdf(
    db: Pool, client: httpx.Client, agent: dict[str, str], catalog: Catalog
) -> None:
    scenario = setup_network(db, client, agent)
    feed_readings(db, catalog, scenario)
    answer = client.get("/api/v1/shipments/SH-101/report.pdf", headers=agent)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    assert len(answer.content) > 2000
    assert client.get("/api/v1/shipments/NOPE/report.pdf", headers=agent).status_code == 404
