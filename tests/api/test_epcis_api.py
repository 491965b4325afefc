"""The EPCIS API: export as a JSON-LD download, import all or nothing, errors by name."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from tests.api.conftest import key_for
from tests.integration.repack_world import MILK, build

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
CHAIN = (
    "transformation_lots, lot_transformations, purchases, deliveries, logger_assignments, "
    "leg_lots, shipment_legs, shipments, lots, products, supply_sites"
)


def test_export_download_and_reimport(db: Pool, client: httpx.Client, schema_file: Path) -> None:
    build(db)
    agent = {"Authorization": f"Bearer {key_for(db, 'agent')}"}
    viewer = {"Authorization": f"Bearer {key_for(db, 'viewer')}"}
    got = client.get(
        "/api/v1/epcis/events", params={"shipment": "SH-R1", "download": "true"}, headers=viewer
    )
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/ld+json")
    assert 'filename="epcis-shipment-SH-R1.jsonld"' in got.headers["content-disposition"]
    document = got.json()
    assert document["type"] == "EPCISDocument"
    by_lot = client.get(
        "/api/v1/epcis/events",
        params={"gtin": MILK, "lot": "LM2-R"},
        headers=viewer,
    )
    assert by_lot.status_code == 200, by_lot.text
    assert "content-disposition" not in by_lot.headers
    assert client.get("/api/v1/epcis/events", headers=viewer).status_code == 422
    missing = client.get("/api/v1/epcis/events", params={"shipment": "NOPE"}, headers=viewer)
    assert missing.status_code == 404

    with db.connection() as conn:
        conn.execute(f"TRUNCATE {CHAIN} RESTART IDENTITY CASCADE")
    assert client.post("/api/v1/epcis/import", json=document, headers=viewer).status_code == 403
    bad = dict(document, schemaVersion=2)
    refused = client.post("/api/v1/epcis/import", json=bad, headers=agent)
    assert refused.status_code == 422
    assert "schemaVersion" in refused.json()["detail"]
    done = client.post("/api/v1/epcis/import", json=document, headers=agent)
    assert done.status_code == 200, done.text
    assert done.json()["legs"] == 1
    assert done.json()["lots"] >= 1
    again = client.post("/api/v1/epcis/import", json=document, headers=agent)
    assert again.json()["legs"] == 0
    assert (
        client.get("/api/v1/epcis/events", params={"shipment": "SH-R1"}, headers=viewer).json()[
            "epcisBody"
        ]
        == document["epcisBody"]
    )
