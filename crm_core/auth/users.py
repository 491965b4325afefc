"""Staff users and API keys: the admin use cases, one transaction each.

The CLI (``careline users create-admin``, ``careline users create-api-key``) and the demo's
start-up call these with a connection from the pool.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import psycopg
from psycopg.rows import TupleRow

from crm_core.auth import api_keys, passwords
from crm_core.auth.errors import UserExistsError
from crm_core.auth.principals import STAFF_ROLES, Principal, parse_role
from crm_core.auth.scopes import parse_customer_ids


@cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so that a miss costs as long as a hit."""
    return passwords.hash_password(secrets.token_urlsafe(16))


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    if "@" not in value or len(value) > 254 or not value.isprintable():
        raise ValueError(f"not an e-mail address: {email!r}")
    return value


def create_user(
    conn: psycopg.Connection[TupleRow],
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    customer_ids: Iterable[int] | None = None,
) -> int:
    """Create a staff user (limited to ``customer_ids`` when given); returns its id.

    Raises UserExistsError, InvalidRoleError or WeakPasswordError.
    """
    checked_role = parse_role(role, allowed=STAFF_ROLES)
    address = normalise_email(email)
    passwords.check_strength(password, user_inputs=[address, name])
    scope = parse_customer_ids(customer_ids)
    encoded = passwords.hash_password(password)
    try:
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO staff_users (email, name, role, password_hash, customer_ids) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (address, name or address, checked_role, encoded, _ids(scope)),
            ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise UserExistsError(f"a user with e-mail {address!r} exists already") from exc
    assert row is not None
    return int(row[0])


def ensure_admin(conn: psycopg.Connection[TupleRow], email: str, password: str) -> bool:
    """Create the first administrator unless one exists; True when it was created.

    Idempotent: the demo calls it at every start. When an admin exists already (whatever
    their e-mail), nothing changes.
    """
    passwords.check_strength(password)
    address = normalise_email(email)
    with conn.transaction():
        # Serialise concurrent starts: only one of them may create the first admin.
        conn.execute("LOCK TABLE staff_users IN SHARE ROW EXCLUSIVE MODE")
        if conn.execute("SELECT 1 FROM staff_users WHERE role = 'admin' LIMIT 1").fetchone():
            return False
        cur = conn.execute(
            "INSERT INTO staff_users (email, name, role, password_hash) "
            "VALUES (%s, %s, 'admin', %s) ON CONFLICT (email) DO NOTHING",
            (address, address, passwords.hash_password(password)),
        )
        return cur.rowcount == 1


def _ids(scope: frozenset[int] | None) -> list[int] | None:
    return None if scope is None else sorted(scope)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What sign-in needs from a user's row; the hash is checked without a connection."""

    user_id: int
    email: str
    password_hash: str


def find_credentials(conn: psycopg.Connection[TupleRow], email: str) -> Credentials | None:
    """The stored hash of the user with ``email``; None when there is no such user."""
    try:
        address = normalise_email(email)
    except ValueError:
        return None
    row = conn.execute(
        "SELECT id, password_hash FROM staff_users WHERE email = %s", (address,)
    ).fetchone()
    if row is None:
        return None
    return Credentials(user_id=int(row[0]), email=address, password_hash=str(row[1]))


def check_password(found: Credentials | None, password: str) -> bool:
    """Verify (CPU and 64 MiB for some 50 ms; call it outside any connection).

    An unknown user is verified against a dummy hash so that a miss costs as a hit does.
    """
    if found is None:
        passwords.verify_password(_dummy_hash(), password)
        return False
    return passwords.verify_password(found.password_hash, password)


def rehash_if_needed(conn: psycopg.Connection[TupleRow], found: Credentials, password: str) -> None:
    """After a successful check: store a hash with today's parameters if they changed."""
    if passwords.needs_rehash(found.password_hash):
        encoded = passwords.hash_password(password)
        with conn.transaction():
            conn.execute(
                "UPDATE staff_users SET password_hash = %s WHERE id = %s",
                (encoded, found.user_id),
            )


def user_principal(conn: psycopg.Connection[TupleRow], email: str) -> Principal | None:
    """The principal of an existing user, with their role and scope as stored now."""
    row = conn.execute(
        "SELECT role, customer_ids FROM staff_users WHERE email = %s", (email,)
    ).fetchone()
    if row is None:
        return None
    return Principal(
        kind="user",
        name=email,
        role=parse_role(str(row[0]), allowed=STAFF_ROLES),
        customer_ids=parse_customer_ids(row[1]),
    )


def authenticate(conn: psycopg.Connection[TupleRow], email: str, password: str) -> Principal | None:
    """The user's principal when e-mail and password match; None otherwise (CLI, tests).

    The web sign-in does the same in steps so that no connection is held while hashing.
    """
    found = find_credentials(conn, email)
    if not check_password(found, password):
        return None
    assert found is not None
    rehash_if_needed(conn, found, password)
    return user_principal(conn, found.email)


def create_api_key(
    conn: psycopg.Connection[TupleRow],
    name: str,
    role: str,
    customer_ids: Iterable[int] | None = None,
) -> str:
    """Create an API key for ``role`` (viewer, agent, admin or device); returns the plaintext.

    ``customer_ids`` limits the key to those customers. The plaintext is returned once and
    never stored; only its prefix and digest are.
    """
    checked = parse_role(role)
    if not name.strip():
        raise ValueError("an API key needs a name saying what it is for")
    scope = parse_customer_ids(customer_ids)
    with conn.transaction():
        return api_keys.store_key(conn, name.strip(), checked, scope)
