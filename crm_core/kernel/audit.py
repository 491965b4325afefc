"""The audit log: every change to a ticket, threshold, consent or CRM record, with who and when.

Written in the same transaction as the change it describes, so the log and the data agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb


def record_audit(
    conn: psycopg.Connection[TupleRow],
    *,
    at: datetime,
    actor: str,
    entity: str,
    entity_id: object,
    action: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one line to ``audit_log`` inside the caller's transaction."""
    conn.execute(
        "INSERT INTO audit_log (at, actor, entity, entity_id, action, detail) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (at, actor, entity, str(entity_id), action, Jsonb(detail or {})),
    )
