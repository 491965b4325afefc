"""Traces follow lots through repacking (TransformationEvent), both ways."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.traceability.model import Network, TraceabilityError
from crm_core.traceability.postgres import import_network
from crm_core.traceability.queries import backward_from_lot, find_lot, forward_from_shipment
from tests.integration.repack_world import MILK, NOW, STORE, build

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def test_forward_from_the_failing_truck_reaches_the_buyer_of_the_repacked_lot(db: Pool) -> None:
    _, customers = build(db)
    with db.connection() as conn:
        trace = forward_from_shipment(conn, "SH-101")  # the failing truck carried LM2
        assert {lot.lot for lot in trace.lots} >= {"LM2", "LM3", "LM2-R"}
        assert customers[-1] in {c.customer_id for c in trace.customers}
        assert STORE in {s.gln for s in trace.stores}
        assert "SH-R1" in {leg.shipment for leg in trace.legs}
        assert [t.reference for t in trace.repacked] == ["RP-1"]
        # the other truck's shipment did not carry the repacked lot's input: no repack there
        other = forward_from_shipment(conn, "SH-100")
        assert "LM2-R" in {lot.lot for lot in other.lots}  # LM2 was split across both trucks
        untouched = forward_from_shipment(conn, "SH-200")
        assert "LM2-R" not in {lot.lot for lot in untouched.lots}


def test_backward_from_the_repacked_lot_reaches_its_inputs_legs(db: Pool) -> None:
    build(db)
    with db.connection() as conn:
        repacked = find_lot(conn, MILK, "LM2-R")
        source = find_lot(conn, MILK, "LM2")
        back = backward_from_lot(conn, repacked)
        assert [s.lot for s in back.sources] == ["LM2"]
        on = {(h.leg.shipment, h.lot_id) for h in back.legs}
        # its own leg, and both trucks its input travelled on
        assert {("SH-R1", repacked), ("SH-100", source), ("SH-101", source)} <= on
        failing = next(h for h in back.legs if h.leg.shipment == "SH-101")
        assert failing.loggers == ["LG-12"]
        assert failing.sscc
        # where the rest of LM2 went after the repacking is not the repacked lot's history
        assert {h.leg.shipment for h in back.legs} == {"SH-100", "SH-101", "SH-R1"}
        # the input's own backward trace does not reach the repacked lot's leg
        assert "SH-R1" not in {h.leg.shipment for h in backward_from_lot(conn, source).legs}


def test_a_transformation_is_written_once_and_checked(db: Pool) -> None:
    build(db)
    with db.connection() as conn:
        again = Network.model_validate(
            {
                "transformations": [
                    {
                        "reference": "RP-1",
                        "site": STORE,  # a replay with other content changes nothing
                        "at": NOW.isoformat(),
                        "inputs": [{"gtin": MILK, "lot": "LM1", "quantity": 1}],
                        "outputs": [{"gtin": MILK, "lot": "LM2-R", "quantity": 1}],
                    }
                ]
            }
        )
        assert import_network(conn, again, actor="t", now=NOW).transformations == 0
        rows = conn.execute("SELECT count(*) FROM transformation_lots").fetchone()
        assert rows == (2,)
        with pytest.raises(ValueError, match="both an input and an output"):
            Network.model_validate(
                {
                    "transformations": [
                        {
                            "reference": "RP-2",
                            "site": STORE,
                            "at": NOW.isoformat(),
                            "inputs": [{"gtin": MILK, "lot": "LM1", "quantity": 1}],
                            "outputs": [{"gtin": MILK, "lot": "LM1", "quantity": 1}],
                        }
                    ]
                }
            )
        unknown = Network.model_validate(
            {
                "transformations": [
                    {
                        "reference": "RP-3",
                        "site": STORE,
                        "at": NOW.isoformat(),
                        "inputs": [{"gtin": MILK, "lot": "NOPE", "quantity": 1}],
                        "outputs": [{"gtin": MILK, "lot": "LM1", "quantity": 1}],
                    }
                ]
            }
        )
        with pytest.raises(TraceabilityError, match="unknown lot"):
            import_network(conn, unknown, actor="t", now=NOW)
