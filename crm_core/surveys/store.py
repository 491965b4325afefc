"""Surveys on PostgreSQL: one per ticket (a unique index), answered once (a guarded update)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from crm_core.kernel.errors import NotFound
from crm_core.surveys.model import AlreadyAnsweredError, Answer, Survey

Connection = psycopg.Connection[TupleRow]
_COLUMNS = "id, ticket_id, customer_id, sent_at, answered_at, csat, nps, comment"


def _survey(row: tuple[Any, ...]) -> Survey:
    answered = row[4] is not None
    return Survey(
        id=int(row[0]),
        ticket_id=int(row[1]),
        customer_id=int(row[2]),
        sent_at=row[3],
        answered_at=row[4],
        answer=Answer(row[5], row[6], row[7]) if answered else None,
    )


def open_survey(conn: Connection, ticket_id: int, customer_id: int, now: datetime) -> Survey:
    """The ticket's survey, made now if it has none (a redelivered event makes no second)."""
    conn.execute(
        "INSERT INTO surveys (ticket_id, customer_id, sent_at) VALUES (%s, %s, %s) "
        "ON CONFLICT (ticket_id) DO NOTHING",
        (ticket_id, customer_id, now),
    )
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM surveys WHERE ticket_id = %s", (ticket_id,)
    ).fetchone()
    assert row is not None
    return _survey(row)


def get_survey(conn: Connection, survey_id: int) -> Survey:
    row = conn.execute(f"SELECT {_COLUMNS} FROM surveys WHERE id = %s", (survey_id,)).fetchone()
    if row is None:
        raise NotFound(f"no survey {survey_id}")
    return _survey(row)


def ticket_survey(conn: Connection, ticket_id: int) -> Survey | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM surveys WHERE ticket_id = %s", (ticket_id,)
    ).fetchone()
    return None if row is None else _survey(row)


def record_answer(conn: Connection, survey_id: int, answer: Answer, now: datetime) -> Survey:
    """Record the answer; :class:`AlreadyAnsweredError` if the survey has one already."""
    row = conn.execute(
        f"UPDATE surveys SET answered_at = %s, csat = %s, nps = %s, comment = %s "
        f"WHERE id = %s AND answered_at IS NULL RETURNING {_COLUMNS}",
        (now, answer.csat, answer.nps, answer.comment, survey_id),
    ).fetchone()
    if row is None:
        get_survey(conn, survey_id)  # NotFound when there is no such survey
        raise AlreadyAnsweredError(f"survey {survey_id} is answered already")
    conn.execute(
        "INSERT INTO audit_log (at, actor, entity, entity_id, action, detail) "
        "VALUES (%s, %s, 'survey', %s, 'answered', %s)",
        (
            now,
            f"customer:{row[2]}",
            str(survey_id),
            Jsonb({"csat": answer.csat, "nps": answer.nps}),
        ),
    )
    return _survey(row)


def customer_surveys(conn: Connection, customer_id: int) -> list[Survey]:
    """The customer's surveys, newest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM surveys WHERE customer_id = %s ORDER BY sent_at DESC",
        (customer_id,),
    ).fetchall()
    return [_survey(row) for row in rows]


def answered_scores(conn: Connection, since: datetime | None) -> tuple[list[int], list[int], int]:
    """The CSAT and NPS answers given since ``since`` (all if None), and how many answers."""
    rows = conn.execute(
        "SELECT csat, nps FROM surveys WHERE answered_at IS NOT NULL "
        "AND (%(since)s::timestamptz IS NULL OR answered_at >= %(since)s)",
        {"since": since},
    ).fetchall()
    csats = [int(r[0]) for r in rows if r[0] is not None]
    npss = [int(r[1]) for r in rows if r[1] is not None]
    return csats, npss, len(rows)
