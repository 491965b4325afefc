"""Proactive tickets follow their faults: the words follow the diagnosis, and a ticket
whose faults all went away by themselves resolves itself.

The rules (documented in README "Proactive tickets follow their faults"):

* **Re-diagnosis.** When a fault joins a device's live proactive ticket, the device's live
  faults are diagnosed again (a door switch after a warm cabinet says "door left open", not
  "compressor"). If that changes the ticket's subject and nobody has started on the ticket
  (status ``new``), its subject and description are replaced; once someone is on it they
  are kept and the new diagnosis is added to the history as a comment instead.
* **Self-resolution.** When the last live fault of a proactive ticket clears by recovering
  (not absorbed as a new normal) while the ticket is still ``new``, the ticket is resolved
  by careline, with the reason in its history: "all faults cleared by themselves: door
  closed". A ticket someone has taken on stays as it is: people close their own work.

Both run in the transaction that recorded the fault or its clearing, and are idempotent
(a redelivered clearing finds the ticket resolved already; the same subject twice changes
nothing). Each change lands in the ticket's history and in ``audit_log``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from crm_core.kernel.events import Event
from crm_core.tickets.model import HistoryEntry, Ticket, TicketDraft

SELF_RESOLVER = "careline"
CLEARED_BY_THEMSELVES = "all faults cleared by themselves"


class TicketFaultLinks(Protocol):
    def ticket_of_fault(self, fault_id: int) -> Ticket | None:
        """The ticket the fault belongs to, locked for the rest of the transaction."""
        ...

    def live_faults(self, ticket_id: int) -> int:
        """How many of the ticket's faults are still live (open or acknowledged)."""
        ...

    def redraft(self, ticket: Ticket, draft: TicketDraft, now: datetime) -> None:
        """Store the ticket's new subject and description."""
        ...

    def record(self, ticket_id: int, change: HistoryEntry) -> None:
        """A line of the ticket's history (and its audit record)."""
        ...

    def resolve(self, ticket: Ticket, now: datetime, by: str, comment: str) -> list[Event]:
        """Move the ticket to resolved and store it (status, history, audit)."""
        ...


def follow_diagnosis(
    links: TicketFaultLinks, fault_id: int, draft: TicketDraft, summary: str, now: datetime
) -> bool:
    """A diagnosed fault joined its device's ticket: let the ticket's words follow.

    Returns whether the subject changed. ``summary`` is one line for the history.
    """
    ticket = links.ticket_of_fault(fault_id)
    if ticket is None or ticket.id is None or ticket.kind != "proactive" or not ticket.is_live:
        return False
    if ticket.subject == draft.subject:
        return False
    if ticket.status == "new":
        comment = f"diagnosis updated: {summary}; subject was {ticket.subject!r}"
        links.redraft(ticket, draft, now)
        links.record(ticket.id, HistoryEntry(now, SELF_RESOLVER, "comment", comment=comment))
        return True
    comment = f"diagnosis now: {summary} (subject kept: work has started)"
    links.record(ticket.id, HistoryEntry(now, SELF_RESOLVER, "comment", comment=comment))
    return False


def resolve_if_all_cleared(
    links: TicketFaultLinks, fault_id: int, *, absorbed: bool, hint: str, now: datetime
) -> list[Event]:
    """A fault cleared: resolve its proactive ticket if it was the last live one and nobody
    has started on the ticket (see the module docstring)."""
    if absorbed:  # not recovered: a lasting change still deserves a look
        return []
    ticket = links.ticket_of_fault(fault_id)
    if ticket is None or ticket.id is None or ticket.kind != "proactive":
        return []
    if ticket.status != "new" or links.live_faults(ticket.id) > 0:
        return []
    comment = f"{CLEARED_BY_THEMSELVES}: {hint}" if hint else CLEARED_BY_THEMSELVES
    return links.resolve(ticket, now, SELF_RESOLVER, comment)
