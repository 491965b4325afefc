"""Dead letters as the API and console show them: what was refused, when, and why.

The payload is bytes; it is shown as text when it is valid UTF-8, otherwise as base64, and
``payload_encoding`` says which.
"""

from __future__ import annotations

import base64
from typing import Literal, LiteralString

import psycopg
from psycopg.rows import TupleRow

from crm_core.db.errors import NotFound
from crm_core.read_models.base import (
    FIRST_PAGE,
    Page,
    ReadModel,
    UtcDateTime,
    fetch_model,
    fetch_models,
)

PayloadEncoding = Literal["utf-8", "base64"]
PREVIEW_CHARS = 160


class _DeadLetterFields(ReadModel):
    """What a dead letter's row and its summaries share."""

    id: int
    topic: str
    reason: str
    detail: str
    received_at: UtcDateTime
    last_received_at: UtcDateTime
    occurrences: int
    replayed_at: UtcDateTime | None
    replay_outcome: str | None


class DeadLetterSummary(_DeadLetterFields):
    payload_size: int
    payload_encoding: PayloadEncoding
    payload_preview: str


class DeadLetterDetail(DeadLetterSummary):
    payload: str


class _Row(_DeadLetterFields):
    payload: bytes


_SELECT: LiteralString = """
    SELECT id, topic, reason, detail, received_at, last_received_at, occurrences,
           replayed_at, replay_outcome, payload
    FROM dead_letters
"""


def show_payload(payload: bytes) -> tuple[str, PayloadEncoding]:
    """The payload as text when it is UTF-8, else as base64."""
    try:
        return payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(payload).decode("ascii"), "base64"


def _detail(row: _Row) -> DeadLetterDetail:
    text, encoding = show_payload(row.payload)
    preview = text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
    return DeadLetterDetail(
        **row.model_dump(exclude={"payload"}),
        payload_size=len(row.payload),
        payload_encoding=encoding,
        payload_preview=preview,
        payload=text,
    )


def list_dead_letters(
    conn: psycopg.Connection[TupleRow], *, reason: str | None = None, page: Page = FIRST_PAGE
) -> list[DeadLetterSummary]:
    """Dead letters, newest first."""
    query = _SELECT + " WHERE (%(reason)s::text IS NULL OR reason = %(reason)s)"
    query += " ORDER BY received_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s"
    params = {"reason": reason, "limit": page.limit, "offset": page.offset}
    rows = fetch_models(conn, _Row, query, params)
    return [DeadLetterSummary(**_detail(row).model_dump(exclude={"payload"})) for row in rows]


def get_dead_letter(conn: psycopg.Connection[TupleRow], letter_id: int) -> DeadLetterDetail:
    row = fetch_model(conn, _Row, _SELECT + " WHERE id = %s", (letter_id,))
    if row is None:
        raise NotFound(f"dead letter {letter_id} does not exist")
    return _detail(row)
