"""What quality staff do with an investigation, each in the caller's transaction: add a
note, link it to a recall or open a recall from it, close it with an outcome, reopen it.

Every move locks the investigation, writes a line to its timeline
(``investigation_events``) and one to the audit log. A recall opened here is a proposal
like any other: its scope (the investigation's lots, and the lots repacked from them) waits
for review and approval before anything reaches a store or a customer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from crm_core.kernel.audit import record_audit
from crm_core.kernel.errors import NotFound
from crm_core.recalls import postgres as store
from crm_core.recalls.model import RecallError
from crm_core.recalls.proposal import with_repacked_lots
from crm_core.recalls.scope import Ranked
from crm_core.traceability.queries import backward_from_lot

Conn = store.Conn
Outcome = Literal[
    "no_issue_found",
    "recall_opened",
    "supplier_issue",
    "cold_chain_issue",
    "store_handling",
    "other",
]
OUTCOMES: dict[str, str] = {
    "no_issue_found": "No issue found",
    "recall_opened": "Recall opened",
    "supplier_issue": "Supplier issue",
    "cold_chain_issue": "Cold-chain issue (transport or storage)",
    "store_handling": "Store handling",
    "other": "Other",
}


class InvestigationError(RecallError):
    """A move the investigation's state does not allow (close twice, reopen an open one)."""


def _clean(text: str, what: str) -> str:
    cleaned = text.strip()
    if not cleaned or "\x00" in cleaned or len(cleaned) > 4000:
        raise InvestigationError(f"the {what} must be 1 to 4,000 characters, without NUL")
    return cleaned


