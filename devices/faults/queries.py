"""Faults as the API and console show them: list, and detail with the readings around it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal, LiteralString

import psycopg
from psycopg.rows import TupleRow
from pydantic import JsonValue

from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import (
    FIRST_PAGE,
    Page,
    ReadModel,
    UtcDateTime,
    fetch_model,
    fetch_models,
)
from devices.catalog import Catalog
from devices.faults.findings import Diagnosis
from devices.readings import MAX_POINTS, MetricSeries, metric_series

FaultStatus = Literal["open", "acknowledged", "cleared"]
CHART_MARGIN = timedelta(hours=2)


class FaultDiagnosis(ReadModel):
    """What the diagnosis found when the fault was recorded (see devices.diagnosis)."""

    cause: str
    """The catalog cause; "" when no known signature fits."""
    label: str
    part: str
    """The spare part to bring; "" when none is needed."""
    visit: bool
    advice: str
    cleared_hint: str
    signature: list[str]
    """What the device's live faults showed together: "metric up|down (detector)"."""
    hours_to_failure: float | None
    """Estimated hours until the health indicator reaches its failure line."""
    confidence: Literal["high", "medium", "low", "none"]
    urgency_note: str
    customer_advice: str = ""
    """What the customer's heads-up told them they can do; "" when nothing."""


class FaultSummary(ReadModel):
    id: int
    device_id: int
    device_serial: str
    metric: str
    detector: str
    score: float
    threshold: float
    status: FaultStatus
    opened_at: UtcDateTime
    cleared_at: UtcDateTime | None
    acknowledged_at: UtcDateTime | None
    acknowledged_by: str | None
    ticket_id: int | None
    diagnosis: FaultDiagnosis | None
    hours_to_failure: float | None
    reminders: int
    """Acknowledgement reminders sent for it (the reminder job; ``fault_reminders``)."""
    last_reminder_at: UtcDateTime | None


class FaultNote(ReadModel):
    """One line of a fault's history."""

    at: UtcDateTime
    author: str
    action: str
    comment: str


class FaultDetail(FaultSummary):
    device_type: str
    created_at: UtcDateTime
    evidence: JsonValue
    readings: MetricSeries
    """The fault's metric from 2 h before its onset to 2 h after."""
    notes: list[FaultNote]
    """Who did what to the fault, oldest first."""


SELECT_FAULTS: LiteralString = """
    SELECT f.id, f.device_id, d.serial AS device_serial, f.metric, f.detector, f.score,
           f.threshold, f.status, f.opened_at, f.cleared_at, f.acknowledged_at,
           f.acknowledged_by, tf.ticket_id, f.diagnosis, f.hours_to_failure,
           coalesce(r.reminders, 0) AS reminders, r.last_reminder_at
    FROM faults f
    JOIN devices d ON d.id = f.device_id
    LEFT JOIN ticket_faults tf ON tf.fault_id = f.id
    LEFT JOIN LATERAL (
        SELECT count(*) AS reminders, max(sent_at) AS last_reminder_at
          FROM fault_reminders WHERE fault_id = f.id
    ) r ON true
"""


def list_faults(
    conn: psycopg.Connection[TupleRow],
    *,
    status: FaultStatus | None = None,
    device_serial: str | None = None,
    page: Page = FIRST_PAGE,
    customers: list[int] | None = None,
) -> list[FaultSummary]:
    """Faults, newest onset first (only on ``customers``' devices when given)."""
    query = SELECT_FAULTS + " WHERE (%(status)s::text IS NULL OR f.status = %(status)s)"
    query += " AND (%(serial)s::text IS NULL OR d.serial = %(serial)s)"
    query += " AND (%(scope)s::bigint[] IS NULL OR d.customer_id = ANY(%(scope)s))"
    query += " ORDER BY f.opened_at DESC, f.id DESC LIMIT %(limit)s OFFSET %(offset)s"
    params = {
        "status": status,
        "serial": device_serial,
        "scope": customers,
        "limit": page.limit,
        "offset": page.offset,
    }
    return fetch_models(conn, FaultSummary, query, params)


