"""SLA clocks on a business calendar: weekends and public holidays (from the holidays
package) do not count, waiting for the customer pauses the clock and it resumes after,
and the state is computed from the ticket's history alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from crm_core.tickets.business_hours import BusinessCalendar
from crm_core.tickets.model import HistoryEntry
from crm_core.tickets.policies import Target, load_service_levels
from crm_core.tickets.sla import first_response, sla_status

# Berlin office hours; 2026-12-25 (Friday) and 2026-12-26 (Saturday) are Christmas holidays
# in Germany; 24 December is an ordinary working day there.
BERLIN = BusinessCalendar("Europe/Berlin", time(8), time(17), "DE", "BE")
STANDARD_P2 = load_service_levels().target("standard", 2)  # 120 min, 1080 min (two days)
CREATED = datetime(2026, 12, 24, 14, 0, tzinfo=UTC)  # Thursday 15:00 in Berlin
HOUR = timedelta(hours=1)


def line(at: datetime, actor: str, old: str | None, new: str) -> HistoryEntry:
    return HistoryEntry(at, actor, "status", old, new)  # type: ignore[arg-type]


CREATED_LINE = HistoryEntry(CREATED, "careline", "created", None, "new")


def test_the_holiday_package_knows_christmas_and_the_calendar_skips_it() -> None:
    assert BERLIN.holiday(date(2026, 12, 25)) is not None
    assert BERLIN.holiday(date(2026, 12, 24)) is None
    assert not BERLIN.is_working_day(date(2026, 12, 26))  # Saturday and a holiday
    # Thursday 15:00 -> 17:00 (2 h), Friday the 25th a holiday, the weekend, Monday 08:00.
    monday_9 = datetime(2026, 12, 28, 8, 0, tzinfo=UTC)
    assert BERLIN.seconds_between(CREATED, monday_9) == 3 * 3600


def test_a_fixed_calendar_with_its_own_holiday() -> None:
    cal = BusinessCalendar("UTC", time(9), time(17), extra_holidays=frozenset({date(2026, 6, 1)}))
    friday = datetime(2026, 5, 29, 16, 0, tzinfo=UTC)
    # 1 h on Friday, Monday 1 June is a holiday, so the 2nd hour ends Tuesday at 10:00.
    assert cal.add(friday, 2 * 3600) == datetime(2026, 6, 2, 10, 0, tzinfo=UTC)


def test_resolution_runs_over_the_holiday_weekend_and_breaches_on_business_time() -> None:
    history = [CREATED_LINE, line(CREATED + HOUR / 2, "anna", "new", "assigned")]
    # 18 business hours: 2 h on Thursday, 9 h on Monday 28th, 7 h on Tuesday 29th.
    due = datetime(2026, 12, 29, 14, 0, tzinfo=UTC)  # 15:00 in Berlin
    sunday = sla_status(
        CREATED, history, STANDARD_P2, BERLIN, datetime(2026, 12, 27, 12, tzinfo=UTC)
    )
    assert sunday.resolution.state == "running"
    assert sunday.resolution.elapsed_s == 2 * 3600  # the holiday and weekend did not count
    assert sunday.resolution.due_at == due
    assert sunday.first_response.state == "achieved"  # assigned by a person after 30 min
    warned = sla_status(CREATED, history, STANDARD_P2, BERLIN, due - 2 * HOUR)
    assert warned.resolution.state == "warning"  # 16 of 18 h: past 75 %
    late = sla_status(CREATED, history, STANDARD_P2, BERLIN, due + timedelta(minutes=1))
    assert late.resolution.state == "breached"
    assert late.resolution.due_at == due
    assert late.worst == "breached"


def test_waiting_for_the_customer_pauses_the_clock_and_it_resumes_after() -> None:
    monday_10 = datetime(2026, 12, 28, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    history = [
        CREATED_LINE,
        line(CREATED + HOUR / 2, "anna", "new", "assigned"),
        line(monday_10, "anna", "assigned", "waiting_for_customer"),
        line(monday_10 + 2 * HOUR, "anna", "waiting_for_customer", "in_progress"),
    ]
    during = sla_status(CREATED, history, STANDARD_P2, BERLIN, monday_10 + HOUR)
    assert during.resolution.state == "paused"
    assert during.resolution.due_at is None
    assert during.resolution.elapsed_s == 4 * 3600  # 2 h Thursday + 2 h Monday morning
    still = sla_status(CREATED, history, STANDARD_P2, BERLIN, monday_10 + 2 * HOUR)
    assert still.resolution.elapsed_s == 4 * 3600  # nothing counted while paused
    after = sla_status(CREATED, history, STANDARD_P2, BERLIN, monday_10 + 3 * HOUR)
    assert after.resolution.state == "running"
    # The pause moved the due time by its two hours: Tuesday 17:00 in Berlin.
    assert after.resolution.due_at == datetime(2026, 12, 29, 16, 0, tzinfo=UTC)
    not_yet = sla_status(
        CREATED, history, STANDARD_P2, BERLIN, datetime(2026, 12, 29, 15, 59, tzinfo=UTC)
    )
    assert not_yet.resolution.state == "warning"
    next_morning = datetime(2026, 12, 30, 7, 30, tzinfo=UTC)  # 08:30 Wednesday in Berlin
    assert sla_status(CREATED, history, STANDARD_P2, BERLIN, next_morning).resolution.state == (
        "breached"
    )


def test_resolved_in_time_is_achieved_and_a_missed_first_response_stays_breached() -> None:
    monday = datetime(2026, 12, 28, 12, tzinfo=UTC)
    history = [
        CREATED_LINE,
        HistoryEntry(monday, "anna", "resolution", "new", "resolved", "Repaired"),
    ]
    status = sla_status(CREATED, history, STANDARD_P2, BERLIN, monday + 30 * HOUR)
    assert status.resolution.state == "achieved"
    # The first response came with the resolution: 2 h Thursday + 4 h Monday > 2 h.
    assert status.first_response.state == "breached"


def test_what_counts_as_a_first_response() -> None:
    at = CREATED + HOUR
    careline_comment = HistoryEntry(at, "careline", "sla", comment="warning")
    a_persons_comment = HistoryEntry(at + HOUR, "anna", "comment", comment="called")
    assert first_response([CREATED_LINE, careline_comment]) is None
    assert first_response([CREATED_LINE, careline_comment, a_persons_comment]) == at + HOUR
    assert first_response([CREATED_LINE, line(at, "anna", "new", "waiting_for_customer")]) == at


def test_a_cancelled_ticket_is_neither_achieved_nor_breached_in_time() -> None:
    history = [CREATED_LINE, line(CREATED + HOUR / 2, "anna", "new", "cancelled")]
    status = sla_status(CREATED, history, STANDARD_P2, BERLIN, CREATED + 100 * HOUR)
    assert status.resolution.state == "cancelled"
    assert status.first_response.state == "achieved"


def test_the_warning_share_is_a_setting() -> None:
    history = [CREATED_LINE]
    target = Target(60, 600)
    at = datetime(2026, 12, 28, 8, 20, tzinfo=UTC)  # 1 h 20 min of business time elapsed
    assert sla_status(CREATED, history, target, BERLIN, at, 0.9).first_response.state == "breached"
    early = CREATED + timedelta(minutes=40)
    assert sla_status(CREATED, history, target, BERLIN, early, 0.5).first_response.state == (
        "warning"
    )
    assert sla_status(CREATED, history, target, BERLIN, early, 0.75).first_response.state == (
        "running"
    )


def test_a_calendar_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends"):
        BusinessCalendar("UTC", time(17), time(9))


def test_a_ticket_that_resolved_itself_owed_no_first_response_and_its_clocks_stop() -> None:
    # The door was closed 40 min after the ticket opened; careline resolved it (fault_cleared).
    done = CREATED + 40 * timedelta(minutes=1)
    history = [CREATED_LINE, line(done, "careline", "new", "resolved")]
    for later in (done, CREATED + 100 * HOUR, CREATED + 1000 * HOUR):
        status = sla_status(CREATED, history, STANDARD_P2, BERLIN, later)
        assert status.first_response.state == "not_applicable"
        assert status.first_response.elapsed_s == 40 * 60  # stopped when it ended
        assert status.first_response.due_at is None
        assert status.resolution.state == "achieved"
        assert status.worst == "achieved"
    closed = [*history, line(done + HOUR, "careline", "resolved", "closed")]
    assert sla_status(CREATED, closed, STANDARD_P2, BERLIN, CREATED + 100 * HOUR).clocks[
        0
    ].state == ("not_applicable")


def test_a_ticket_cancelled_by_careline_before_anyone_responded_stops_as_cancelled() -> None:
    history = [CREATED_LINE, line(CREATED + HOUR / 2, "careline", "new", "cancelled")]
    status = sla_status(CREATED, history, STANDARD_P2, BERLIN, CREATED + 100 * HOUR)
    assert status.first_response.state == "cancelled"  # not breached days later
    assert status.resolution.state == "cancelled"


def test_a_self_resolved_ticket_already_late_for_its_first_response_stays_breached() -> None:
    # Nobody answered for the 2 h target; the fault then cleared: the breach happened.
    done = datetime(2026, 12, 28, 10, 0, tzinfo=UTC)  # 3 h + 2 h of business time later
    history = [CREATED_LINE, line(done, "careline", "new", "resolved")]
    status = sla_status(CREATED, history, STANDARD_P2, BERLIN, done + 100 * HOUR)
    assert status.first_response.state == "breached"
    assert status.first_response.elapsed_s == 5 * 3600  # and it stopped growing
