"""A recall proposed from a cold-chain excursion, and its scope reviewed by quality staff.

:func:`propose_for_excursion` gathers the leg's evidence and ranks every lot that travelled
on it, and the lots repacked from them, in or out of scope, saying why; :func:`change_lot`
is staff moving a lot in or out before approval. Both run in the caller's transaction and
reach no store or customer: only :func:`crm_core.recalls.service.approve` writes notices.
"""

from __future__ import annotations

from datetime import datetime

from crm_core.kernel.audit import record_audit
from crm_core.recalls import postgres as store
from crm_core.recalls.evidence import budget_used, leg_evidence
from crm_core.recalls.model import RecallError
from crm_core.recalls.scope import Made, Ranked, with_repacked
from crm_core.traceability.lineage import repacks_from

Conn = store.Conn


def propose_for_excursion(
    conn: Conn, leg_id: int, gtin: str, rules: tuple[str, ...], now: datetime
) -> int | None:
    """A proposed recall for the leg: the lots of ``gtin`` and of every other product the
    leg broke a rule of, with the evidence and every lot of the leg ranked in or out with
    why; None if the leg already has one."""
    evidence = leg_evidence(conn, leg_id, gtin)
    evidence["rules"] = list(rules)
    lots = conn.execute(
        "SELECT DISTINCT l.id, l.gtin, l.lot_code, coalesce(e.breached, '{}') FROM leg_lots ll "
        "JOIN lots l ON l.id = ll.lot_id "
        "LEFT JOIN leg_evaluations e ON e.leg_id = ll.leg_id AND e.gtin = l.gtin "
        "WHERE ll.leg_id = %s",
        (leg_id,),
    ).fetchall()
    used = budget_used(conn, [int(r[0]) for r in lots])
    ranked: list[tuple[int, bool, str, float]] = []
    for lot_id, lot_gtin, code, breached in lots:
        spent, budget = used.get(int(lot_id), (0.0, 0))
        share = spent / budget if budget else (1.0 if spent else 0.0)
        ledger = f"stability budget used {spent:.0f} of {budget} min"
        if lot_gtin == gtin or breached:
            why = (
                f"in: lot {code} travelled on {evidence['vehicle'] or 'the leg'} of "
                f"{evidence['shipment']} (leg {evidence['leg_seq']}), which broke "
                f"{', '.join(breached or rules)}; {ledger}"
            )
            ranked.append((int(lot_id), True, why, 1.0 + share))
        else:
            why = (
                f"out: lot {code} was on the same leg but its product stayed within its "
                f"labelled range; {ledger}"
            )
            ranked.append((int(lot_id), False, why, share))
    ranked.sort(key=lambda r: (-r[3], r[0]))
    departed = conn.execute(
        "SELECT departed_at FROM shipment_legs WHERE id = %s", (leg_id,)
    ).fetchone()
    assert departed is not None
    scope = with_repacked_lots(
        conn,
        [Ranked(lot, inc, why) for lot, inc, why, _ in ranked],
        {lot: departed[0] for lot, inc, _, _ in ranked if inc},
    )
    used = budget_used(conn, [r.lot_id for r in scope])  # a repacked lot's own legs
    evidence["lots"] = {
        str(r.lot_id): {"budget_used_min": used.get(r.lot_id, (0, 0))[0]} for r in scope
    }
    reason = (
        f"{evidence['product']} above its labelled range "
        f"{evidence['range'][0]:g}-{evidence['range'][1]:g} °C on {evidence['shipment']} "
        f"leg {evidence['leg_seq']} ({evidence['vehicle']}): {evidence['tor_min']:.0f} min out "
        f"of range, longest {evidence['longest_min']:.0f} min, max {evidence['max_temp']}, "
        f"MKT {evidence['mkt']:.2f} °C"
        if evidence["mkt"] is not None
        else f"{evidence['product']}: excursion on {evidence['shipment']}"
    )
    recall_id = store.insert_recall(
        conn, "excursion", f"excursion:leg{leg_id}", reason, evidence, now
    )
    if recall_id is None:
        return None
    store.set_lots(conn, recall_id, [(r.lot_id, r.included, r.why) for r in scope])
    record_audit(
        conn,
        at=now,
        actor="system",
        entity="recall",
        entity_id=recall_id,
        action="proposed",
        detail={"leg_id": leg_id, "gtin": gtin, "rules": list(rules)},
    )
    return recall_id


def with_repacked_lots(
    conn: Conn, direct: list[Ranked], exposed_at: dict[int, datetime | None]
) -> list[Ranked]:
    """``direct`` with the lots repacked from them (and from those...) ranked after their
    source, in scope if made from a lot in scope after it was exposed."""
    made = [
        Made(r.lot_id, r.source_id, r.reference, r.site, r.at)
        for r in repacks_from(conn, [r.lot_id for r in direct])
    ]
    ids = sorted(
        {r.lot_id for r in direct} | {m.lot_id for m in made} | {m.source_id for m in made}
    )
    codes = {
        int(i): str(c)
        for i, c in conn.execute(
            "SELECT id, lot_code FROM lots WHERE id = ANY(%s)", (ids,)
        ).fetchall()
    }
    return with_repacked(direct, exposed_at, made, codes)


def change_lot(
    conn: Conn, recall_id: int, lot_id: int, included: bool, why: str, actor: str, now: datetime
) -> None:
    """Quality staff put a lot in or out of a proposed recall's scope, saying why."""
    if store.status_of(conn, recall_id, lock=True) != "proposed":
        raise RecallError(f"recall {recall_id} is no longer a proposal: its scope is fixed")
    rank = conn.execute(
        "SELECT coalesce(max(rank), 0) + 1 FROM recall_lots WHERE recall_id = %s", (recall_id,)
    ).fetchone()
    conn.execute(
        "INSERT INTO recall_lots (recall_id, lot_id, included, why, rank) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (recall_id, lot_id) "
        "DO UPDATE SET included = excluded.included, why = excluded.why",
        (
            recall_id,
            lot_id,
            included,
            f"{'in' if included else 'out'} ({actor}): {why}",
            rank[0] if rank else 1,
        ),
    )
    record_audit(
        conn,
        at=now,
        actor=actor,
        entity="recall",
        entity_id=recall_id,
        action="scope_changed",
        detail={"lot_id": lot_id, "included": included, "why": why},
    )
