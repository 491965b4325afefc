"""Dead letters as the API and console show them: what was refused, when, and why.

The payload is bytes; it is shown as text when it is valid UTF-8, otherwise as base64, and
``payload_encoding`` says which. Nothing here is unbounded, whatever was sent: a list row
carries at most a :data:`PREVIEW_CHARS` preview of the payload and :data:`DETAIL_CHARS` of
the reason, a single dead letter at most :data:`PAYLOAD_BYTES` of its payload
(``payload_truncated`` says when there is more), and the database cuts them, so that a
10 MB payload never leaves it.
"""

from __future__ import annotations

import base64
from typing import Final, Literal, LiteralString

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

PayloadEncoding = Literal["utf-8", "base64"]
PREVIEW_CHARS: Final = 160
DETAIL_CHARS: Final = 2000
PAYLOAD_BYTES: Final = 64 * 1024
_PREVIEW_BYTES: Final = 4 * PREVIEW_CHARS  # enough bytes for PREVIEW_CHARS characters


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
    payload_size: int
    payload_complete: bool


class DeadLetterSummary(_DeadLetterFields):
    payload_encoding: PayloadEncoding
    payload_preview: str


class DeadLetterDetail(DeadLetterSummary):
    payload: str
    payload_truncated: bool


class _Row(_DeadLetterFields):
    payload: bytes


_SELECT: LiteralString = """
    SELECT id, topic, reason, left(detail, %(detail_chars)s) AS detail, received_at,
           last_received_at, occurrences, replayed_at, left(replay_outcome, %(detail_chars)s)
           AS replay_outcome, octet_length(payload) AS payload_size, payload_complete,
           substring(payload FROM 1 FOR %(payload_bytes)s) AS payload
    FROM dead_letters
"""


def show_payload(payload: bytes, *, cut: bool = False) -> tuple[str, PayloadEncoding]:
    """The payload as text when it is UTF-8, else as base64.

    ``cut``: the bytes are the head of a longer payload, so a character split at the end
    is dropped rather than taken for invalid UTF-8.
    """
    for end in (len(payload), *(len(payload) - k for k in (1, 2, 3) if cut)):
        try:
            return payload[:end].decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            continue
    return base64.b64encode(payload).decode("ascii"), "base64"


def _detail(row: _Row) -> DeadLetterDetail:
    truncated = row.payload_size > len(row.payload)
    text, encoding = show_payload(row.payload, cut=truncated)
    preview = text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
    return DeadLetterDetail(
        **row.model_dump(exclude={"payload"}),
        payload_encoding=encoding,
        payload_preview=preview,
        payload=text,
        payload_truncated=truncated,
    )


def list_dead_letters(
    conn: psycopg.Connection[TupleRow], *, reason: str | None = None, page: Page = FIRST_PAGE
) -> list[DeadLetterSummary]:
    """Dead letters, newest first."""
    query = _SELECT + " WHERE (%(reason)s::text IS NULL OR reason = %(reason)s)"
    query += " ORDER BY received_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s"
    params = {
        "reason": reason,
        "limit": page.limit,
        "offset": page.offset,
        "detail_chars": DETAIL_CHARS,
        "payload_bytes": _PREVIEW_BYTES,
    }
    rows = fetch_models(conn, _Row, query, params)
    return [
        DeadLetterSummary(**_detail(row).model_dump(exclude={"payload", "payload_truncated"}))
        for row in rows
    ]


def get_dead_letter(conn: psycopg.Connection[TupleRow], letter_id: int) -> DeadLetterDetail:
    params = {"id": letter_id, "detail_chars": DETAIL_CHARS, "payload_bytes": PAYLOAD_BYTES}
    row = fetch_model(conn, _Row, _SELECT + " WHERE id = %(id)s", params)
    if row is None:
        raise NotFound(f"dead letter {letter_id} does not exist")
    return _detail(row)
