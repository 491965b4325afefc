"""Recall use cases, each in the caller's transaction: approve (quality staff; only then do
notices go out), acknowledge, close. Proposing a recall and reviewing its scope come before,
in :mod:`crm_core.recalls.proposal`.

Nothing reaches a store or a customer before approval: notices are written to the outbox
by :func:`approve` alone. Customer notices are ``safety`` messages, sent whatever the
marketing consent says; the consent ledger's reason is recorded in the message's payload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from crm_core.consent.postgres import PostgresConsentLedger
from crm_core.consent.service import may_send
from crm_core.kernel.audit import record_audit
from crm_core.notifications.model import Message
from crm_core.notifications.postgres import PostgresOutbox
from crm_core.recalls import postgres as store
from crm_core.recalls.model import Level, RecallClass, RecallError, effectiveness, notice_text
from crm_core.traceability.queries import forward_from_lots

Conn = store.Conn
STORE_REASON = "safety notices are always sent"
"""Stores are business consignees: 21 CFR 7.49 requires the notice; no consent applies."""


def approve(
    conn: Conn,
    recall_id: int,
    recall_class: RecallClass,
    actor: str,
    now: datetime,
    *,
    contact: str,
) -> int:
    """Approve the scope as it stands and write every notice to the outbox; their count."""
    if store.status_of(conn, recall_id, lock=True) != "proposed":
        raise RecallError(f"recall {recall_id} is not awaiting approval")
    lot_ids = store.included_lots(conn, recall_id)
    if not lot_ids:
        raise RecallError("a recall needs at least one lot in scope")
    reason = conn.execute("SELECT reason FROM recalls WHERE id = %s", (recall_id,)).fetchone()
    assert reason is not None
    conn.execute(
        "UPDATE recalls SET status = 'approved', recall_class = %s, approved_by = %s, "
        "approved_at = %s WHERE id = %s",
        (recall_class, actor, now, recall_id),
    )
    # the approved lots alone: the lots repacked from them are in the scope's list, and
    # one the reviewer took out must not be notified through its source
    trace = forward_from_lots(conn, lot_ids, through_repacking=False)
    by_id = {lot.lot_id: lot for lot in trace.lots}
    products = sorted({lot.product for lot in trace.lots})
    codes = ", ".join(sorted({f"GTIN {lot.gtin}" for lot in trace.lots}))
    outbox, ledger = PostgresOutbox(conn), PostgresConsentLedger(conn)
    sent = 0

    def text(level: Level, lots: list[int]) -> tuple[str, str]:
        names = sorted({by_id[i].lot for i in lots if i in by_id})
        return notice_text(
            recall_class, " / ".join(products), names, codes, str(reason[0]), level, contact
        )

    emails: dict[str, str | None] = dict(
        conn.execute(
            "SELECT gln, email FROM supply_sites WHERE gln = ANY(%s)",
            ([s.gln for s in trace.stores],),
        ).fetchall()
    )
    for s in trace.stores:
        key = f"recall:{recall_id}:store:{s.gln}"
        address = emails.get(s.gln)
        if address:
            subject, body = text("store", s.lots)
            outbox.enqueue(
                Message(
                    key,
                    None,
                    "email",
                    "safety",
                    str(address),
                    subject,
                    body,
                    {"recall_id": recall_id, "store": s.gln, "consent": STORE_REASON},
                ),
                now,
            )
            sent += 1
        store.add_notice(conn, recall_id, "store", s.gln, key if address else None)
    for c in trace.customers:
        key = f"recall:{recall_id}:customer:{c.customer_id}"
        decision = may_send(ledger, c.customer_id, "safety", "email")
        if c.email:
            subject, body = text("customer", c.lots)
            outbox.enqueue(
                Message(
                    key,
                    c.customer_id,
                    "email",
                    "safety",
                    c.email,
                    subject,
                    f"Hello {c.name},\n\n{body}",
                    {"recall_id": recall_id, "consent": decision.reason},
                ),
                now,
            )
            sent += 1
        store.add_notice(conn, recall_id, "customer", str(c.customer_id), key if c.email else None)
    record_audit(
        conn,
        at=now,
        actor=actor,
        entity="recall",
        entity_id=recall_id,
        action="approved",
        detail={
            "class": recall_class,
            "lots": lot_ids,
            "stores": len(trace.stores),
            "customers": len(trace.customers),
        },
    )
    return sent


def acknowledge(
    conn: Conn,
    recall_id: int,
    level: Level,
    consignee: str,
    returned_qty: int,
    actor: str,
    now: datetime,
) -> None:
    """A consignee confirmed the notice (and returned some units): the effectiveness check."""
    cur = conn.execute(
        "UPDATE recall_notices SET acknowledged_at = coalesce(acknowledged_at, %s), "
        "returned_qty = greatest(returned_qty, %s) WHERE recall_id = %s AND level = %s "
        "AND consignee = %s",
        (now, returned_qty, recall_id, level, consignee),
    )
    if cur.rowcount == 0:
        raise RecallError(f"recall {recall_id} sent no notice to {level} {consignee}")
    record_audit(
        conn,
        at=now,
        actor=actor,
        entity="recall",
        entity_id=recall_id,
        action="acknowledged",
        detail={"level": level, "consignee": consignee, "returned_qty": returned_qty},
    )


def effectiveness_report(conn: Conn, recall_id: int) -> dict[str, Any]:
    rows = conn.execute(
        "SELECT level, count(*), count(acknowledged_at), sum(returned_qty) FROM recall_notices "
        "WHERE recall_id = %s GROUP BY level ORDER BY level",
        (recall_id,),
    ).fetchall()
    report: dict[str, Any] = {}
    for level, total, reached, returned in rows:
        check, share = effectiveness(reached=int(reached), total=int(total))
        report[str(level)] = {
            "consignees": int(total),
            "reached": int(reached),
            "share": round(share, 4),
            "level": check,
            "returned_qty": int(returned or 0),
        }
    return report


def close(conn: Conn, recall_id: int, actor: str, now: datetime) -> dict[str, Any]:
    """Close an approved recall with its report (scope, effectiveness, who and when)."""
    if store.status_of(conn, recall_id, lock=True) != "approved":
        raise RecallError(f"recall {recall_id} is not approved, so it cannot be closed")
    report = {
        "effectiveness": effectiveness_report(conn, recall_id),
        "lots": store.included_lots(conn, recall_id),
        "closed_by": actor,
        "closed_at": now.isoformat(),
    }
    conn.execute(
        "UPDATE recalls SET status = 'closed', closed_at = %s, report = %s WHERE id = %s",
        (now, Jsonb(report), recall_id),
    )
    record_audit(
        conn,
        at=now,
        actor=actor,
        entity="recall",
        entity_id=recall_id,
        action="closed",
        detail=report,
    )
    return report
