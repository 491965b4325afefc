"""API keys: ``cl_<prefix>_<secret>``, stored as prefix, SHA-256 digest and role.

The prefix (8 characters of ``[a-z0-9]``) finds the row and is safe to show in lists; the
secret is 32 random bytes in URL-safe base64 (43 characters). Keys carry 256 bits of
randomness, so a plain SHA-256 is enough to store them: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

from crm_core.auth.principals import Principal, Role, parse_role
from crm_core.auth.scopes import parse_customer_ids

KEY_PREFIX = "cl_"
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
PREFIX_LENGTH = 8
SECRET_LENGTH = 43  # secrets.token_urlsafe(32)
KEY_LENGTH = len(KEY_PREFIX) + PREFIX_LENGTH + 1 + SECRET_LENGTH


@dataclass(frozen=True, slots=True)
class NewKey:
    key: str  # the plaintext, shown once
    prefix: str
    digest: bytes


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def generate_key() -> NewKey:
    prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(key=key, prefix=prefix, digest=digest(key))


def key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, None for anything else."""
    if len(key) != KEY_LENGTH or not key.startswith(KEY_PREFIX):
        return None
    prefix = key[len(KEY_PREFIX) : len(KEY_PREFIX) + PREFIX_LENGTH]
    if key[len(KEY_PREFIX) + PREFIX_LENGTH] != "_" or not set(prefix) <= set(PREFIX_ALPHABET):
        return None
    return prefix


def store_key(
    conn: psycopg.Connection[TupleRow],
    name: str,
    role: Role,
    customer_ids: frozenset[int] | None = None,
) -> str:
    """Insert a new key and return its plaintext (never stored)."""
    new = generate_key()
    conn.execute(
        "INSERT INTO api_keys (name, prefix, key_hash, role, customer_ids) "
        "VALUES (%s, %s, %s, %s, %s)",
        (
            name,
            new.prefix,
            new.digest,
            role,
            None if customer_ids is None else sorted(customer_ids),
        ),
    )
    return new.key


def principal_for_key(conn: psycopg.Connection[TupleRow], key: str) -> Principal | None:
    """The principal of a valid, unrevoked key; None otherwise."""
    prefix = key_prefix(key)
    if prefix is None:
        return None
    row = conn.execute(
        "SELECT name, key_hash, role, customer_ids FROM api_keys "
        "WHERE prefix = %s AND revoked_at IS NULL",
        (prefix,),
    ).fetchone()
    if row is None:
        return None
    name, stored, role, customer_ids = row
    if not hmac.compare_digest(bytes(stored), digest(key)):
        return None
    return Principal(
        kind="api_key",
        name=str(name),
        role=parse_role(str(role)),
        customer_ids=parse_customer_ids(customer_ids),
    )


def revoke_key(conn: psycopg.Connection[TupleRow], prefix: str) -> bool:
    """Revoke the key with ``prefix``; False when there is no such live key."""
    cur = conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE prefix = %s AND revoked_at IS NULL",
        (prefix,),
    )
    return cur.rowcount == 1


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as lists show it: never its secret."""

    prefix: str
    name: str
    role: str
    customer_ids: tuple[int, ...] | None
    created_at: datetime
    revoked_at: datetime | None


def list_keys(
    conn: psycopg.Connection[TupleRow], *, include_revoked: bool = False
) -> list[KeyInfo]:
    """Every key, oldest first (live ones only unless ``include_revoked``)."""
    rows = conn.execute(
        "SELECT prefix, name, role, customer_ids, created_at, revoked_at FROM api_keys "
        "WHERE %s OR revoked_at IS NULL ORDER BY created_at, id",
        (include_revoked,),
    ).fetchall()
    return [
        KeyInfo(
            prefix=str(prefix),
            name=str(name),
            role=str(role),
            customer_ids=None if ids is None else tuple(sorted(ids)),
            created_at=created,
            revoked_at=revoked,
        )
        for prefix, name, role, ids, created, revoked in rows
    ]
