"""A recall's scope follows lots through repacking: the failing truck carried LM2, which
was repacked into LM2-R afterwards; the proposal lists LM2-R with why, the counts include
its store and buyer, and the notices go to exactly the approved scope's reach."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.recalls import proposal, service
from crm_core.recalls.postgres import recall_detail
from crm_core.traceability.queries import find_lot
from tests.integration.repack_world import MILK, NOW, STORE, build

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
Conn = psycopg.Connection[TupleRow]


def propose(conn: Conn) -> int:
    leg = conn.execute(
        "SELECT l.id FROM shipment_legs l JOIN shipments s ON s.id = l.shipment_id "
        "WHERE s.reference = 'SH-101'"
    ).fetchone()
    assert leg is not None
    recall_id = proposal.propose_for_excursion(conn, int(leg[0]), MILK, ("single",), NOW)
    assert recall_id is not None
    return recall_id


def reach(conn: Conn, lots: list[int]) -> tuple[set[str], set[int]]:
    stores = {
        str(r[0])
        for r in conn.execute(
            "SELECT DISTINCT store_gln FROM deliveries WHERE lot_id = ANY(%s)", (lots,)
        ).fetchall()
    }
    buyers = {
        int(r[0])
        for r in conn.execute(
            "SELECT DISTINCT customer_id FROM purchases WHERE lot_id = ANY(%s)", (lots,)
        ).fetchall()
    }
    return stores, buyers


def notified(conn: Conn, recall_id: int) -> tuple[set[str], set[int]]:
    rows = conn.execute(
        "SELECT level, consignee FROM recall_notices WHERE recall_id = %s", (recall_id,)
    ).fetchall()
    mails = conn.execute(
        "SELECT customer_id FROM outbox WHERE idempotency_key LIKE %s AND customer_id IS NOT NULL",
        (f"recall:{recall_id}:customer:%",),
    ).fetchall()
    customers = {int(c) for level, c in rows if level == "customer"}
    assert customers == {int(r[0]) for r in mails}  # every customer notice has its mail
    return {str(c) for level, c in rows if level == "store"}, customers


def test_the_proposal_lists_the_repacked_lot_with_why_and_counts_its_reach(db: Pool) -> None:
    _, customers = build(db)
    with db.connection() as conn:
        source, repacked = find_lot(conn, MILK, "LM2"), find_lot(conn, MILK, "LM2-R")
        recall_id = propose(conn)
        detail = recall_detail(conn, recall_id)
        ranked = [lot.lot_id for lot in detail.lots]
        row = next(lot for lot in detail.lots if lot.lot_id == repacked)
        assert row.included
        assert row.why.startswith("in: repacked from lot LM2 on ")
        assert "at Depot South (RP-1)" in row.why
        assert ranked.index(repacked) == ranked.index(source) + 1  # right after its source
        assert [lot.rank for lot in detail.lots] == list(range(1, len(ranked) + 1))
        included = [lot.lot_id for lot in detail.lots if lot.included]
        assert {lot.lot for lot in detail.lots if lot.included} == {"LM2", "LM3", "LM2-R"}
        stores, buyers = reach(conn, included)
        assert STORE in stores
        assert customers[-1] in buyers  # bought only the repacked lot (receipt R-REPACK)
        scope = detail.scope
        assert (scope.lots, scope.repacked_lots) == (3, 1)
        assert (scope.stores, scope.customers) == (len(stores), len(buyers))
        # approval notifies exactly that reach: the repacked lot's buyer included
        sent = service.approve(conn, recall_id, "II", "quality", NOW, contact="0800")
        assert notified(conn, recall_id) == (stores, buyers)
        assert sent == len(stores) + len(buyers)  # every store and shopper has an address
        mail = conn.execute(
            "SELECT body FROM outbox WHERE idempotency_key = %s",
            (f"recall:{recall_id}:customer:{customers[-1]}",),
        ).fetchone()
        assert mail is not None
        assert "Lot number(s): LM2-R" in mail[0]


def test_a_repacked_lot_the_reviewer_takes_out_is_not_notified(db: Pool) -> None:
    _, customers = build(db)
    with db.connection() as conn:
        repacked = find_lot(conn, MILK, "LM2-R")
        recall_id = propose(conn)
        proposal.change_lot(
            conn, recall_id, repacked, False, "repacked after a check; tested fine", "q", NOW
        )
        detail = recall_detail(conn, recall_id)
        included = [lot.lot_id for lot in detail.lots if lot.included]
        assert repacked not in included
        stores, buyers = reach(conn, included)
        assert customers[-1] not in buyers
        assert (detail.scope.lots, detail.scope.repacked_lots) == (2, 0)
        assert (detail.scope.stores, detail.scope.customers) == (len(stores), len(buyers))
        service.approve(conn, recall_id, "II", "quality", NOW, contact="0800")
        assert notified(conn, recall_id) == (stores, buyers)  # nothing through LM2's lineage


def test_a_lot_repacked_before_the_truck_left_is_listed_out(db: Pool) -> None:
    build(db)
    with db.connection() as conn:
        conn.execute(
            "UPDATE lot_transformations SET transformed_at = "
            "(SELECT min(departed_at) - interval '1 hour' FROM shipment_legs)"
        )
        recall_id = propose(conn)
        row = next(lot for lot in recall_detail(conn, recall_id).lots if lot.lot == "LM2-R")
        assert not row.included
        assert "before LM2 was exposed" in row.why
