"""Rows for API and console tests, inserted with plain SQL (one helper per table)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import LiteralString

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from devices.catalog import Catalog
from devices.metric_ids import sync_metric_ids

Conn = psycopg.Connection[TupleRow]


def _id(conn: Conn, query: LiteralString, params: tuple[object, ...]) -> int:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def customer(
    conn: Conn,
    name: str = "Amélie Laurent",
    *,
    kind: str = "person",
    email: str | None = "amelie.laurent@example.net",
    phone: str | None = "+33 4 72 10 20 31",
) -> int:
    return _id(
        conn,
        "INSERT INTO customers (kind, name, email, phone) VALUES (%s, %s, %s, %s) RETURNING id",
        (kind, name, email, phone),
    )


def site(
    conn: Conn,
    customer_id: int,
    label: str = "Home",
    address: str = "14 rue Mercière, 69002 Lyon",
) -> int:
    return _id(
        conn,
        "INSERT INTO sites (customer_id, label, address, latitude, longitude) "
        "VALUES (%s, %s, %s, 45.7622, 4.8330) RETURNING id",
        (customer_id, label, address),
    )


def device(
    conn: Conn,
    serial: str,
    *,
    device_type: str = "refrigerator",
    model: str = "CoolLine 300",
    customer_id: int | None = None,
    site_id: int | None = None,
) -> int:
    return _id(
        conn,
        "INSERT INTO devices (serial, device_type, model, firmware, customer_id, site_id, "
        "installed_on, warranty_end) VALUES (%s, %s, %s, '2.4.1', %s, %s, "
        "'2024-03-01', '2027-03-01') RETURNING id",
        (serial, device_type, model, customer_id, site_id),
    )


def device_status(
    conn: Conn, device_id: int, last_seen_at: datetime, last_received_at: datetime
) -> None:
    conn.execute(
        "INSERT INTO device_status (device_id, last_seen_at, last_received_at) VALUES (%s, %s, %s)",
        (device_id, last_seen_at, last_received_at),
    )


def readings(
    conn: Conn,
    catalog: Catalog,
    device_id: int,
    metric: str,
    points: Iterable[tuple[datetime, float]],
) -> None:
    metric_id = sync_metric_ids(conn, catalog)[metric]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (device_id, metric_id, ts, value, received_at) "
            "VALUES (%s, %s, %s, %s, %s)",
            [(device_id, metric_id, ts, value, ts) for ts, value in points],
        )


def fault(
    conn: Conn,
    device_id: int,
    opened_at: datetime,
    *,
    metric: str = "cabinet_temp",
    score: float = 6.5,
    threshold: float = 4.0,
    cleared_at: datetime | None = None,
    evidence: dict[str, object] | None = None,
) -> int:
    if evidence is None:
        evidence = {
            "windows": [{"start": opened_at.timestamp(), "mean": 9.1, "count": 5, "score": score}],
            "threshold": threshold,
        }
    return _id(
        conn,
        "INSERT INTO faults (device_id, metric, detector, score, threshold, status, opened_at, "
        "cleared_at, evidence) VALUES (%s, %s, 'standard_score', %s, %s, %s, %s, %s, %s) "
        "RETURNING id",
        (
            device_id,
            metric,
            score,
            threshold,
            "open" if cleared_at is None else "cleared",
            opened_at,
            cleared_at,
            Jsonb(evidence),
        ),
    )


def ticket(
    conn: Conn,
    customer_id: int,
    created_at: datetime,
    *,
    device_id: int | None = None,
    subject: str = "Cabinet temperature rising",
    description: str = "The cabinet temperature left its normal band.",
    kind: str = "proactive",
    status: str = "new",
    priority: int = 2,
) -> int:
    return _id(
        conn,
        "INSERT INTO tickets (kind, status, priority, subject, description, customer_id, "
        "device_id, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "RETURNING id",
        (
            kind,
            status,
            priority,
            subject,
            description,
            customer_id,
            device_id,
            created_at,
            created_at,
        ),
    )


def ticket_fault(conn: Conn, ticket_id: int, fault_id: int) -> None:
    conn.execute(
        "INSERT INTO ticket_faults (ticket_id, fault_id) VALUES (%s, %s)", (ticket_id, fault_id)
    )


def dead_letter(
    conn: Conn,
    received_at: datetime,
    *,
    topic: str = "dt/refrigerator/RF-UNKNOWN/senml",
    payload: bytes = b'[{"n":"cabinet_temp","u":"Cel","v":4.2}]',
    reason: str = "unknown_device",
    detail: str = "no device with serial RF-UNKNOWN",
) -> int:
    digest = hashlib.sha256(topic.encode() + b"\0" + payload).digest()
    return _id(
        conn,
        "INSERT INTO dead_letters (digest, topic, payload, reason, detail, received_at, "
        "last_received_at) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (digest, topic, payload, reason, detail, received_at, received_at),
    )
