"""The reports' arithmetic on a small dataset whose answers are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from careline.reports.catalog import InvalidReportRequest, Period
from careline.reports.export import to_csv, to_rows
from careline.reports.measures import first_response_at, reliability, ticket_times

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)  # 30 days
H = timedelta(hours=1)


def ts(value: datetime) -> pd.Timestamp:
    return pd.Timestamp(value)


@pytest.fixture
def devices() -> pd.DataFrame:
    """Model X: devices 1 and 2 in service all along (60 device-days). Model Y: device 3
    from 10 days before the end (10), device 4 from after the end (0). Device 2 has no
    batch."""
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "device_type": ["refrigerator"] * 4,
            "model": ["X", "X", "Y", "Y"],
            "firmware": ["1.0", "1.0", "1.0", "2.0"],
            "production_batch": ["B1", None, "B2", "B2"],
            "in_service_from": [
                ts(START - timedelta(days=100)),
                ts(START),
                ts(END - timedelta(days=10)),
                ts(END + timedelta(days=1)),
            ],
        }
    )


@pytest.fixture
def faults() -> pd.DataFrame:
    """Device 1: three faults, the first two 5 h apart (one failure), the third 3 days
    later (another). Device 3: one fault, and a no-data silence (not a failure)."""
    return pd.DataFrame(
        {
            "device_id": [1, 1, 1, 3, 3],
            "detector": [
                "standard_score",
                "limit_high",
                "standard_score",
                "standard_score",
                "no_data",
            ],
            "opened_at": [
                ts(START + 24 * H),
                ts(START + 29 * H),
                ts(START + 96 * H),
                ts(END - 48 * H),
                ts(END - 24 * H),
            ],
        }
    )


def test_reliability_by_model(devices: pd.DataFrame, faults: pd.DataFrame) -> None:
    table = reliability(devices, faults, "model", START, END)
    assert to_rows(table) == [
        {
            "group": "Y",
            "devices": 2,
            "device_days": 10.0,
            "faults": 1,
            "failures": 1,
            "failures_per_100_device_days": 10.0,
            "mtbf_days": 10.0,
        },
        {
            "group": "X",
            "devices": 2,
            "device_days": 60.0,
            "faults": 3,
            "failures": 2,
            "failures_per_100_device_days": 3.333,
            "mtbf_days": 30.0,
        },
    ]


def test_reliability_by_batch_names_the_type_and_shows_unknown_batches(
    devices: pd.DataFrame, faults: pd.DataFrame
) -> None:
    table = reliability(devices, faults, "production_batch", START, END)
    assert [
        (r["group"], r["devices"], r["device_days"], r["failures"], r["mtbf_days"])
        for r in to_rows(table)
    ] == [
        ("refrigerator B2", 2, 10.0, 1, 10.0),
        ("refrigerator B1", 1, 30.0, 2, 15.0),
        ("refrigerator (unknown)", 1, 30.0, 0, None),
    ]


def tickets_and_history() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Proactive 1: answered by a person after 2 h (careline's own change after 1 h does not
    count), resolved after 10 h. Proactive 2: answered after 4 h, not resolved. Reactive 3:
    answered after 1 h, resolved after 30 h. Reactive 4: nothing yet."""
    created = START + 100 * H
    tickets = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "kind": ["proactive", "proactive", "reactive", "reactive"],
            "created_at": [ts(created)] * 4,
        }
    )
    history = pd.DataFrame(
        [
            (1, created, "careline", "created", "new"),
            (1, created + H, "careline", "status", "assigned"),
            (1, created + 2 * H, "ana@example.com", "comment", None),
            (1, created + 10 * H, "ana@example.com", "resolution", "resolved"),  # with a code
            (2, created, "careline", "created", "new"),
            (2, created + 4 * H, "ben@example.com", "assignment", "assigned"),
            (3, created, "ben@example.com", "created", "new"),
            (3, created + H, "ben@example.com", "comment", None),
            (3, created + 30 * H, "ben@example.com", "status", "resolved"),
            (4, created, "careline", "created", "new"),
        ],
        columns=["ticket_id", "at", "actor", "action", "new_status"],
    )
    history["at"] = pd.to_datetime(history["at"], utc=True)
    return tickets, history


def test_first_response_is_the_first_person_after_creation() -> None:
    tickets, history = tickets_and_history()
    created = START + 100 * H
    assert first_response_at(tickets, history).to_dict() == {
        1: ts(created + 2 * H),
        2: ts(created + 4 * H),
        3: ts(created + H),
    }


def test_ticket_times_proactive_against_reactive() -> None:
    tickets, history = tickets_and_history()
    assert to_rows(ticket_times(tickets, history)) == [
        {
            "kind": "proactive",
            "tickets": 2,
            "responded": 2,
            "first_response_median_h": 3.0,
            "first_response_mean_h": 3.0,
            "resolved": 1,
            "resolution_median_h": 10.0,
            "resolution_mean_h": 10.0,
        },
        {
            "kind": "reactive",
            "tickets": 2,
            "responded": 1,
            "first_response_median_h": 1.0,
            "first_response_mean_h": 1.0,
            "resolved": 1,
            "resolution_median_h": 30.0,
            "resolution_mean_h": 30.0,
        },
        {
            "kind": "all",
            "tickets": 4,
            "responded": 3,
            "first_response_median_h": 2.0,
            "first_response_mean_h": 2.33,
            "resolved": 2,
            "resolution_median_h": 20.0,
            "resolution_mean_h": 20.0,
        },
    ]


def test_ticket_times_with_no_tickets_at_all() -> None:
    empty = pd.DataFrame({"id": [], "kind": [], "created_at": pd.to_datetime([], utc=True)})
    history = pd.DataFrame(
        {
            "ticket_id": [],
            "at": pd.to_datetime([], utc=True),
            "actor": [],
            "action": [],
            "new_status": [],
        }
    )
    rows = to_rows(ticket_times(empty, history))
    assert [(r["kind"], r["tickets"], r["first_response_median_h"]) for r in rows] == [
        ("proactive", 0, None),
        ("reactive", 0, None),
        ("all", 0, None),
    ]


def test_csv_defuses_formulas_in_text_but_not_negative_numbers() -> None:
    frame = pd.DataFrame(
        {
            "group": ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "\tx", "CF-300"],
            "delta": [-1.5, 0.0, 1.0, 2.0, 3.0, 4.0],
        }
    )
    assert to_csv(frame).splitlines() == [
        "group,delta",
        "'=cmd|' /C calc'!A0,-1.5",
        "'+1,0.0",
        "'-2,1.0",
        "'@SUM(A1),2.0",
        "'\tx,3.0",
        "CF-300,4.0",
    ]


def test_a_period_is_whole_days_and_refuses_nonsense() -> None:
    period = Period.ending(datetime(2026, 12, 6, tzinfo=UTC).date(), 30)
    assert (str(period.first), str(period.last)) == ("2026-11-07", "2026-12-06")
    assert period.end == datetime(2026, 12, 7, tzinfo=UTC)
    with pytest.raises(InvalidReportRequest, match="before it starts"):
        Period(period.last, period.first)
    with pytest.raises(InvalidReportRequest, match="at most 366 days"):
        Period(period.first.replace(year=2024), period.last)