def _locked(conn: Conn, investigation_id: int) -> tuple[str, int, int | None]:
    row = conn.execute(
        "SELECT status, lot_id, recall_id FROM investigations WHERE id = %s FOR UPDATE",
        (investigation_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no investigation {investigation_id}")
    return str(row[0]), int(row[1]), None if row[2] is None else int(row[2])


def _event(
    conn: Conn,
    investigation_id: int,
    kind: str,
    body: str,
    actor: str,
    now: datetime,
    *,
    recall_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        "INSERT INTO investigation_events (investigation_id, at, actor, kind, body, recall_id) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (investigation_id, now, actor, kind, body, recall_id),
    )
    record_audit(
        conn,
        at=now,
        actor=actor,
        entity="investigation",
        entity_id=investigation_id,
        action=kind,
        detail={"text": body, "recall_id": recall_id, **(detail or {})},
    )


def add_note(conn: Conn, investigation_id: int, text: str, actor: str, now: datetime) -> None:
    _locked(conn, investigation_id)
    _event(conn, investigation_id, "note", _clean(text, "note"), actor, now)


def link_recall(
    conn: Conn, investigation_id: int, recall_id: int, actor: str, now: datetime
) -> None:
    """Point an open investigation at an existing recall (one that covers its lot)."""
    status, _, linked = _locked(conn, investigation_id)
    if status != "open":
        raise InvestigationError(f"investigation {investigation_id} is closed: reopen it first")
    store.status_of(conn, recall_id)  # NotFound when there is no such recall
    if linked == recall_id:
        raise InvestigationError(f"investigation {investigation_id} is linked to it already")
    conn.execute(
        "UPDATE investigations SET recall_id = %s WHERE id = %s", (recall_id, investigation_id)
    )
    body = f"linked to recall #{recall_id}" + (f" (was #{linked})" if linked else "")
    _event(conn, investigation_id, "recall_linked", body, actor, now, recall_id=recall_id)


def open_recall(conn: Conn, investigation_id: int, actor: str, now: datetime) -> int:
    """A proposed recall of the investigation's lots and those repacked from them, with the
    complaints and the lots' legs that broke a rule as evidence; its id."""
    status, lot_id, _ = _locked(conn, investigation_id)
    if status != "open":
        raise InvestigationError(f"investigation {investigation_id} is closed: reopen it first")
    complaints = conn.execute(
        "SELECT count(*), array_agg(DISTINCT lot_id) FROM complaints WHERE investigation_id = %s",
        (investigation_id,),
    ).fetchone()
    assert complaints is not None
    lot_ids = sorted({lot_id, *(int(i) for i in complaints[1] or [])})
    traces = [backward_from_lot(conn, i) for i in lot_ids]
    suspect = [(t.lot.lot, h) for t in traces for h in t.legs if h.breached]
    legs: list[dict[str, Any]] = [
        {
            "lot": lot,
            "shipment": h.leg.shipment,
            "seq": h.leg.seq,
            "vehicle": h.leg.vehicle,
            "max_temp": h.max_temp,
            "breached": h.breached,
        }
        for lot, h in suspect
    ]
    product = traces[0].lot.product
    codes = ", ".join(t.lot.lot for t in traces)
    evidence: dict[str, Any] = {
        "investigation_id": investigation_id,
        "complaints": int(complaints[0]),
        "product": product,
        "gtin": traces[0].lot.gtin,
        "rules": sorted({r for _, h in suspect for r in h.breached}),
        "suspect_legs": legs,
        "lots": {str(t.lot.lot_id): {"budget_used_min": t.budget_used_min} for t in traces},
    }
    reason = (
        f"{complaints[0]} complaints about {product} lot {codes} (investigation {investigation_id})"
    )
    if suspect:
        reason += "; " + ", ".join(
            f"{h.leg.shipment} leg {h.leg.seq} broke {', '.join(h.breached)}" for _, h in suspect
        )
    recall_id = store.insert_recall(
        conn, "investigation", f"investigation:{investigation_id}", reason, evidence, now
    )
    if recall_id is None:
        raise InvestigationError(f"investigation {investigation_id} opened a recall already")
    direct = [
        Ranked(
            t.lot.lot_id,
            True,
            f"in: lot {t.lot.lot} is the subject of investigation {investigation_id}'s complaints",
        )
        for t in traces
    ]
    scope = with_repacked_lots(conn, direct, dict.fromkeys(lot_ids))
    store.set_lots(conn, recall_id, [(r.lot_id, r.included, r.why) for r in scope])
    conn.execute(
        "UPDATE investigations SET recall_id = %s WHERE id = %s", (recall_id, investigation_id)
    )
    record_audit(
        conn,
        at=now,
        actor=actor,
        entity="recall",
        entity_id=recall_id,
        action="proposed",
        detail={"investigation_id": investigation_id, "lots": lot_ids},
    )
    _event(
        conn,
        investigation_id,
        "recall_opened",
        f"opened recall #{recall_id} ({len(scope)} lot{'s' if len(scope) != 1 else ''} ranked)",
        actor,
        now,
        recall_id=recall_id,
    )
    return recall_id


def close(
    conn: Conn,
    investigation_id: int,
    outcome: Outcome,
    conclusion: str,
    actor: str,
    now: datetime,
) -> None:
    """Close with an outcome and a conclusion; "recall opened" needs a linked recall."""
    conclusion = _clean(conclusion, "conclusion")
    status, _, linked = _locked(conn, investigation_id)
    if status != "open":
        raise InvestigationError(f"investigation {investigation_id} is closed already")
    if outcome == "recall_opened" and linked is None:
        raise InvestigationError(
            "the outcome 'recall opened' needs a recall: open one from the investigation or "
            "link it first"
        )
    conn.execute(
        "UPDATE investigations SET status = 'closed', outcome = %s, conclusion = %s, "
        "closed_by = %s, closed_at = %s WHERE id = %s",
        (outcome, conclusion, actor, now, investigation_id),
    )
    _event(
        conn,
        investigation_id,
        "closed",
        f"{OUTCOMES[outcome]}: {conclusion}",
        actor,
        now,
        recall_id=linked,
        detail={"outcome": outcome},
    )


def reopen(conn: Conn, investigation_id: int, why: str, actor: str, now: datetime) -> None:
    """Open a closed investigation again (new evidence); refused while another
    investigation of the same lot is open."""
    why = _clean(why, "reason")
    status, lot_id, _ = _locked(conn, investigation_id)
    if status != "closed":
        raise InvestigationError(f"investigation {investigation_id} is open already")
    # the complaints rule locks the lot too before it opens an investigation
    conn.execute("SELECT id FROM lots WHERE id = %s FOR UPDATE", (lot_id,))
    other = conn.execute(
        "SELECT id FROM investigations WHERE lot_id = %s AND status = 'open'", (lot_id,)
    ).fetchone()
    if other is not None:
        raise InvestigationError(
            f"investigation {other[0]} of the same lot is open: add to it instead"
        )
    conn.execute(
        "UPDATE investigations SET status = 'open', outcome = NULL, conclusion = NULL, "
        "closed_by = NULL, closed_at = NULL WHERE id = %s",
        (investigation_id,),
    )
    _event(conn, investigation_id, "reopened", why, actor, now)
