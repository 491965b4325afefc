"""Staff users and API keys: the admin use cases, one transaction each.

The CLI (``careline users create-admin``, ``careline users create-api-key``) and the demo's
start-up call these with a connection from the pool.
"""

from __future__ import annotations

import secrets
from functools import cache

import psycopg
from psycopg.rows import TupleRow

from crm_core.auth import api_keys, passwords
from crm_core.auth.errors import UserExistsError
from crm_core.auth.principals import STAFF_ROLES, Principal, parse_role


@cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so that a miss costs as long as a hit."""
    return passwords.hash_password(secrets.token_urlsafe(16))


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    if "@" not in value or len(value) > 254:
        raise ValueError(f"not an e-mail address: {email!r}")
    return value


def create_user(
    conn: psycopg.Connection[TupleRow], *, email: str, name: str, role: str, password: str
) -> int:
    """Create a staff user; returns its id.

    Raises UserExistsError, InvalidRoleError or WeakPasswordError.
    """
    checked_role = parse_role(role, allowed=STAFF_ROLES)
    passwords.check_strength(password)
    address = normalise_email(email)
    encoded = passwords.hash_password(password)
    try:
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO staff_users (email, name, role, password_hash) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                (address, name or address, checked_role, encoded),
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


def authenticate(conn: psycopg.Connection[TupleRow], email: str, password: str) -> Principal | None:
    """The user's principal when e-mail and password match; None otherwise."""
    try:
        address = normalise_email(email)
    except ValueError:
        return None
    row = conn.execute(
        "SELECT password_hash, role FROM staff_users WHERE email = %s", (address,)
    ).fetchone()
    if row is None:
        passwords.verify_password(_dummy_hash(), password)
        return None
    encoded, role = str(row[0]), str(row[1])
    if not passwords.verify_password(encoded, password):
        return None
    if passwords.needs_rehash(encoded):
        with conn.transaction():
            conn.execute(
                "UPDATE staff_users SET password_hash = %s WHERE email = %s",
                (passwords.hash_password(password), address),
            )
    return Principal(kind="user", name=address, role=parse_role(role, allowed=STAFF_ROLES))


def user_principal(conn: psycopg.Connection[TupleRow], email: str) -> Principal | None:
    """The principal of an existing user (a console session names its user by e-mail)."""
    row = conn.execute("SELECT role FROM staff_users WHERE email = %s", (email,)).fetchone()
    if row is None:
        return None
    return Principal(kind="user", name=email, role=parse_role(str(row[0]), allowed=STAFF_ROLES))


def create_api_key(conn: psycopg.Connection[TupleRow], name: str, role: str) -> str:
    """Create an API key for ``role`` (viewer, agent, admin or device); returns the plaintext.

    The plaintext is returned once and never stored; only its prefix and digest are.
    """
    checked = parse_role(role)
    if not name.strip():
        raise ValueError("an API key needs a name saying what it is for")
    with conn.transaction():
        return api_keys.store_key(conn, name.strip(), checked)
