"""Stock and budget off the campaign row: reservations taken in chunks by each deciding thread.

Spending one unit per offer on the campaign row made that row the hottest lock in the
pipeline: every decision transaction held it until commit, so the presence threads queued
behind each other. Instead each deciding thread (a *holder*: this process's token and the
thread's name) takes a chunk of units (stock, and the budget they cost) from the campaign
row in a short transaction on its own connection (:meth:`StockAllocator.top_up`, before
the decisions' transaction locks anything; ``FOR NO KEY UPDATE``, so decisions that
reference the campaign, which take a key-share lock, never wait for it), and spends them
inside the decisions' transaction on its own reservation row, which nobody else writes
(:meth:`StockAllocator.hold`, then :meth:`Held.commit`). So:

- never over stock or budget: the campaign row only gives what it has (``stock``, and
  ``(budget - spent) / cost`` units), and the database checks ``used <= units``;
- a decision rolled back un-spends its unit with it (same transaction);
- units a holder no longer needs come back: :meth:`StockAllocator.release` at a clean stop,
  and, after a crash, any top-up of the campaign takes back reservations whose lease ran
  out (``held_until``, renewed by every use) and that no transaction holds;
- near the end of a campaign's stock, units held by another thread are not offered until
  they come back (under-spending, never over-spending); the chunk stays small for that.

``campaigns.stock`` and ``spent_cents`` count what is not reserved; :data:`BALANCE_SQL`
adds the unused reservations back for the read models.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from crm_core.campaigns.model import Campaign

Connection = psycopg.Connection[TupleRow]

# Campaign columns as the read models show them: stock and spend as if nothing were reserved.
BALANCE_SQL = (
    "LEFT JOIN (SELECT campaign_id, sum(units - used)::integer AS unused "
    "FROM campaign_reservations GROUP BY campaign_id) unused_stock "
    "ON unused_stock.campaign_id = campaigns.id"
)
STOCK_SQL = "campaigns.stock + coalesce(unused_stock.unused, 0)"
SPENT_SQL = "campaigns.spent_cents - coalesce(unused_stock.unused, 0) * campaigns.cost_cents"

_TAKE = """
WITH c AS (
    SELECT id, GREATEST(0, LEAST(%(take)s, stock,
           CASE WHEN cost_cents > 0 THEN (budget_cents - spent_cents) / cost_cents
                ELSE %(take)s END)) AS k
    FROM campaigns WHERE id = %(id)s FOR NO KEY UPDATE
)
UPDATE campaigns SET stock = campaigns.stock - c.k,
       spent_cents = campaigns.spent_cents + c.k * campaigns.cost_cents
