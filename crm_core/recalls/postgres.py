"""Recalls in PostgreSQL: the proposal with its ranked lots, notices, and read models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow, dict_row
from psycopg.types.json import Jsonb

from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import ReadModel, UtcDateTime

Conn = psycopg.Connection[TupleRow]


def insert_recall(
    conn: Conn,
    origin: str,
    origin_key: str,
    reason: str,
    evidence: dict[str, Any],
    now: datetime,
) -> int | None:
    """The new recall's id, or None when one exists for ``origin_key`` (idempotent)."""
    row = conn.execute(
        "INSERT INTO recalls (status, origin, origin_key, reason, evidence, proposed_at) "
        "VALUES ('proposed', %s, %s, %s, %s, %s) ON CONFLICT (origin_key) DO NOTHING RETURNING id",
        (origin, origin_key, reason, Jsonb(evidence), now),
    ).fetchone()
    return None if row is None else int(row[0])


def set_lots(conn: Conn, recall_id: int, lots: list[tuple[int, bool, str]]) -> None:
    conn.cursor().executemany(
        "INSERT INTO recall_lots (recall_id, lot_id, included, why, rank) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (recall_id, lot_id) "
        "DO UPDATE SET included = excluded.included, why = excluded.why",
        [(recall_id, lot, inc, why, rank) for rank, (lot, inc, why) in enumerate(lots, 1)],
    )


def status_of(conn: Conn, recall_id: int, *, lock: bool = False) -> str:
    sql = "SELECT status FROM recalls WHERE id = %s" + (" FOR UPDATE" if lock else "")
    row = conn.execute(sql, (recall_id,)).fetchone()
    if row is None:
        raise NotFound(f"no recall {recall_id}")
    return str(row[0])


def included_lots(conn: Conn, recall_id: int) -> list[int]:
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT lot_id FROM recall_lots WHERE recall_id = %s AND included ORDER BY rank",
            (recall_id,),
        ).fetchall()
    ]


def add_notice(
    conn: Conn, recall_id: int, level: str, consignee: str, outbox_key: str | None
) -> None:
    conn.execute(
        "INSERT INTO recall_notices (recall_id, level, consignee, outbox_key) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (recall_id, level, consignee, outbox_key),
    )


class RecallLot(ReadModel):
    lot_id: int
    gtin: str
    lot: str
    product: str
    included: bool
    why: str
    rank: int


class Notice(ReadModel):
    level: str
    consignee: str
    outbox_key: str | None
    outbox_status: str | None
    acknowledged_at: UtcDateTime | None
    returned_qty: int


class RecallSummary(ReadModel):
    id: int
    status: str
    origin: str
    recall_class: str | None
    reason: str
    proposed_at: UtcDateTime
    approved_by: str | None
    approved_at: UtcDateTime | None
    closed_at: UtcDateTime | None


class ScopeCounts(ReadModel):
    """What the lots in scope reached: the stores and customers approval notifies."""

    lots: int
    repacked_lots: int  # of ``lots``, those in scope because they were made from one
    stores: int
    customers: int


def scope_counts(conn: Conn, recall_id: int) -> ScopeCounts:
    row = conn.execute(
        "WITH inc AS (SELECT lot_id, why FROM recall_lots WHERE recall_id = %(r)s AND included) "
        "SELECT (SELECT count(*) FROM inc), "
        "(SELECT count(*) FROM inc WHERE lot_id IN (SELECT o.lot_id FROM transformation_lots o "
        " JOIN transformation_lots i ON i.transformation_id = o.transformation_id "
        " AND i.role = 'input' AND o.role = 'output' "
        " JOIN recall_lots r ON r.lot_id = i.lot_id AND r.recall_id = %(r)s)), "
        "(SELECT count(DISTINCT store_gln) FROM deliveries WHERE lot_id IN "
        "(SELECT lot_id FROM inc)), "
        "(SELECT count(DISTINCT customer_id) FROM purchases WHERE lot_id IN "
        "(SELECT lot_id FROM inc))",
        {"r": recall_id},
    ).fetchone()
    assert row is not None
    return ScopeCounts(lots=row[0], repacked_lots=row[1], stores=row[2], customers=row[3])


class RecallDetail(RecallSummary):
    scope: ScopeCounts
    evidence: dict[str, Any]
    report: dict[str, Any] | None
    lots: list[RecallLot]
    notices: list[Notice]


SUMMARY = (
    "id, status, origin, recall_class, reason, proposed_at, approved_by, approved_at, closed_at"
)


def list_recalls(conn: Conn) -> list[RecallSummary]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"SELECT {SUMMARY} FROM recalls ORDER BY id DESC LIMIT 200").fetchall()
    return [RecallSummary(**r) for r in rows]


def recall_detail(conn: Conn, recall_id: int) -> RecallDetail:
    with conn.cursor(row_factory=dict_row) as cur:
        head = cur.execute(
            f"SELECT {SUMMARY}, evidence, report FROM recalls WHERE id = %s",
            (recall_id,),
        ).fetchone()
        if head is None:
            raise NotFound(f"no recall {recall_id}")
        lots = cur.execute(
            "SELECT r.lot_id, l.gtin, l.lot_code AS lot, p.name AS product, r.included, r.why, "
            "r.rank FROM recall_lots r JOIN lots l ON l.id = r.lot_id "
            "JOIN products p ON p.gtin = l.gtin WHERE r.recall_id = %s ORDER BY r.rank",
            (recall_id,),
        ).fetchall()
        notices = cur.execute(
            "SELECT n.level, n.consignee, n.outbox_key, o.status AS outbox_status, "
            "n.acknowledged_at, n.returned_qty FROM recall_notices n "
            "LEFT JOIN outbox o ON o.idempotency_key = n.outbox_key "
            "WHERE n.recall_id = %s ORDER BY n.level DESC, n.consignee",
            (recall_id,),
        ).fetchall()
    return RecallDetail(
        **head,
        scope=scope_counts(conn, recall_id),
        lots=[RecallLot(**r) for r in lots],
        notices=[Notice(**r) for r in notices],
    )
