"""Complaints about products, and the investigation several of them open.

A complaint names its lot (from the pack's GS1 code or the receipt). When a lot has
``threshold`` complaints within ``window`` (counting this one), an investigation opens
automatically, once per lot while open, with the backward traces of the complaints' lots
side by side for quality staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_core.kernel.audit import record_audit
from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import ReadModel, UtcDateTime
from crm_core.recalls.postgres import Conn
from crm_core.traceability.queries import BackwardTrace, backward_from_lot

COMPLAINT_WINDOW = timedelta(days=7)
COMPLAINT_THRESHOLD = 3


@dataclass(frozen=True, slots=True)
class Filed:
    complaint_id: int
    investigation_id: int | None
    opened: bool


def file_complaint(
    conn: Conn,
    *,
    lot_id: int,
    customer_id: int | None,
    receipt: str | None,
    description: str,
    actor: str,
    now: datetime,
    window: timedelta = COMPLAINT_WINDOW,
    threshold: int = COMPLAINT_THRESHOLD,
) -> Filed:
    conn.execute("SELECT id FROM lots WHERE id = %s FOR UPDATE", (lot_id,))
    row = conn.execute(
        "INSERT INTO complaints (customer_id, lot_id, receipt, description, received_at) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (customer_id, lot_id, receipt, description, now),
    ).fetchone()
    assert row is not None
    complaint_id = int(row[0])
    record_audit(
        conn,
        at=now,
        actor=actor,
        entity="complaint",
        entity_id=complaint_id,
        action="filed",
        detail={"lot_id": lot_id, "customer_id": customer_id},
    )
    open_row = conn.execute(
        "SELECT id FROM investigations WHERE lot_id = %s AND status = 'open'", (lot_id,)
    ).fetchone()
    opened = False
    if open_row is None:
        recent = conn.execute(
            "SELECT count(*) FROM complaints WHERE lot_id = %s AND received_at > %s",
            (lot_id, now - window),
        ).fetchone()
        if recent is not None and int(recent[0]) >= threshold:
            open_row = conn.execute(
                "INSERT INTO investigations (lot_id, status, opened_at, reason) "
                "VALUES (%s, 'open', %s, %s) RETURNING id",
                (lot_id, now, f"{recent[0]} complaints within {window.days} days"),
            ).fetchone()
            opened = True
            assert open_row is not None
            record_audit(
                conn,
                at=now,
                actor="system",
                entity="investigation",
                entity_id=open_row[0],
                action="opened",
                detail={"lot_id": lot_id},
            )
            conn.execute(
                "UPDATE complaints SET investigation_id = %s WHERE lot_id = %s "
                "AND received_at > %s AND investigation_id IS NULL",
                (open_row[0], lot_id, now - window),
            )
    if open_row is not None and not opened:
        conn.execute(
            "UPDATE complaints SET investigation_id = %s WHERE id = %s", (open_row[0], complaint_id)
        )
    return Filed(complaint_id, int(open_row[0]) if open_row else None, opened)


class ComplaintRef(ReadModel):
    id: int
    customer_id: int | None
    receipt: str | None
    description: str
    received_at: UtcDateTime


class Investigation(ReadModel):
    id: int
    status: str
    opened_at: UtcDateTime
    reason: str
    complaints: list[ComplaintRef]
    traces: list[BackwardTrace]


def investigation(conn: Conn, investigation_id: int) -> Investigation:
    head = conn.execute(
        "SELECT id, status, opened_at, reason, lot_id FROM investigations WHERE id = %s",
        (investigation_id,),
    ).fetchone()
    if head is None:
        raise NotFound(f"no investigation {investigation_id}")
    complaints = [
        ComplaintRef(id=i, customer_id=c, receipt=r, description=d, received_at=t)
        for i, c, r, d, t, _ in conn.execute(
            "SELECT id, customer_id, receipt, description, received_at, lot_id FROM complaints "
            "WHERE investigation_id = %s ORDER BY received_at",
            (investigation_id,),
        ).fetchall()
    ]
    lots = sorted(
        {
            int(r[0])
            for r in conn.execute(
                "SELECT DISTINCT lot_id FROM complaints WHERE investigation_id = %s",
                (investigation_id,),
            ).fetchall()
        }
        | {int(head[4])}
    )
    return Investigation(
        id=head[0],
        status=head[1],
        opened_at=head[2],
        reason=head[3],
        complaints=complaints,
        traces=[backward_from_lot(conn, i) for i in lots],
    )
