"""The SLA check: every live ticket's clocks, a warning or breach raised once each.

Runs inside the caller's transaction (the scheduler's job, every minute), so that the
events it returns are handled on the bus (the notification outbox) in the same commit.
``sla_alerts``' primary key makes it idempotent: a run that repeats, or a second scheduler
racing the first, raises nothing twice. Each alert is written to the ticket's history (and
the audit log) and escalates by the data's rules (``service_levels.toml``): a warning
informs the service lead (hierarchical), a breach moves the ticket to the second-line
queue (functional).
"""

from __future__ import annotations

from datetime import datetime

from crm_core.kernel.events import Event
from crm_core.tickets.business_hours import BusinessCalendar
from crm_core.tickets.model import (
    HistoryEntry,
    SlaBreached,
    SlaWarning,
    Ticket,
    TicketEscalated,
)
from crm_core.tickets.policies import Escalation, ServiceLevels
from crm_core.tickets.ports import TicketRepository
from crm_core.tickets.sla import SlaClock, SlaStatus, sla_status

SLA_ACTOR = "careline"
_LABELS = {"first_response": "first response", "resolution": "resolution"}


def ticket_sla(
    ticket: Ticket,
    history: list[HistoryEntry],
    levels: ServiceLevels,
    cal: BusinessCalendar,
    share: float,
    now: datetime,
) -> SlaStatus:
    target = levels.target(ticket.sla_tier, ticket.priority)
    return sla_status(ticket.created_at, history, target, cal, now, share)


def _escalate(
    tickets: TicketRepository,
    ticket: Ticket,
    rule: Escalation,
    reason: str,
    now: datetime,
) -> Event:
    assert ticket.id is not None
    if rule.kind == "functional":
        locked = tickets.get(ticket.id, for_update=True)
        if locked is not None:
            locked.queue, locked.updated_at = rule.to, now
            tickets.save(locked)
    text = f"{rule.kind} escalation to {rule.to}: {reason}"
    tickets.record(
        ticket.id,
        HistoryEntry(
            now, SLA_ACTOR, "escalation", comment=text, detail={"kind": rule.kind, "to": rule.to}
        ),
    )
    return TicketEscalated(ticket.id, rule.kind, rule.to, reason, now)


def _alert(
    tickets: TicketRepository,
    levels: ServiceLevels,
    ticket: Ticket,
    clock: SlaClock,
    kind: str,
    now: datetime,
) -> list[Event]:
    assert ticket.id is not None
    if not tickets.raise_alert(ticket.id, clock.metric, kind, now, clock.due_at):
        return []
    label = _LABELS[clock.metric]
    due = f"{clock.due_at:%Y-%m-%d %H:%M} UTC" if clock.due_at else "—"
    text = (
        f"{label} target breached (due {due})"
        if kind == "breach"
        else f"{label} target at {clock.elapsed_s / clock.target_s:.0%} (due {due})"
    )
    tickets.record(
        ticket.id,
        HistoryEntry(
            now,
            SLA_ACTOR,
            "sla",
            comment=text,
            detail={"metric": clock.metric, "kind": kind, "due_at": str(clock.due_at)},
        ),
    )
    event_type = SlaBreached if kind == "breach" else SlaWarning
    raised: Event = event_type(
        ticket.id, ticket.customer_id, clock.metric, ticket.priority, clock.due_at, now
    )
    rule = levels.on_breach if kind == "breach" else levels.on_warning
    return [raised, _escalate(tickets, ticket, rule, text, now)]


def check_slas(
    tickets: TicketRepository,
    levels: ServiceLevels,
    cal: BusinessCalendar,
    share: float,
    now: datetime,
) -> list[Event]:
    """Raise what is due on every live ticket; the events, in ticket order."""
    events: list[Event] = []
    for ticket in tickets.live():
        assert ticket.id is not None
        status = ticket_sla(ticket, tickets.history(ticket.id), levels, cal, share, now)
        for clock in status.clocks:
            if clock.state == "breached":
                events += _alert(tickets, levels, ticket, clock, "breach", now)
            elif clock.state == "warning":
                events += _alert(tickets, levels, ticket, clock, "warning", now)
    return events
