"""The reports' arithmetic, on pandas frames: pure, no I/O.

Reliability (by model, firmware or batch), over a period:

* **device-days**: each device counts the days of the period after it went into service;
* **failures**: fault onsets on a device, where onsets less than :data:`EPISODE` apart
  are one failure (a failing compressor opens faults on temperature and power within
  hours; that is one failure, not three). Faults of the ``no_data`` detector are silences,
  not failures of the product, and are left out;
* **failures per 100 device-days**, and **mean time between failures** (MTBF) in days:
  device-days divided by failures.

Ticket times, per kind (proactive, reactive) and for all tickets created in the period:

* **time to first response**: from creation to :func:`first_response_at`;
* **time to resolution**: from creation to the first move to ``resolved``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal

import pandas as pd

Dimension = Literal["model", "firmware", "production_batch"]
EPISODE: Final = timedelta(hours=24)
UNKNOWN: Final = "(unknown)"
SYSTEM_ACTOR_PREFIX: Final = "careline"
"""Actors whose name starts with this are careline itself (a rule, a job), not a person."""
MOVES: Final = ("status", "assignment", "schedule", "resolution")
"""History actions that move a ticket's status (a resolution with its code is one)."""
PERSON_ACTIONS: Final = ("comment", *MOVES)
"""What a person does that answers the customer (crm_core.tickets.sla's first response)."""

RELIABILITY_COLUMNS: Final = [
    "group",
    "devices",
    "device_days",
    "faults",
    "failures",
    "failures_per_100_device_days",
    "mtbf_days",
]
TICKET_COLUMNS: Final = [
    "kind",
    "tickets",
    "responded",
    "first_response_median_h",
    "first_response_mean_h",
    "resolved",
    "resolution_median_h",
    "resolution_mean_h",
]


def device_days(devices: pd.DataFrame, start: datetime, end: datetime) -> pd.Series:
    """Days of [start, end) each device was in service (``in_service_from``), per row."""
    since = devices["in_service_from"].clip(lower=pd.Timestamp(start))
    return ((pd.Timestamp(end) - since).dt.total_seconds() / 86_400.0).clip(lower=0.0)


def failures(faults: pd.DataFrame) -> pd.DataFrame:
    """The faults that begin a failure: the first onset of each run of onsets on a device
    less than :data:`EPISODE` apart (``no_data`` faults left out)."""
    real = faults[faults["detector"] != "no_data"].sort_values(["device_id", "opened_at"])
    gap = real.groupby("device_id")["opened_at"].diff()
    return real[gap.isna() | (gap >= EPISODE)]


def reliability(
    devices: pd.DataFrame,
    faults: pd.DataFrame,
    by: Dimension,
    start: datetime,
    end: datetime,
) -> pd.DataFrame:
    """One row per group of ``by`` (per device type for firmware and batch, whose names are
    not unique across types): devices, device-days, faults, failures, rate and MTBF.

    ``devices``: id, device_type, model, firmware, production_batch, in_service_from.
    ``faults``: device_id, detector, opened_at (only those opened in [start, end)).
    """
    frame = devices.copy()
    frame["group"] = frame[by].fillna(UNKNOWN).replace("", UNKNOWN)
    if by != "model":
        frame["group"] = frame["device_type"] + " " + frame["group"]
    frame["device_days"] = device_days(frame, start, end)
    fault_counts = faults[faults["detector"] != "no_data"].groupby("device_id").size()
    failure_counts = failures(faults).groupby("device_id").size()
    frame["faults"] = frame["id"].map(fault_counts).fillna(0).astype(int)
    frame["failures"] = frame["id"].map(failure_counts).fillna(0).astype(int)
    table = (
        frame.groupby("group")
        .agg(
            devices=("id", "count"),
            device_days=("device_days", "sum"),
            faults=("faults", "sum"),
            failures=("failures", "sum"),
        )
        .reset_index()
    )
    days = table["device_days"]
    table["failures_per_100_device_days"] = (100.0 * table["failures"] / days).where(days > 0)
    table["mtbf_days"] = (days / table["failures"]).where(table["failures"] > 0)
    table["device_days"] = days.round(2)
    table["failures_per_100_device_days"] = table["failures_per_100_device_days"].round(3)
    table["mtbf_days"] = table["mtbf_days"].round(2)
    table = table.sort_values(["failures_per_100_device_days", "group"], ascending=[False, True])
    return table[RELIABILITY_COLUMNS].reset_index(drop=True)


def first_response_at(tickets: pd.DataFrame, history: pd.DataFrame) -> pd.Series:
    """When each ticket was first answered: its first comment or status change by a person
    (an actor that is not careline itself) at or after its creation. Indexed by ticket id;
    tickets nobody has answered yet are missing.

    This is the one definition of first response in the reports; an SLA module that keeps
    its own first-response clock can replace this function.
    """
    created = tickets[["id", "created_at"]].rename(columns={"id": "ticket_id"})
    by_person = history[
        history["action"].isin(PERSON_ACTIONS)
        & ~history["actor"].astype(str).str.startswith(SYSTEM_ACTOR_PREFIX)
    ].merge(created, on="ticket_id")
    by_person = by_person[by_person["at"] >= by_person["created_at"]]
    return by_person.groupby("ticket_id")["at"].min()


def resolved_at(history: pd.DataFrame) -> pd.Series:
    """When each ticket first moved to resolved, indexed by ticket id."""
    moves = history[history["action"].isin(MOVES) & (history["new_status"] == "resolved")]
    return moves.groupby("ticket_id")["at"].min()


def _hours(until: pd.Series, since: pd.Series) -> pd.Series:
    """Hours from ``since`` to ``until`` (by ticket id; NaN where ``until`` is missing)."""
    until = pd.to_datetime(until.reindex(since.index), utc=True)
    return (until - since).dt.total_seconds() / 3600.0


def ticket_times(tickets: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Per kind (proactive, reactive) and for all: tickets, how many were answered and
    resolved, and the median and mean hours to each. ``tickets``: id, kind, created_at;
    ``history``: ticket_id, at, actor, action, new_status."""
    frame = tickets.set_index("id")
    created = frame["created_at"]
    frame["first_response_h"] = _hours(first_response_at(tickets, history), created)
    frame["resolution_h"] = _hours(resolved_at(history), created)
    rows = []
    for kind, part in [
        ("proactive", frame[frame["kind"] == "proactive"]),
        ("reactive", frame[frame["kind"] == "reactive"]),
        ("all", frame),
    ]:
        response, resolution = part["first_response_h"], part["resolution_h"]
        rows.append(
            {
                "kind": kind,
                "tickets": len(part),
                "responded": int(response.notna().sum()),
                "first_response_median_h": response.median(),
                "first_response_mean_h": response.mean(),
                "resolved": int(resolution.notna().sum()),
                "resolution_median_h": resolution.median(),
                "resolution_mean_h": resolution.mean(),
            }
        )
    table = pd.DataFrame(rows, columns=TICKET_COLUMNS)
    hours = [c for c in TICKET_COLUMNS if c.endswith("_h")]
    table[hours] = table[hours].astype(float).round(2)
    return table