FROM c WHERE campaigns.id = c.id
RETURNING c.k, campaigns.stock
"""
_RECLAIM = """
WITH gone AS (
    SELECT campaign_id, holder, units - used AS unused FROM campaign_reservations
    WHERE campaign_id = %(id)s AND held_until < %(now)s AND units > used
    FOR UPDATE SKIP LOCKED
), back AS (
    UPDATE campaign_reservations r SET units = r.used FROM gone
    WHERE r.campaign_id = gone.campaign_id AND r.holder = gone.holder
    RETURNING gone.unused
)
SELECT coalesce(sum(unused), 0)::integer FROM back
"""


@dataclass
class Held:
    """This thread's units, locked in the decisions' transaction; spend, then commit."""

    conn: Connection
    holder: str
    available: dict[int, int]
    empty_why: dict[int, str]
    lease_s: float
    spent: dict[int, int] = field(default_factory=dict)

    def stop(self, campaign_id: int) -> str | None:
        """Why this campaign can give nothing now (``out_of_stock``/``budget_spent``)."""
        if self.available.get(campaign_id, 0) > 0:
            return None
        return self.empty_why.get(campaign_id, "out_of_stock")

    def spend(self, campaign_id: int) -> None:
        assert self.available.get(campaign_id, 0) > 0, "spent a unit not held"
        self.available[campaign_id] -= 1
        self.spent[campaign_id] = self.spent.get(campaign_id, 0) + 1

    def unspend(self, campaign_id: int) -> None:
        self.available[campaign_id] += 1
        self.spent[campaign_id] -= 1

    def commit(self, now: datetime) -> None:
        """Write what was spent (in the caller's transaction; it commits with the offers)."""
        ids = sorted(c for c, n in self.spent.items() if n)
        if not ids:
            return
        self.conn.execute(
            "UPDATE campaign_reservations r SET used = r.used + v.n, held_until = %s "
            "FROM unnest(%s::bigint[], %s::integer[]) AS v(id, n) "
            "WHERE r.campaign_id = v.id AND r.holder = %s",
            (now + timedelta(seconds=self.lease_s), ids, [self.spent[i] for i in ids],
             self.holder),
        )  # fmt: skip
        self.spent.clear()


class StockAllocator:
    """Reservations per (campaign, holder); one holder per deciding thread of this process."""

    def __init__(
        self, conninfo: str | None = None, *, chunk: int = 64, lease_s: float = 300.0
    ) -> None:
        self._conninfo = conninfo
        self.chunk = chunk
        self.lease_s = lease_s
        self.token = uuid.uuid4().hex[:12]
        self._empty_why: dict[int, str] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._own: list[Connection] = []

    def holder(self) -> str:
        return f"{self.token}/{threading.current_thread().name}"

    def _connection(self) -> Connection:
        """This thread's own connection for top-ups (not the pool's: a thread that waits
        for a second pooled connection while it holds one could wait forever)."""
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            assert self._conninfo is not None
            conn = psycopg.connect(self._conninfo)
            self._local.conn = conn
            with self._lock:
                self._own.append(conn)
        return conn

    def top_up(
        self,
        conn: Connection | None,
        campaigns: list[Campaign],
        needed: dict[int, int],
        now: datetime,
    ) -> None:
        """Hold at least ``needed[campaign id]`` units of each campaign where it has them
        (taking at least a chunk when it takes).

        Runs in a transaction of its own (this thread's connection, committed here) so that
        the campaign rows are locked only for this short moment; with no ``conninfo``, in
        ``conn``'s transaction (tests and one-off callers: the rows stay locked until it
        commits). Call it before :meth:`hold` in the decisions' transaction, never after.
        """
        if not campaigns:
            return
        if self._conninfo is None:
            assert conn is not None, "no connection of our own: top up in the caller's"
            self._top_up(conn, campaigns, needed, now)
            return
        own = self._connection()
        with own.transaction():
            self._top_up(own, campaigns, needed, now)

    def _top_up(
        self, conn: Connection, campaigns: list[Campaign], needed: dict[int, int], now: datetime
    ) -> None:
        holder = self.holder()
        rows = conn.execute(
            "SELECT campaign_id, units - used FROM campaign_reservations "
            "WHERE holder = %s AND campaign_id = ANY(%s)",
            (holder, [c.id for c in campaigns]),
        ).fetchall()
        have = {int(r[0]): int(r[1]) for r in rows}
        for campaign in sorted(campaigns, key=lambda c: c.id):  # one lock order for all
            held = have.get(campaign.id, 0)
            want = needed.get(campaign.id, 1)
            if held >= want:
                continue
            # The campaign row first, then reservations: reclaiming locks other holders'
            # rows, and a holder that has the campaign row upserts its own row next; taking
            # them in the other order let two top-ups deadlock (seen in CI).
            conn.execute("SELECT 1 FROM campaigns WHERE id = %s FOR NO KEY UPDATE", (campaign.id,))
            back = conn.execute(_RECLAIM, {"id": campaign.id, "now": now}).fetchone()
            returned = int(back[0]) if back else 0
            if returned:
                conn.execute(
                    "UPDATE campaigns SET stock = stock + %s, spent_cents = spent_cents - %s "
                    "* cost_cents WHERE id = %s",
                    (returned, returned, campaign.id),
                )
            took = conn.execute(
                _TAKE, {"id": campaign.id, "take": max(self.chunk, want) - held}
            ).fetchone()
            units, stock_left = (0, 0) if took is None else (int(took[0]), int(took[1]))
            with self._lock:
                if units + held == 0:
                    self._empty_why[campaign.id] = (
                        "out_of_stock" if stock_left <= 0 else ("budget_spent")
                    )
                else:
                    self._empty_why.pop(campaign.id, None)
            if units:
                conn.execute(
                    "INSERT INTO campaign_reservations (campaign_id, holder, units, held_until) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (campaign_id, holder) DO UPDATE "
                    "SET units = campaign_reservations.units + excluded.units, "
                    "held_until = excluded.held_until",
                    (campaign.id, holder, units, now + timedelta(seconds=self.lease_s)),
                )

    def hold(self, conn: Connection, campaign_ids: list[int]) -> Held:
        """This thread's units of these campaigns, locked in ``conn``'s transaction."""
        holder = self.holder()
        rows = conn.execute(
            "SELECT campaign_id, units - used FROM campaign_reservations "
            "WHERE holder = %s AND campaign_id = ANY(%s) ORDER BY campaign_id FOR UPDATE",
            (holder, campaign_ids),
        ).fetchall()
        with self._lock:
            why = dict(self._empty_why)
        return Held(conn, holder, {int(r[0]): int(r[1]) for r in rows}, why, self.lease_s)

    def close(self) -> None:
        """Close the threads' own connections (what they hold stays held: see the lease)."""
        with self._lock:
            own, self._own = self._own, []
        for c in own:
            c.close()

    def release(self, conn: Connection | None = None) -> int:
        """Give this process's unused units back to their campaigns (a clean stop), and
        close the threads' own connections."""
        self.close()
        if conn is None:
            if self._conninfo is None:
                return 0
            with psycopg.connect(self._conninfo) as mine:
                return self.release(mine)
        rows = conn.execute(
            "WITH mine AS (SELECT campaign_id, holder, units - used AS unused "
            "FROM campaign_reservations WHERE holder LIKE %s || '/%%' ORDER BY campaign_id "
            "FOR UPDATE), gone AS (DELETE FROM campaign_reservations r USING mine "
            "WHERE r.campaign_id = mine.campaign_id AND r.holder = mine.holder "
            "RETURNING mine.campaign_id, mine.unused) "
            "SELECT campaign_id, sum(unused)::integer FROM gone GROUP BY campaign_id "
            "ORDER BY campaign_id",
            (self.token,),
        ).fetchall()
        for campaign_id, unused in rows:
            conn.execute(
                "UPDATE campaigns SET stock = stock + %s, spent_cents = spent_cents - %s "
                "* cost_cents WHERE id = %s",
                (unused, unused, campaign_id),
            )
        return sum(int(r[1]) for r in rows)
