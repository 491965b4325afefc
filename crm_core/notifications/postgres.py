"""The outbox on PostgreSQL: idempotent enqueue, claims with FOR UPDATE SKIP LOCKED and a lease.

``claim`` is its own short transaction: it picks due rows (pending and due, or sending with
an expired lease) that no other dispatcher has locked, marks them ``sending`` with
``claimed_until = now + lease`` and counts the attempt, then commits. Two dispatchers
therefore never claim one row at the same time; a dispatcher that dies after claiming
leaves rows that come due again when the lease runs out (at least once). Each outcome is
written only while the claim is still ours (``claimed_until`` unchanged), so a slow
dispatcher whose lease expired and was taken over does not overwrite the newer outcome.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from crm_core.kernel.audit import record_audit
from crm_core.kernel.errors import NotFound
from crm_core.notifications.model import Message, OutboxRow

COLUMNS = (
    "id, idempotency_key, customer_id, channel, purpose, recipient, subject, body, payload, "
    "expires_at, status, attempts, next_attempt_at, claimed_until, last_error, created_at, "
    "sent_at"
)
ERROR_CHARS = 2000


def outbox_row(row: tuple[Any, ...]) -> OutboxRow:
    message = Message(
        idempotency_key=str(row[1]),
        customer_id=None if row[2] is None else int(row[2]),
        channel=row[3],
        purpose=row[4],
        recipient=str(row[5]),
        subject=str(row[6]),
        body=str(row[7]),
        payload=dict(row[8]),
        expires_at=row[9],
    )
    return OutboxRow(
        id=int(row[0]),
        message=message,
        status=row[10],
        attempts=int(row[11]),
        next_attempt_at=row[12],
        claimed_until=row[13],
        last_error=row[14],
        created_at=row[15],
        sent_at=row[16],
    )


class PostgresOutbox:
    def __init__(self, conn: psycopg.Connection[TupleRow]) -> None:
        self._conn = conn

    def enqueue(self, message: Message, now: datetime, *, suppressed: str | None = None) -> bool:
        cur = self._conn.execute(
            """
            INSERT INTO outbox (idempotency_key, customer_id, channel, purpose, recipient,
                                subject, body, payload, expires_at, status, last_error,
                                next_attempt_at, created_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (idempotency_key) DO NOTHING
            """,
            (
                message.idempotency_key,
                message.customer_id,
                message.channel,
                message.purpose,
                message.recipient,
                message.subject,
                message.body,
                Jsonb(message.payload),
                message.expires_at,
                "pending" if suppressed is None else "suppressed",
                suppressed,
                now,
                now,
            ),
        )
        return cur.rowcount > 0

    def enqueue_many(self, messages: list[Message], now: datetime) -> int:
        """Several pending messages in one statement; how many were new."""
        if not messages:
            return 0
        values = ", ".join(
            ["(%s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s)"] * len(messages)
        )
        params: list[Any] = []
        for m in messages:
            params.extend((
                m.idempotency_key, m.customer_id, m.channel, m.purpose, m.recipient, m.subject,
                m.body, Jsonb(m.payload), m.expires_at, now, now,
            ))  # fmt: skip
        cur = self._conn.execute(
            "INSERT INTO outbox (idempotency_key, customer_id, channel, purpose, recipient, "
            "subject, body, payload, expires_at, status, next_attempt_at, created_at) "
            f"VALUES {values} ON CONFLICT (idempotency_key) DO NOTHING",
            params,
        )
        return cur.rowcount


def claim(
    conn: psycopg.Connection[TupleRow], now: datetime, lease_s: float, limit: int
) -> list[OutboxRow]:
    """Claim up to ``limit`` due rows for ``lease_s`` seconds (commit right after)."""
    rows = conn.execute(
        f"""
        UPDATE outbox SET status = 'sending', attempts = attempts + 1,
                          claimed_until = %(until)s
        WHERE id IN (
            SELECT id FROM outbox
            WHERE (status = 'pending' AND next_attempt_at <= %(now)s)
               OR (status = 'sending' AND claimed_until <= %(now)s)
            ORDER BY next_attempt_at, id
            LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
        )
        RETURNING {COLUMNS}
        """,
        {"now": now, "until": now + timedelta(seconds=lease_s), "limit": limit},
    ).fetchall()
    return sorted((outbox_row(r) for r in rows), key=lambda r: r.id)


def _settle(
    conn: psycopg.Connection[TupleRow], row: OutboxRow, assignments: str, params: dict[str, Any]
) -> bool:
    cur = conn.execute(
        f"UPDATE outbox SET {assignments}, claimed_until = NULL "
        "WHERE id = %(id)s AND status = 'sending' AND claimed_until = %(claimed)s",
        {"id": row.id, "claimed": row.claimed_until, **params},
    )
    return cur.rowcount > 0


def mark_sent(conn: psycopg.Connection[TupleRow], row: OutboxRow, now: datetime) -> bool:
    return _settle(conn, row, "status = 'sent', sent_at = %(now)s, last_error = NULL", {"now": now})


def mark_sent_many(conn: psycopg.Connection[TupleRow], rows: list[OutboxRow], now: datetime) -> int:
    """:func:`mark_sent` for many rows in one statement (each only while its claim holds)."""
    if not rows:
        return 0
    cur = conn.execute(
        "UPDATE outbox o SET status = 'sent', sent_at = %s, last_error = NULL, "
        "claimed_until = NULL FROM unnest(%s::bigint[], %s::timestamptz[]) AS c(id, claimed) "
        "WHERE o.id = c.id AND o.status = 'sending' AND o.claimed_until = c.claimed",
        (now, [r.id for r in rows], [r.claimed_until for r in rows]),
    )
    return cur.rowcount


def mark_expired(conn: psycopg.Connection[TupleRow], row: OutboxRow, reason: str) -> bool:
    return _settle(conn, row, "status = 'expired', last_error = %(why)s", {"why": reason})


def mark_suppressed(conn: psycopg.Connection[TupleRow], row: OutboxRow, reason: str) -> bool:
    return _settle(conn, row, "status = 'suppressed', last_error = %(why)s", {"why": reason})


def mark_retry(
    conn: psycopg.Connection[TupleRow], row: OutboxRow, error: str, at: datetime
) -> bool:
    return _settle(
        conn,
        row,
        "status = 'pending', next_attempt_at = %(at)s, last_error = %(error)s",
        {"at": at, "error": error[:ERROR_CHARS]},
    )


def mark_failed(conn: psycopg.Connection[TupleRow], row: OutboxRow, error: str) -> bool:
    return _settle(
        conn, row, "status = 'failed', last_error = %(error)s", {"error": error[:ERROR_CHARS]}
    )


class NotRetryable(Exception):
    """Only a failed message can be sent again by hand."""


def retry_failed(
    conn: psycopg.Connection[TupleRow], outbox_id: int, now: datetime, actor: str
) -> None:
    """Put a failed message back in the queue with fresh attempts (an operator's action),
    audited; one transaction (the caller's)."""
    row = conn.execute(
        "SELECT status FROM outbox WHERE id = %s FOR UPDATE", (outbox_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"outbox message {outbox_id} does not exist")
    if row[0] != "failed":
        raise NotRetryable(f"outbox message {outbox_id} is {row[0]}, not failed")
    conn.execute(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = %s WHERE id = %s",
        (now, outbox_id),
    )
    record_audit(
        conn, at=now, actor=actor, entity="outbox", entity_id=outbox_id, action="outbox.retry"
    )
