"""Work-order use cases on fakes: assign, schedule, resolve with a code, first-time fix,
reactive tickets, and the SLA check raising each alert once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from crm_core.kernel.errors import NotFound
from crm_core.kernel.events import Event
from crm_core.tickets.business_hours import BusinessCalendar
from crm_core.tickets.dispatch import assign, first_time_fix, resolve, schedule
from crm_core.tickets.model import (
    HistoryEntry,
    SlaBreached,
    SlaWarning,
    TicketAssigned,
    TicketConflictError,
    TicketDraft,
    TicketEscalated,
    TicketInputError,
    TicketResolved,
    TicketScheduled,
    TicketStatus,
    TicketStatusChanged,
)
from crm_core.tickets.policies import load_service_levels
from crm_core.tickets.ports import TechnicianRef
from crm_core.tickets.service import change_status, open_or_join_proactive, open_reactive
from crm_core.tickets.sla_check import check_slas
from tests.service.fakes import FakeTicketsUnitOfWork

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # a Monday
HOUR = timedelta(hours=1)
LEVELS = load_service_levels()
CAL = BusinessCalendar("UTC", time(8), time(17))
DRAFT = TicketDraft("Fridge: too warm", "details", 3, severity="medium", urgency_hint="medium")


def ticket_with_technician(tier: str = "none") -> FakeTicketsUnitOfWork:
    uow = FakeTicketsUnitOfWork()
    uow.tickets.tiers[7] = tier
    uow.tickets.technicians[1] = TechnicianRef(1, "Anna", active=True)
    uow.tickets.technicians[2] = TechnicianRef(2, "Ben", active=False)
    open_or_join_proactive(uow.tickets, DRAFT, customer_id=7, device_id=3, fault_id=10, now=NOW)
    return uow


def test_the_contract_tier_weighs_in_the_priority_and_picks_the_sla_policy() -> None:
    assert ticket_with_technician("none").tickets.rows[1].priority == 3
    premium = ticket_with_technician("premium").tickets.rows[1]
    assert (premium.priority, premium.impact, premium.sla_tier) == (2, "high", "premium")


def test_assign_then_schedule_a_window_then_resolve_with_a_code() -> None:
    uow = ticket_with_technician()
    events = assign(uow, 1, 1, NOW, "dispatch")
    assert [type(e) for e in events] == [TicketStatusChanged, TicketAssigned]
    assert (uow.tickets.rows[1].status, uow.tickets.rows[1].technician_id) == ("assigned", 1)
    start = NOW + 24 * HOUR
    scheduled = schedule(uow, 1, start, start + 3 * HOUR, NOW, "dispatch")
    assert isinstance(scheduled[-1], TicketScheduled)
    assert uow.tickets.rows[1].window_end == start + 3 * HOUR
    change_status(uow, 1, "in_progress", start + HOUR, "anna")
    done = resolve(uow, LEVELS, 1, "part_replaced", start + 2 * HOUR, "anna", "new fan")
    resolved = done[-1]
    assert isinstance(resolved, TicketResolved)
    assert (resolved.device_id, resolved.resolution_code, resolved.effect) == (
        3,
        "part_replaced",
        "repair",
    )
    assert (resolved.fault_ids, resolved.first_time_fix) == ((10,), True)
    ticket = uow.tickets.rows[1]
    assert (ticket.status, ticket.resolution_code, ticket.first_time_fix) == (
        "resolved",
        "part_replaced",
        True,
    )
    actions = [h.action for h in uow.tickets.history(1)]
    assert actions == ["created", "assignment", "schedule", "status", "resolution"]


def test_no_fault_found_tells_the_detectors_it_was_a_false_alarm() -> None:
    uow = ticket_with_technician()
    (event,) = [
        e
        for e in resolve(uow, LEVELS, 1, "no_fault_found", NOW, "anna")
        if isinstance(e, TicketResolved)
    ]
    assert (event.effect, event.first_time_fix) == ("no_fault", None)  # no visit: no FTF value


def test_resolution_needs_a_known_code_and_writes_nothing_otherwise() -> None:
    uow = ticket_with_technician()
    with pytest.raises(TicketInputError, match="unknown resolution code 'fixed'"):
        resolve(uow, LEVELS, 1, "fixed", NOW, "anna")
    with pytest.raises(TicketInputError, match="resolution code"):
        change_status(uow, 1, "resolved", NOW, "anna")
    assert uow.tickets.rows[1].status == "new"
    resolve(uow, LEVELS, 1, "duplicate", NOW, "anna")
    with pytest.raises(TicketConflictError, match="resolved already"):
        resolve(uow, LEVELS, 1, "duplicate", NOW, "anna")


def test_refusals_of_assignment_and_scheduling() -> None:
    uow = ticket_with_technician()
    with pytest.raises(TicketConflictError, match="assign one first"):
        schedule(uow, 1, NOW + HOUR, NOW + 2 * HOUR, NOW, "dispatch")
    with pytest.raises(TicketInputError, match="not active"):
        assign(uow, 1, 2, NOW, "dispatch")
    with pytest.raises(NotFound):
        assign(uow, 1, 99, NOW, "dispatch")
    assign(uow, 1, 1, NOW, "dispatch")
    assert assign(uow, 1, 1, NOW, "dispatch") == []  # again: nothing new
    for start, end, message in [
        (NOW + 2 * HOUR, NOW + HOUR, "ends before"),
        (NOW + HOUR, NOW + 14 * HOUR, "12 hours"),
        (NOW - 3 * HOUR, NOW - HOUR, "already over"),
    ]:
        with pytest.raises(TicketInputError, match=message):
            schedule(uow, 1, start, end, NOW, "dispatch")
    assert uow.tickets.rows[1].status == "assigned"


def status_line(old: TicketStatus, new: TicketStatus) -> HistoryEntry:
    return HistoryEntry(NOW, "anna", "status", old, new)


def test_first_time_fix_is_one_visit_and_no_new_booking_after_it() -> None:
    one = [status_line("assigned", "scheduled"), status_line("scheduled", "in_progress")]
    assert first_time_fix(one) is True
    rebooked = [*one, status_line("in_progress", "scheduled")]
    assert first_time_fix(rebooked) is False
    two = [*rebooked, status_line("scheduled", "in_progress")]
    assert first_time_fix(two) is False
    assert first_time_fix([status_line("new", "assigned")]) is None


def test_a_reactive_ticket_has_the_same_lifecycle_priority_and_sla() -> None:
    uow = FakeTicketsUnitOfWork()
    uow.tickets.tiers[7] = "standard"
    published: list[Event] = []
    draft = TicketDraft("Smells of gas", "", 3, severity="low", safety=True)
    ticket_id, events = open_reactive(
        uow,
        draft,
        customer_id=7,
        device_id=None,
        by="agent",
        now=NOW,
        publish=lambda e, _: published.extend(e),
    )
    assert published == events
    ticket = uow.tickets.rows[ticket_id]
    assert (ticket.kind, ticket.priority, ticket.sla_tier) == ("reactive", 1, "standard")
    with pytest.raises(TicketInputError, match="subject"):
        open_reactive(uow, TicketDraft(" ", "", 3), customer_id=7, device_id=None, by="a", now=NOW)


def test_the_sla_check_raises_each_warning_and_breach_once_and_escalates() -> None:
    uow = ticket_with_technician("none")  # P3, no contract: first response in 1080 min
    target_s = LEVELS.target("none", 3).first_response_min * 60
    # 80 % of 18 business hours (9 h a day) from Monday 09:00 is Tuesday 14:24.
    at_80 = CAL.add(NOW, target_s * 0.8)
    first = check_slas(uow.tickets, LEVELS, CAL, 0.75, at_80)
    assert [type(e) for e in first] == [SlaWarning, TicketEscalated]
    assert isinstance(first[1], TicketEscalated)
    assert first[1].kind == "hierarchical"
    assert check_slas(uow.tickets, LEVELS, CAL, 0.75, at_80 + HOUR / 2) == []  # once
    late = CAL.add(NOW, target_s + 60)
    breach = check_slas(uow.tickets, LEVELS, CAL, 0.75, late)
    assert [type(e) for e in breach] == [SlaBreached, TicketEscalated]
    assert uow.tickets.rows[1].queue == "field service L2"  # functional escalation
    assert check_slas(uow.tickets, LEVELS, CAL, 0.75, late + HOUR) == []
    sla_lines = [h for h in uow.tickets.history(1) if h.action in ("sla", "escalation")]
    assert len(sla_lines) == 4


def test_a_worse_fault_joining_a_live_ticket_raises_its_priority_never_lowers_it() -> None:
    uow = ticket_with_technician()
    assert uow.tickets.rows[1].priority == 3
    safety = TicketDraft("Too warm for food", "", 1, severity="high", safety=True)
    open_or_join_proactive(uow.tickets, safety, customer_id=7, device_id=3, fault_id=11, now=NOW)
    ticket = uow.tickets.rows[1]
    assert (ticket.priority, ticket.safety) == (1, True)
    mild = TicketDraft("Mild", "", 4, severity="low", urgency_hint="low")
    open_or_join_proactive(uow.tickets, mild, customer_id=7, device_id=3, fault_id=12, now=NOW)
    assert uow.tickets.rows[1].priority == 1
    raised = [h.comment for h in uow.tickets.history(1) if h.action == "escalation"]
    assert raised == ["priority raised from P3 to P1 by a new fault: safety risk"]
