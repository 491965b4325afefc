"""The frames the reports are computed from, read from PostgreSQL for a period."""

from __future__ import annotations

from datetime import datetime
from typing import LiteralString

import pandas as pd
import psycopg
from psycopg.rows import TupleRow


def _frame(
    conn: psycopg.Connection[TupleRow],
    query: LiteralString,
    params: dict[str, object],
    columns: list[str],
    times: list[str],
) -> pd.DataFrame:
    rows = conn.execute(query, params).fetchall()
    frame = pd.DataFrame(rows, columns=columns)
    for column in times:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def devices_frame(conn: psycopg.Connection[TupleRow], end: datetime) -> pd.DataFrame:
    """Devices in service before ``end``: from their installation day, or their
    registration when that is not known."""
    return _frame(
        conn,
        """
        SELECT id, device_type, model, firmware, production_batch, in_service_from
          FROM (SELECT id, device_type, model, firmware, production_batch,
                       coalesce(installed_on::timestamp AT TIME ZONE 'UTC', created_at)
                           AS in_service_from
                  FROM devices) d
         WHERE in_service_from < %(end)s ORDER BY id
        """,
        {"end": end},
        ["id", "device_type", "model", "firmware", "production_batch", "in_service_from"],
        ["in_service_from"],
    )


def faults_frame(
    conn: psycopg.Connection[TupleRow], start: datetime, end: datetime
) -> pd.DataFrame:
    """Faults opened in [start, end)."""
    return _frame(
        conn,
        "SELECT id, device_id, metric, detector, opened_at FROM faults "
        "WHERE opened_at >= %(start)s AND opened_at < %(end)s ORDER BY opened_at, id",
        {"start": start, "end": end},
        ["id", "device_id", "metric", "detector", "opened_at"],
        ["opened_at"],
    )


def tickets_frame(
    conn: psycopg.Connection[TupleRow], start: datetime, end: datetime
) -> pd.DataFrame:
    """Tickets created in [start, end), with their SLA tier, first-time-fix record and the
    model of their device (None for a ticket about no device)."""
    return _frame(
        conn,
        """
        SELECT t.id, t.kind, t.priority, t.status, t.created_at, t.sla_tier,
               t.first_time_fix, d.model
          FROM tickets t LEFT JOIN devices d ON d.id = t.device_id
         WHERE t.created_at >= %(start)s AND t.created_at < %(end)s ORDER BY t.id
        """,
        {"start": start, "end": end},
        ["id", "kind", "priority", "status", "created_at", "sla_tier", "first_time_fix", "model"],
        ["created_at"],
    )


def history_frame(
    conn: psycopg.Connection[TupleRow], start: datetime, end: datetime
) -> pd.DataFrame:
    """The history of the tickets created in [start, end), up to now."""
    return _frame(
        conn,
        """
        SELECT h.ticket_id, h.at, h.actor, h.action, h.old_status, h.new_status
          FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id
         WHERE t.created_at >= %(start)s AND t.created_at < %(end)s ORDER BY h.at, h.id
        """,
        {"start": start, "end": end},
        ["ticket_id", "at", "actor", "action", "old_status", "new_status"],
        ["at"],
    )


def breaches_frame(
    conn: psycopg.Connection[TupleRow], start: datetime, end: datetime
) -> pd.DataFrame:
    """The SLA breaches the SLA job recorded for tickets created in [start, end)."""
    return _frame(
        conn,
        """
        SELECT a.ticket_id, a.metric FROM sla_alerts a JOIN tickets t ON t.id = a.ticket_id
         WHERE a.kind = 'breach' AND t.created_at >= %(start)s AND t.created_at < %(end)s
         ORDER BY a.ticket_id, a.metric
        """,
        {"start": start, "end": end},
        ["ticket_id", "metric"],
        [],
    )


def answers_frame(
    conn: psycopg.Connection[TupleRow], start: datetime, end: datetime
) -> pd.DataFrame:
    """Survey answers given in [start, end), with the kind of their ticket."""
    return _frame(
        conn,
        """
        SELECT s.ticket_id, t.kind, s.answered_at, s.csat, s.nps
          FROM surveys s JOIN tickets t ON t.id = s.ticket_id
         WHERE s.answered_at >= %(start)s AND s.answered_at < %(end)s
         ORDER BY s.answered_at, s.id
        """,
        {"start": start, "end": end},
        ["ticket_id", "kind", "answered_at", "csat", "nps"],
        ["answered_at"],
    )


def ticket_answers_frame(
    conn: psycopg.Connection[TupleRow], start: datetime, end: datetime
) -> pd.DataFrame:
    """Survey answers (given at any time) about the tickets created in [start, end)."""
    return _frame(
        conn,
        """
        SELECT s.ticket_id, t.kind, s.answered_at, s.csat, s.nps
          FROM surveys s JOIN tickets t ON t.id = s.ticket_id
         WHERE s.answered_at IS NOT NULL
           AND t.created_at >= %(start)s AND t.created_at < %(end)s
         ORDER BY s.answered_at, s.id
        """,
        {"start": start, "end": end},
        ["ticket_id", "kind", "answered_at", "csat", "nps"],
        ["answered_at"],
    )
