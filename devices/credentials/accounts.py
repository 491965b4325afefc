"""Issue, rotate and revoke broker accounts in PostgreSQL; the password file follows.

Each change is one transaction: it takes a lock that orders every change to broker
accounts, writes the account row and its event, rewrites the broker's password file from
the live accounts (this change included) and commits. A second ``provision`` running at the
same time waits for the first, so the file never loses an account to a race; a failure
before the commit leaves the database as it was (``careline broker sync`` rewrites the
file from the database at any time).

Device accounts are named after the device's serial, which must be registered; the
service accounts are the fixed names the shipped ACL (``deploy/mosquitto/acl``) grants.
The clear secret is returned to the caller once and kept nowhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

import psycopg
from psycopg.rows import TupleRow

from devices.credentials.broker_file import BrokerFile, write_broker_file
from devices.credentials.secret_hash import (
    CHOSEN_PASSWORD_COST,
    RANDOM_SECRET_COST,
    matches,
    mosquitto_hash,
    nats_hash,
    new_secret,
)
from devices.errors import DeviceError

Connection = psycopg.Connection[TupleRow]
Kind = Literal["device", "service", "app"]

SERVICE_ACCOUNTS: Final = {
    "careline-ingest": "ingest workers: subscribe to dt/# (telemetry), read only",
    "careline-presence": "presence worker: subscribe to ps/# (shoppers' sightings), read only",
    "careline-push": "outbox push channel: publish to app/+/notifications only",
    "careline-app-backend": "shopper app backend: publish to ps/# (sightings) only",
    "careline-simulator": "development fleet simulator: publish dt/# and ps/# (not for production)",
}
"""Service accounts and what the shipped ACL lets each do."""

_SERIAL: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # as devices.serial's CHECK
_LOCK_KEY: Final = 0x42524F4B  # pg_advisory_xact_lock key of broker-account changes


class CredentialError(DeviceError):
    """A broker-account change the registry refuses (the message says why)."""


@dataclass(frozen=True, slots=True)
class Issued:
    """A secret just issued: shown once, then forgotten."""

    username: str
    secret: str
    event: Literal["issued", "rotated"]


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    kind: Kind
    issued_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None


def lock_accounts(conn: Connection) -> None:
    """Take the lock that orders every change to broker accounts (released at commit)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))


def _record(conn: Connection, username: str, event: str, now: datetime, actor: str) -> None:
    conn.execute(
        "INSERT INTO broker_account_events (username, event, at, actor) VALUES (%s, %s, %s, %s)",
        (username, event, now, actor),
    )


def sync_password_file(conn: Connection, target: BrokerFile) -> int:
    """Rewrite the broker's file from the live accounts; how many it holds."""
    with conn.transaction():
        lock_accounts(conn)
        written = write_broker_file(conn, target)
    assert written is not None
    return written


def set_secret(
    conn: Connection,
    username: str,
    kind: Kind,
    device_id: int | None,
    now: datetime,
    actor: str,
    secret: str | None = None,
    *,
    installation_id: str | None = None,
) -> Issued:
    """Issue, rotate or re-issue one account's secret and record the event (in the caller's
    transaction, under :func:`lock_accounts`)."""
    chosen = secret is not None
    secret = new_secret() if secret is None else secret
    hashed = mosquitto_hash(secret)
    bcrypted = nats_hash(secret, cost=CHOSEN_PASSWORD_COST if chosen else RANDOM_SECRET_COST)
    row = conn.execute(
        "SELECT revoked_at IS NULL FROM broker_accounts WHERE username = %s FOR UPDATE",
        (username,),
    ).fetchone()
    event: Literal["issued", "rotated"]
    if row is None:
        conn.execute(
            "INSERT INTO broker_accounts "
            "(username, kind, device_id, installation_id, password_hash, nats_password_hash, "
            "issued_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (username, kind, device_id, installation_id, hashed, bcrypted, now),
        )
        event = "issued"
    elif row[0]:
        conn.execute(
            "UPDATE broker_accounts SET password_hash = %s, nats_password_hash = %s, "
            "rotated_at = %s WHERE username = %s",
            (hashed, bcrypted, now, username),
        )
        event = "rotated"
    else:  # revoked before: issued anew
        conn.execute(
            "UPDATE broker_accounts SET password_hash = %s, nats_password_hash = %s, "
            "installation_id = %s, issued_at = %s, rotated_at = NULL, revoked_at = NULL "
            "WHERE username = %s",
            (hashed, bcrypted, installation_id, now, username),
        )
        event = "issued"
    _record(conn, username, event, now, actor)
    return Issued(username, secret, event)


def _device_id(conn: Connection, serial: str) -> int:
    row = conn.execute("SELECT id FROM devices WHERE serial = %s", (serial,)).fetchone()
    if row is None:
        raise CredentialError(f"no registered device with serial {serial!r}: register it first")
    return int(row[0])


