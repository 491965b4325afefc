"""The demo's running commentary: what earlier runs left, and what is new every few seconds.

It reads the database (faults, proactive tickets, product issues, customer messages) and
tells each once: a restarted demo says in one line what was there already.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import typer

from careline.bootstrap import Pool
from careline.demo.fleet_run import FleetRun


@dataclass(frozen=True, slots=True)
class Earlier:
    """What earlier runs left in the data folder: told then, so not news now."""

    fault_ids: list[int]
    ticket_ids: list[int]
    issue_ids: list[int]
    open_tickets: int
    live_faults: int
    last_message: int

    @classmethod
    def read(cls, pool: Pool) -> Earlier:
        with pool.connection() as conn:
            faults = conn.execute("SELECT id, status <> 'cleared' FROM faults").fetchall()
            tickets = conn.execute(
                "SELECT id, status NOT IN ('resolved', 'closed', 'cancelled') FROM tickets "
                "WHERE kind = 'proactive'"
            ).fetchall()
            issues = conn.execute("SELECT id FROM product_issues").fetchall()
            told = conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()
        return cls(
            fault_ids=[int(r[0]) for r in faults],
            ticket_ids=[int(r[0]) for r in tickets],
            issue_ids=[int(r[0]) for r in issues],
            open_tickets=sum(1 for r in tickets if r[1]),
            live_faults=sum(1 for r in faults if r[1]),
            last_message=int(told[0]) if told else 0,
        )


class Commentary:
    """Tells the user what happened, once per change: new faults, new tickets, catch-up."""

    def __init__(self, console_url: str) -> None:
        self._console_url = console_url
        self._tickets_seen: set[int] = set()
        self._messages_seen: set[int] = set()
        self._faults_seen: set[int] = set()
        self._issues_seen: set[int] = set()
        self._caught_up_told = False
        self._earlier = (0, 0, 0)  # faults, tickets, issues told by an earlier run

    def resume(self, earlier: Earlier) -> None:
        """A restarted demo: say once what the data holds already; announce only what is
        new from here on."""
        self._faults_seen.update(earlier.fault_ids)
        self._tickets_seen.update(earlier.ticket_ids)
        self._issues_seen.update(earlier.issue_ids)
        self._earlier = (len(earlier.fault_ids), len(earlier.ticket_ids), len(earlier.issue_ids))
        if earlier.fault_ids or earlier.ticket_ids or earlier.issue_ids:
            typer.echo(
                f"resuming: {earlier.open_tickets} open tickets and {earlier.live_faults} live "
                f"faults from earlier runs ({len(earlier.ticket_ids)} tickets, "
                f"{len(earlier.issue_ids)} product issues in all; "
                f"{self._console_url}/console/tickets). Only what is new is announced below."
            )

    def faults(self, rows: list[tuple[int, str, str, str, float, float]]) -> None:
        for fault_id, serial, metric, detector, score, threshold in rows:
            if fault_id not in self._faults_seen:
                self._faults_seen.add(fault_id)
                if detector.startswith("limit_"):
                    side = "above" if detector == "limit_high" else "below"
                    why = f"{score:.1f}, {side} its hard limit {threshold:.1f} for too long"
                else:
                    why = f"score {score:.1f} >= threshold {threshold:.1f}"
                typer.echo(f"  fault #{fault_id} on {serial}: {metric} ({why})")

    def tickets(self, rows: list[tuple[int, str, str]]) -> None:
        for ticket_id, subject, customer in rows:
            if ticket_id not in self._tickets_seen:
                self._tickets_seen.add(ticket_id)
                typer.secho(
                    f"  proactive ticket #{ticket_id} for {customer}: {subject}\n"
                    f"    {self._console_url}/console/tickets/{ticket_id}",
                    fg=typer.colors.GREEN,
                )

    def product_issues(self, rows: list[tuple[int, str, int]]) -> None:
        for issue_id, title, devices in rows:
            if issue_id not in self._issues_seen:
                self._issues_seen.add(issue_id)
                typer.secho(
                    f"  product issue opened: #{issue_id} {title} ({devices} devices so far)\n"
                    f"    {self._console_url}/console/product-issues/{issue_id}",
                    fg=typer.colors.MAGENTA,
                )

    def messages(self, rows: list[tuple[int, str, str, str, str]]) -> None:
        """Customer messages once they are out of the outbox (sent, suppressed or failed)."""
        for outbox_id, channel, status, customer, subject in rows:
            if outbox_id not in self._messages_seen:
                self._messages_seen.add(outbox_id)
                where = f"{self._console_url}/console/mail" if channel == "email" else channel
                typer.echo(f"  {channel} to {customer} {status}: {subject!r} ({where})")

    def caught_up(self, messages: int) -> None:
        if self._caught_up_told:
            return
        self._caught_up_told = True
        faults, tickets, issues = self._earlier
        typer.secho(
            f"\nCaught up with the present ({messages:,} messages published this run): "
            f"{len(self._faults_seen) - faults} faults detected, "
            f"{len(self._tickets_seen) - tickets} proactive tickets opened, "
            f"{len(self._issues_seen) - issues} product issues opened this run. "
            "The fleet now reports live, once a minute per device.\n"
            f"Open {self._console_url} to see them. Ctrl-C stops.",
            bold=True,
        )


def watch(
    run: FleetRun,
    pool: Pool,
    commentary: Commentary,
    stop: threading.Event,
    *,
    messages_after: int = 0,
) -> None:
    """Report progress every few seconds until Ctrl-C (messages newer than ``messages_after``,
    so that a restarted demo does not announce old mail again)."""
    ticks = 0
    while not stop.wait(2.0):
        ticks += 1
        stored = report(pool, commentary, messages_after)
        progress = run.progress
        if progress is None:
            continue
        if progress.caught_up:
            commentary.caught_up(progress.published)
        elif ticks % 3 == 0:
            typer.echo(f"  {run.describe(progress)}; {stored:,} readings stored")


def report(pool: Pool, commentary: Commentary, messages_after: int = 0) -> int:
    """One look at the data: tell what is new; the number of readings stored."""
    with pool.connection() as conn:
        faults = conn.execute(
            "SELECT f.id, d.serial, f.metric, f.detector, f.score, f.threshold FROM faults f "
            "JOIN devices d ON d.id = f.device_id ORDER BY f.id"
        ).fetchall()
        tickets = conn.execute(
            "SELECT t.id, t.subject, c.name FROM tickets t "
            "JOIN customers c ON c.id = t.customer_id "
            "WHERE t.kind = 'proactive' ORDER BY t.id"
        ).fetchall()
        issues = conn.execute(
            "SELECT p.id, p.title, count(DISTINCT l.device_id) FROM product_issues p "
            "JOIN product_issue_faults l ON l.issue_id = p.id GROUP BY p.id ORDER BY p.id"
        ).fetchall()
        stored = conn.execute("SELECT count(*) FROM readings").fetchone()
        messages = conn.execute(
            "SELECT o.id, o.channel, o.status, coalesce(c.name, o.recipient), o.subject "
            "FROM outbox o LEFT JOIN customers c ON c.id = o.customer_id "
            "WHERE o.status IN ('sent', 'suppressed', 'failed') AND o.id > %s "
            # offers are the shopper story's to report, in a summary
            "AND o.purpose <> 'location_marketing' ORDER BY o.id",
            (messages_after,),
        ).fetchall()
    commentary.faults(
        [(int(a), str(b), str(c), str(d), float(e), float(f)) for a, b, c, d, e, f in faults]
    )
    commentary.tickets([(int(a), str(b), str(c)) for a, b, c in tickets])
    commentary.product_issues([(int(a), str(b), int(c)) for a, b, c in issues])
    commentary.messages([(int(a), str(b), str(c), str(d), str(e)) for a, b, c, d, e in messages])
    return int(stored[0]) if stored else 0
