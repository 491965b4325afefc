"""The demo's cold-chain story, in a thread beside the appliance fleet.

The simulator's network (:mod:`simulators.coldchain`) is imported for the demo's
customers; its loggers publish over MQTT like any device; the failing truck's leg is
judged by ingest's handlers and proposes a recall; the story checks the proposed scope
against the simulator's truth, approves it as quality staff would, and traces a
complaint back to the excursion. The notices reach the console's Mail page through the
outbox. Run once per data folder: a resumed demo only reports what is there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.demo.story_thread import StoryThread
from crm_core.recalls import service as recalls
from crm_core.traceability.model import Network
from crm_core.traceability.postgres import import_network
from crm_core.traceability.queries import backward_from_lot, lots_of_receipt
from simulators.coldchain import Scenario
from simulators.publisher import Publisher

log = logging.getLogger(__name__)
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
QUALITY_ACTOR = "demo quality staff"


@dataclass(frozen=True, slots=True)
class ScopeCheck:
    recall_id: int
    lots: bool
    stores: bool
    customers: bool

    @property
    def exact(self) -> bool:
        return self.lots and self.stores and self.customers


def compare_with_truth(
    conn: psycopg.Connection[TupleRow], recall_id: int, scenario: Scenario, customers: list[int]
) -> ScopeCheck:
    """Whether the recall's scope is exactly what the simulation exposed."""
    assert scenario.truth is not None
    truth = scenario.truth
    lots = {
        (str(g).strip(), str(c))
        for g, c in conn.execute(
            "SELECT l.gtin, l.lot_code FROM recall_lots r JOIN lots l ON l.id = r.lot_id "
            "WHERE r.recall_id = %s AND r.included",
            (recall_id,),
        ).fetchall()
    }
    ids = [
        int(r[0])
        for r in conn.execute(
            "SELECT lot_id FROM recall_lots WHERE recall_id = %s AND included", (recall_id,)
        ).fetchall()
    ]
    stores = {
        str(r[0])
        for r in conn.execute(
            "SELECT DISTINCT store_gln FROM deliveries WHERE lot_id = ANY(%s)", (ids,)
        ).fetchall()
    }
    buyers = {
        int(r[0])
        for r in conn.execute(
            "SELECT DISTINCT customer_id FROM purchases WHERE lot_id = ANY(%s)", (ids,)
        ).fetchall()
    }
    return ScopeCheck(
        recall_id,
        lots == set(truth.lots),
        stores == set(truth.stores),
        buyers == {customers[n] for n in truth.customers},
    )


def seed_network(pool: Pool, scenario: Scenario) -> list[int] | None:
    """The loggers, the network and the purchases of the demo's customers; None when an
    earlier run seeded them already."""
    with pool.connection() as conn:
        if conn.execute("SELECT 1 FROM shipments WHERE reference = 'SH-101'").fetchone():
            return None
        customers = [
            int(r[0])
            for r in conn.execute(
                "SELECT id FROM customers ORDER BY id LIMIT %s",
                (scenario.customers,),
            ).fetchall()
        ]
        if len(customers) < scenario.customers:
            raise RuntimeError("the demo's customers are not seeded")
        conn.cursor().executemany(
            "INSERT INTO devices (serial, device_type, model) VALUES (%s, 'temperature_logger', "
            "'ColdTrack CT-5') ON CONFLICT (serial) DO NOTHING",
            [(serial,) for serial in sorted(scenario.loggers)],
        )
        doc = Network.model_validate(
            {**scenario.network, "purchases": scenario.purchase_docs(customers)}
        )
        import_network(conn, doc, actor="demo", now=datetime.now(UTC))
    return customers


class ColdChainStory(StoryThread):
    name = "cold-chain"

    def __init__(
        self,
        pool: Pool,
        host: str,
        port: int,
        say: Callable[[str], None],
        console_url: str,
        refresh_devices: Callable[[], object],
    ) -> None:
        super().__init__(pool)
        self._host, self._port = host, port
        self._say, self._console = say, console_url
        self._refresh = refresh_devices
        self.check: ScopeCheck | None = None

    def story(self) -> None:
        # After the fleet's first ticket (or 40 s): the cold chain must not slow it.
        self.wait_for_a_ticket("SELECT 1 FROM tickets LIMIT 1")
        scenario = Scenario(start=time.time() - 3 * 86400, customers=12).build()
        customers = seed_network(self._pool, scenario)
        if customers is None:
            self._say("cold chain: network already seeded; recalls at /console/recalls")
            return
        self._refresh()
        self._say(
            f"cold chain: {len(scenario.loggers)} loggers on 14 legs; truck TR-12's unit fails "
            f"for {scenario.failure_min} min"
        )
        with Publisher(self._host, self._port, client_id="careline-coldchain-sim") as pub:
            for logger in sorted(scenario.loggers):
                for _, pack in scenario.packs(logger):
                    pub.publish(f"dt/{logger}/senml", pack)
            pub.flush(30)
        recall_id = self._wait_for_recall()
        if recall_id is None:
            self._say("cold chain: no recall proposed within a minute (see the log)")
            return
        with self._pool.connection() as conn:
            check = compare_with_truth(conn, recall_id, scenario, customers)
        self.check = check
        verdict = "exactly the exposed scope" if check.exact else f"NOT the truth: {check}"
        self._say(
            f"cold chain: recall #{recall_id} proposed with {verdict} "
            f"({len(scenario.truth.lots) if scenario.truth else 0} lots, "
            f"{len(scenario.truth.stores) if scenario.truth else 0} stores, "
            f"{len(scenario.truth.customers) if scenario.truth else 0} customers)\n"
            f"    {self._console}/console/recalls/{recall_id}"
        )
        with self._pool.connection() as conn, conn.transaction():
            sent = recalls.approve(
                conn, recall_id, "II", QUALITY_ACTOR, datetime.now(UTC), contact="0800 123 456"
            )
        self._say(
            f"cold chain: approved as class II by quality staff: {sent} notices queued "
            f"(Mail page: {self._console}/console/mail)"
        )
        assert scenario.truth is not None
        complainant = min(scenario.truth.customers)
        with self._pool.connection() as conn:
            lot_id = lots_of_receipt(conn, f"R-{complainant:05d}")[0]
            back = backward_from_lot(conn, lot_id)
        bad = [h for h in back.legs if h.breached]
        where = ", ".join(f"{h.leg.shipment} leg {h.leg.seq} ({h.leg.vehicle})" for h in bad)
        self._say(
            f"cold chain: a complaint about lot {back.lot.lot} traces back to {where}\n"
            f"    {self._console}/console/trace?receipt=R-{complainant:05d}"
        )

    def _wait_for_recall(self) -> int | None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self._stop.is_set():
            with self._pool.connection() as conn:
                row = conn.execute(
                    "SELECT id FROM recalls WHERE status = 'proposed' ORDER BY id LIMIT 1"
                ).fetchone()
            if row is not None:
                time.sleep(1.0)  # let the rest of the upload land (later legs)
                return int(row[0])
            self._stop.wait(0.5)
        return None
