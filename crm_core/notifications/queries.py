"""The outbox as the console and API show it: newest first, filtered by status."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import (
    FIRST_PAGE,
    Page,
    ReadModel,
    UtcDateTime,
    fetch_model,
    fetch_models,
)
from crm_core.notifications.model import Status


class OutboxSummary(ReadModel):
    id: int
    idempotency_key: str
    customer_id: int | None
    customer_name: str | None
    channel: str
    purpose: str
    recipient: str
    subject: str
    status: Status
    attempts: int
    next_attempt_at: UtcDateTime
    last_error: str | None
    created_at: UtcDateTime
    sent_at: UtcDateTime | None


_SELECT = """
    SELECT o.id, o.idempotency_key, o.customer_id, c.name AS customer_name, o.channel,
           o.purpose, o.recipient, o.subject, o.status, o.attempts, o.next_attempt_at,
           o.last_error, o.created_at, o.sent_at
    FROM outbox o LEFT JOIN customers c ON c.id = o.customer_id
"""


def outbox_message(conn: psycopg.Connection[TupleRow], outbox_id: int) -> OutboxSummary:
    row = fetch_model(conn, OutboxSummary, _SELECT + " WHERE o.id = %s", (outbox_id,))
    if row is None:
        raise NotFound(f"outbox message {outbox_id} does not exist")
    return row


def list_outbox(
    conn: psycopg.Connection[TupleRow],
    *,
    status: Status | None = None,
    customer_id: int | None = None,
    page: Page = FIRST_PAGE,
) -> list[OutboxSummary]:
    params: dict[str, Any] = {
        "status": status,
        "customer": customer_id,
        "limit": page.limit,
        "offset": page.offset,
    }
    return fetch_models(
        conn,
        OutboxSummary,
        _SELECT
        + """
        WHERE (%(status)s::text IS NULL OR o.status = %(status)s)
          AND (%(customer)s::bigint IS NULL OR o.customer_id = %(customer)s)
        ORDER BY o.created_at DESC, o.id DESC
        LIMIT %(limit)s OFFSET %(offset)s
        """,
        params,
    )
