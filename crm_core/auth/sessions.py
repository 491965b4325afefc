"""Server-side console sessions: the cookie carries a random token, the table the rest.

A session lives until the first of: sign-out, revocation by an administrator (all of a
user's sessions at once), ``expires_at`` (an absolute lifetime from sign-in), or an idle
gap longer than the idle timeout. Only the token's SHA-256 is stored. The user's role and
scope are read from ``staff_users`` on every request, so a change takes effect at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from crm_core.auth.principals import STAFF_ROLES, Principal, parse_role
from crm_core.auth.scopes import parse_customer_ids

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often
KEEP_ENDED = timedelta(days=7)  # ended sessions are kept this long, then deleted
TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a session may last, in all and between two requests."""

    max_age: timedelta
    idle_timeout: timedelta


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def start_session(
    conn: psycopg.Connection[TupleRow],
    user_id: int,
    now: datetime,
    policy: SessionPolicy,
    *,
    client_address: str = "",
    user_agent: str = "",
) -> str:
    """Record a new session for the user and return its token (for the cookie only)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with conn.transaction():
        conn.execute(
            "DELETE FROM staff_sessions WHERE user_id = %s "
            "AND (expires_at < %s OR revoked_at < %s)",
            (user_id, now - KEEP_ENDED, now - KEEP_ENDED),
        )
        conn.execute(
            "INSERT INTO staff_sessions (token_hash, user_id, created_at, last_seen_at, "
            "expires_at, client_address, user_agent) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                token_digest(token),
                user_id,
                now,
                now,
                now + policy.max_age,
                client_address[:100],
                user_agent[:300],
            ),
        )
    return token


def session_principal(
    conn: psycopg.Connection[TupleRow], token: str, now: datetime, policy: SessionPolicy
) -> Principal | None:
    """The signed-in user of a live session, or None (unknown, ended, expired or idle)."""
    row = conn.execute(
        "SELECT u.email, u.role, u.customer_ids, s.last_seen_at FROM staff_sessions s "
        "JOIN staff_users u ON u.id = s.user_id "
        "WHERE s.token_hash = %s AND s.revoked_at IS NULL AND s.expires_at > %s "
        "AND s.last_seen_at > %s",
        (token_digest(token), now, now - policy.idle_timeout),
    ).fetchone()
    if row is None:
        return None
    email, role, customer_ids, last_seen = row
    if now - last_seen >= TOUCH_EVERY:
        with conn.transaction():
            conn.execute(
                "UPDATE staff_sessions SET last_seen_at = %s WHERE token_hash = %s",
                (now, token_digest(token)),
            )
    return Principal(
        kind="user",
        name=str(email),
        role=parse_role(str(role), allowed=STAFF_ROLES),
        customer_ids=parse_customer_ids(customer_ids),
    )


def end_session(conn: psycopg.Connection[TupleRow], token: str, now: datetime) -> bool:
    """Sign-out: the session's token is refused from now on."""
    with conn.transaction():
        cur = conn.execute(
            "UPDATE staff_sessions SET revoked_at = %s "
            "WHERE token_hash = %s AND revoked_at IS NULL",
            (now, token_digest(token)),
        )
    return cur.rowcount == 1


def revoke_user_sessions(
    conn: psycopg.Connection[TupleRow], email: str, now: datetime, *, actor: str
) -> int | None:
    """End every live session of the user; their number, or None without such a user.

    Recorded in ``audit_log`` with who did it.
    """
    with conn.transaction():
        row = conn.execute(
            "SELECT id FROM staff_users WHERE email = %s", (email.strip().lower(),)
        ).fetchone()
        if row is None:
            return None
        user_id = int(row[0])
        cur = conn.execute(
            "UPDATE staff_sessions SET revoked_at = %s WHERE user_id = %s AND revoked_at IS NULL",
            (now, user_id),
        )
        conn.execute(
            "INSERT INTO audit_log (at, actor, entity, entity_id, action, detail) "
            "VALUES (%s, %s, 'staff_user', %s, 'sessions_revoked', "
            "jsonb_build_object('sessions', %s::int))",
            (now, actor, str(user_id), cur.rowcount),
        )
    return cur.rowcount
