"""Complaints about products, and the investigation several of them open.

A complaint names its lot (from the pack's GS1 code or the receipt). When a lot has
``threshold`` complaints within ``window`` (counting this one), an investigation opens
automatically, once per lot while open, with the backward traces of the complaints' lots
side by side for quality staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import Field

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
    customer: str | None = None
    receipt: str | None
    description: str
    received_at: UtcDateTime
    lot_id: int = 0
    lot: str = ""
    product: str = ""
    investigation_id: int | None = None
    investigation_status: str | None = None


class InvestigationEvent(ReadModel):
    at: UtcDateTime
    actor: str
    kind: str  # note | recall_linked | recall_opened | closed | reopened
    body: str
    recall_id: int | None


class Investigation(ReadModel):
    id: int
    status: str
    opened_at: UtcDateTime
    reason: str
    lot_id: int = 0
    rule: str = ""  # the rule that opened it, as configured
    recall_id: int | None = None
    outcome: str | None = None
    conclusion: str | None = None
    closed_by: str | None = None
    closed_at: UtcDateTime | None = None
    events: list[InvestigationEvent] = Field(default_factory=list)
    complaints: list[ComplaintRef]
    traces: list[BackwardTrace]


COMPLAINT_COLUMNS = (
    "c.id, c.customer_id, cu.name, c.receipt, c.description, c.received_at, c.lot_id, "
    "l.lot_code, p.name, c.investigation_id, i.status"
)
COMPLAINT_JOINS = (
    "FROM complaints c LEFT JOIN customers cu ON cu.id = c.customer_id "
    "JOIN lots l ON l.id = c.lot_id JOIN products p ON p.gtin = l.gtin "
    "LEFT JOIN investigations i ON i.id = c.investigation_id"
)


def _complaint(row: tuple[object, ...]) -> ComplaintRef:
    keys = (
        "id",
        "customer_id",
        "customer",
        "receipt",
        "description",
        "received_at",
        "lot_id",
        "lot",
        "product",
        "investigation_id",
        "investigation_status",
    )
    return ComplaintRef.model_validate(dict(zip(keys, row, strict=True)))


def rule_text(threshold: int = COMPLAINT_THRESHOLD, window: timedelta = COMPLAINT_WINDOW) -> str:
    return f"{threshold} complaints about one lot within {window.days} days"


def list_complaints(conn: Conn, limit: int = 200) -> list[ComplaintRef]:
    """The newest complaints, each with its customer, lot and investigation."""
    return [
        _complaint(r)
        for r in conn.execute(
            f"SELECT {COMPLAINT_COLUMNS} {COMPLAINT_JOINS} ORDER BY c.received_at DESC, c.id DESC "
            "LIMIT %s",
            (limit,),
        ).fetchall()
    ]


def investigation(conn: Conn, investigation_id: int) -> Investigation:
    head = conn.execute(
        "SELECT id, status, opened_at, reason, lot_id, recall_id, outcome, conclusion, "
        "closed_by, closed_at FROM investigations WHERE id = %s",
        (investigation_id,),
    ).fetchone()
    if head is None:
        raise NotFound(f"no investigation {investigation_id}")
    complaints = [
        _complaint(r)
        for r in conn.execute(
            f"SELECT {COMPLAINT_COLUMNS} {COMPLAINT_JOINS} WHERE c.investigation_id = %s "
            "ORDER BY c.received_at, c.id",
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
        lot_id=head[4],
        rule=rule_text(),
        recall_id=head[5],
        outcome=head[6],
        conclusion=head[7],
        closed_by=head[8],
        closed_at=head[9],
        events=[
            InvestigationEvent(at=a, actor=w, kind=k, body=b, recall_id=r)
            for a, w, k, b, r in conn.execute(
                "SELECT at, actor, kind, body, recall_id FROM investigation_events "
                "WHERE investigation_id = %s ORDER BY at, id",
                (investigation_id,),
            ).fetchall()
        ],
        complaints=complaints,
        traces=[backward_from_lot(conn, i) for i in lots],
    )


class InvestigationRow(ReadModel):
    id: int
    status: str
    opened_at: UtcDateTime
    reason: str
    lot_id: int
    lot: str
    product: str
    complaints: int
    outcome: str | None = None
    recall_id: int | None = None


def list_investigations(conn: Conn, limit: int = 100) -> list[InvestigationRow]:
    """Investigations, open ones first, newest first."""
    keys = (
        "id",
        "status",
        "opened_at",
        "reason",
        "lot_id",
        "lot",
        "product",
        "complaints",
        "outcome",
        "recall_id",
    )
    return [
        InvestigationRow.model_validate(dict(zip(keys, r, strict=True)))
        for r in conn.execute(
            "SELECT i.id, i.status, i.opened_at, i.reason, i.lot_id, l.lot_code, p.name, "
            "(SELECT count(*) FROM complaints c WHERE c.investigation_id = i.id), i.outcome, "
            "i.recall_id FROM investigations i JOIN lots l ON l.id = i.lot_id "
            "JOIN products p ON p.gtin = l.gtin "
            "ORDER BY i.status = 'open' DESC, i.opened_at DESC, i.id DESC LIMIT %s",
            (limit,),
        ).fetchall()
    ]