def _is_live(conn: Connection, username: str) -> bool | None:
    row = conn.execute(
        "SELECT revoked_at IS NULL FROM broker_accounts WHERE username = %s", (username,)
    ).fetchone()
    return None if row is None else bool(row[0])


def provision_devices(
    conn: Connection,
    serials: list[str],
    now: datetime,
    *,
    actor: str,
    broker_file: BrokerFile | None,
    rotate: bool = False,
) -> list[Issued]:
    """Issue (or with ``rotate``, replace) the secrets of these devices, all or none.

    A device that already has a live secret is refused unless ``rotate``: issuing again
    by mistake would lock the device out. ``rotate`` refuses a device never provisioned.
    """
    if len(set(serials)) != len(serials):
        raise CredentialError("a serial is named twice")
    with conn.transaction():
        lock_accounts(conn)
        issued = []
        for serial in serials:
            if not _SERIAL.fullmatch(serial):
                raise CredentialError(f"{serial[:80]!r} is not a device serial")
            if serial in SERVICE_ACCOUNTS:
                raise CredentialError(f"{serial!r} is a service account's name, not a device's")
            device_id = _device_id(conn, serial)
            live = _is_live(conn, serial)
            if rotate and not live:
                raise CredentialError(f"{serial} has no live credentials to rotate: provision it")
            if live and not rotate:
                raise CredentialError(
                    f"{serial} already has live credentials: rotate them (--rotate) or revoke"
                )
            issued.append(set_secret(conn, serial, "device", device_id, now, actor))
        write_broker_file(conn, broker_file)
    return issued


def provision_service(
    conn: Connection, name: str, now: datetime, *, actor: str, broker_file: BrokerFile | None
) -> Issued:
    """Issue or rotate a service account's secret."""
    if name not in SERVICE_ACCOUNTS:
        raise CredentialError(
            f"no service account {name!r}; the ACL knows {', '.join(sorted(SERVICE_ACCOUNTS))}"
        )
    with conn.transaction():
        lock_accounts(conn)
        issued = set_secret(conn, name, "service", None, now, actor)
        write_broker_file(conn, broker_file)
    return issued


def register_service_passwords(
    conn: Connection,
    passwords: dict[str, str],
    now: datetime,
    *,
    actor: str,
    broker_file: BrokerFile | None,
) -> dict[str, str]:
    """Set service accounts to passwords chosen by the operator (from the settings, so that
    a deployment needs no secret printed by a command): what happened to each, ``issued``,
    ``rotated`` or ``unchanged`` (the stored hash already matches)."""
    unknown = sorted(set(passwords) - set(SERVICE_ACCOUNTS))
    if unknown:
        raise CredentialError(f"no service account(s) {', '.join(unknown)}")
    done: dict[str, str] = {}
    with conn.transaction():
        lock_accounts(conn)
        for name, password in sorted(passwords.items()):
            row = conn.execute(
                "SELECT password_hash FROM broker_accounts WHERE username = %s", (name,)
            ).fetchone()
            if row is not None and row[0] is not None and matches(password, str(row[0])):
                done[name] = "unchanged"
                continue
            done[name] = set_secret(conn, name, "service", None, now, actor, password).event
        write_broker_file(conn, broker_file)
    return done


def revoke(
    conn: Connection,
    usernames: list[str],
    now: datetime,
    *,
    actor: str,
    broker_file: BrokerFile | None,
) -> None:
    """Revoke live accounts (devices or services): refused at their next CONNECT after the
    broker reloads its password file."""
    with conn.transaction():
        lock_accounts(conn)
        for username in usernames:
            if not _is_live(conn, username):
                raise CredentialError(f"{username!r} has no live credentials to revoke")
            conn.execute(
                "UPDATE broker_accounts SET password_hash = NULL, nats_password_hash = NULL, "
                "revoked_at = %s "
                "WHERE username = %s",
                (now, username),
            )
            _record(conn, username, "revoked", now, actor)
        write_broker_file(conn, broker_file)


def list_accounts(conn: Connection, *, include_revoked: bool) -> list[Account]:
    where = "" if include_revoked else "WHERE revoked_at IS NULL "
    rows = conn.execute(
        "SELECT username, kind, issued_at, rotated_at, revoked_at FROM broker_accounts "
        f"{where}ORDER BY kind DESC, username"
    ).fetchall()
    return [Account(*row) for row in rows]


def history(conn: Connection, username: str) -> list[tuple[str, datetime, str]]:
    """(event, at, actor) of one account, oldest first."""
    rows = conn.execute(
        "SELECT event, at, actor FROM broker_account_events WHERE username = %s ORDER BY id",
        (username,),
    ).fetchall()
    return [(str(event), at, str(actor)) for event, at, actor in rows]