def device_faults(
    conn: psycopg.Connection[TupleRow], device_id: int, *, limit: int = 50
) -> list[FaultSummary]:
    """A device's faults, live ones (open or acknowledged) first, then newest onset first."""
    query = SELECT_FAULTS + (
        " WHERE f.device_id = %s ORDER BY f.status <> 'cleared' DESC, f.opened_at DESC LIMIT %s"
    )
    return fetch_models(conn, FaultSummary, query, (device_id, limit))


class _FaultRow(FaultSummary):
    device_type: str
    created_at: UtcDateTime
    evidence: JsonValue


def ticket_faults(conn: psycopg.Connection[TupleRow], ticket_id: int) -> list[FaultSummary]:
    """The faults a ticket is about (through ticket_faults), oldest onset first."""
    query = SELECT_FAULTS + " WHERE tf.ticket_id = %s ORDER BY f.opened_at, f.id"
    return fetch_models(conn, FaultSummary, query, (ticket_id,))


def ticket_diagnosis(conn: psycopg.Connection[TupleRow], ticket_id: int) -> Diagnosis | None:
    """The diagnosis of the ticket's newest diagnosed fault (made with every live fault of
    the device in view), or None: what the customer's heads-up words follow."""
    row = conn.execute(
        "SELECT f.diagnosis FROM ticket_faults tf JOIN faults f ON f.id = tf.fault_id "
        "WHERE tf.ticket_id = %s AND f.diagnosis IS NOT NULL "
        "ORDER BY f.opened_at DESC, f.id DESC LIMIT 1",
        (ticket_id,),
    ).fetchone()
    return Diagnosis.from_json(row[0]) if row is not None and isinstance(row[0], dict) else None


def get_fault(conn: psycopg.Connection[TupleRow], catalog: Catalog, fault_id: int) -> FaultDetail:
    """One fault with its evidence and the readings of its metric around the onset."""
    query = SELECT_FAULTS.replace(
        "f.hours_to_failure", "f.hours_to_failure, d.device_type, f.created_at, f.evidence"
    )
    row = fetch_model(conn, _FaultRow, query + " WHERE f.id = %s", (fault_id,))
    if row is None:
        raise NotFound(f"fault {fault_id} does not exist")
    (series,) = metric_series(
        conn,
        catalog,
        row.device_id,
        row.device_type,
        metrics=[row.metric],
        since=row.opened_at - CHART_MARGIN,
        until=row.opened_at + CHART_MARGIN,
        limit=MAX_POINTS,
    )
    notes = fetch_models(
        conn,
        FaultNote,
        "SELECT at, author, action, comment FROM fault_notes WHERE fault_id = %s ORDER BY at, id",
        (fault_id,),
    )
    fields = row.model_dump() | {"evidence": iso_evidence(row.evidence)}
    return FaultDetail(**fields, readings=series, notes=notes)


def iso_evidence(evidence: JsonValue) -> JsonValue:
    """The stored evidence with each window's start (epoch seconds, as the detectors keep
    it) written in ISO 8601 UTC, like every other time the API gives.

    >>> iso_evidence({"windows": [{"start": 1764583200.0, "mean": 9.1}], "threshold": 4.0})
    {'windows': [{'start': '2025-12-01T10:00:00Z', 'mean': 9.1}], 'threshold': 4.0}
    """
    raw = evidence.get("windows") if isinstance(evidence, dict) else None
    if not isinstance(evidence, dict) or not isinstance(raw, list):
        return evidence
    windows: list[JsonValue] = []
    for window in raw:
        start = window.get("start") if isinstance(window, dict) else None
        if isinstance(window, dict) and isinstance(start, int | float):
            at = datetime.fromtimestamp(start, UTC).isoformat().replace("+00:00", "Z")
            windows.append(window | {"start": at})
        else:
            windows.append(window)
    return evidence | {"windows": windows}
