"""Recording faults and opening proactive tickets, inside the caller's transaction.

Idempotent by construction, with the database enforcing it: a fault onset is stored once
(unique device, metric, onset; and at most one open fault per device and metric), a device
has at most one live proactive ticket (a partial unique index), and a fault joins at most
one ticket. Redelivered messages and concurrent workers therefore add nothing twice.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.rows import TupleRow

from alerts.rules import FaultFacts, as_datetime, proactive_ticket
from devices.catalog import Catalog
from devices.faults.model import FaultCleared, FaultEvent, FaultOpened


@dataclass(slots=True)
class FaultOutcome:
    faults_opened: list[int] = field(default_factory=list)
    faults_cleared: int = 0
    tickets_opened: list[int] = field(default_factory=list)
    faults_linked: int = 0


def evidence_json(event: FaultOpened) -> bytes:
    windows = [dataclasses.asdict(w) for w in event.evidence]
    return orjson.dumps({"windows": windows, "threshold": event.threshold})


def _means(event: FaultOpened) -> tuple[float | None, float | None]:
    """The latest window mean, and the mean of the normal windows before the onset."""
    windows: list[Any] = list(event.evidence)
    if not windows:
        return None, None
    latest = float(windows[-1].mean)
    normal = [float(w.mean) for w in windows if float(w.score) < event.threshold]
    baseline = sum(normal) / len(normal) if normal else None
    return latest, baseline


def record_opened(
    conn: psycopg.Connection[TupleRow], event: FaultOpened, catalog: Catalog, now: datetime
) -> tuple[int | None, int | None]:
    """Store the fault; open or join the device's proactive ticket. -> (fault id, new ticket id)."""
    row = conn.execute(
        """
        INSERT INTO faults (device_id, metric, detector, score, threshold, status,
                            opened_at, evidence)
        VALUES (%s, %s, %s, %s, %s, 'open', %s, %s::jsonb)
        ON CONFLICT DO NOTHING
        RETURNING id
        """,
        (
            event.device_id,
            event.metric,
            event.detector,
            event.score,
            event.threshold,
            as_datetime(event.opened_at),
            evidence_json(event).decode(),
        ),
    ).fetchone()
    if row is None:
        return None, None  # already recorded (redelivery, or another worker)
    fault_id = int(row[0])

    device = conn.execute(
        "SELECT serial, device_type, model, customer_id FROM devices WHERE id = %s",
        (event.device_id,),
    ).fetchone()
    if device is None or device[3] is None:
        return fault_id, None  # stock or unsold device: no customer to serve
    serial, type_key, model, customer_id = str(device[0]), str(device[1]), str(device[2]), device[3]
    device_type = catalog.device_type(type_key)
    metric = device_type.metrics[event.metric]
    latest, baseline = _means(event)
    draft = proactive_ticket(
        FaultFacts(
            device_serial=serial,
            device_type=type_key,
            device_type_label=device_type.label,
            model=model,
            metric=metric.key,
            metric_label=metric.label,
            unit=metric.unit,
            detector=event.detector,
            score=event.score,
            threshold=event.threshold,
            opened_at=as_datetime(event.opened_at),
            latest_mean=latest,
            baseline_mean=baseline,
        )
    )
    created = conn.execute(
        """
        INSERT INTO tickets (kind, status, priority, subject, description, customer_id,
                             device_id, created_at, updated_at)
        VALUES ('proactive', 'new', %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (device_id) WHERE kind = 'proactive' AND status NOT IN ('solved', 'closed')
        DO NOTHING
        RETURNING id
        """,
        (draft.priority, draft.subject, draft.description, customer_id, event.device_id, now, now),
    ).fetchone()
    new_ticket: int | None
    if created is not None:
        ticket_id, new_ticket = int(created[0]), int(created[0])
    else:
        live = conn.execute(
            """
            SELECT id FROM tickets WHERE device_id = %s AND kind = 'proactive'
               AND status NOT IN ('solved', 'closed')
            """,
            (event.device_id,),
        ).fetchone()
        if live is None:
            return fault_id, None
        ticket_id, new_ticket = int(live[0]), None
    conn.execute(
        "INSERT INTO ticket_faults (ticket_id, fault_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (ticket_id, fault_id),
    )
    return fault_id, new_ticket


def record_cleared(conn: psycopg.Connection[TupleRow], event: FaultCleared) -> bool:
    cur = conn.execute(
        """
        UPDATE faults SET status = 'cleared', cleared_at = greatest(%s, opened_at)
         WHERE device_id = %s AND metric = %s AND status = 'open'
        """,
        (as_datetime(event.cleared_at), event.device_id, event.metric),
    )
    return cur.rowcount > 0


def record_fault_events(
    conn: psycopg.Connection[TupleRow],
    events: list[FaultEvent],
    catalog: Catalog,
    now: datetime,
) -> FaultOutcome:
    outcome = FaultOutcome()
    for event in events:
        if isinstance(event, FaultOpened):
            fault_id, ticket_id = record_opened(conn, event, catalog, now)
            if fault_id is not None:
                outcome.faults_opened.append(fault_id)
            if ticket_id is not None:
                outcome.tickets_opened.append(ticket_id)
        elif record_cleared(conn, event):
            outcome.faults_cleared += 1
    return outcome
