"""Which file careline writes the broker's accounts to, in which broker's form, and the
writing of it from the live accounts in the database.

Mosquitto's ACL cannot name an app's customer by pattern, so when app accounts are in use
careline also writes the ACL Mosquitto reads: the shipped rules (``acl_base``,
deploy/mosquitto/acl) followed by one block per live app account."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psycopg
from psycopg.rows import TupleRow

from devices.credentials.app_acl import app_acl
from devices.credentials.nats_users import NatsUser, render_nats
from devices.credentials.password_file import (
    PasswordFileError,
    replace_file,
    write_password_file,
)

Connection = psycopg.Connection[TupleRow]
BrokerKind = Literal["mosquitto", "nats"]


@dataclass(frozen=True, slots=True)
class BrokerFile:
    """Mosquitto: a ``password_file`` (its ACL is static, deploy/mosquitto/acl). NATS: a
    ``users`` list with permissions, included in the ``authorization`` block."""

    path: Path
    broker: BrokerKind = "mosquitto"
    acl_path: Path | None = None
    """Mosquitto only: the ACL file to write (shipped rules + app accounts); None: the
    ACL is the static shipped file and app accounts are refused everything by it."""
    acl_base: Path | None = None
    """The shipped ACL whose rules start the written one."""


def live_hashes(conn: Connection) -> list[tuple[str, str]]:
    """(user, Mosquitto hash) of every account not revoked: the password file's lines."""
    rows = conn.execute(
        "SELECT username, password_hash FROM broker_accounts "
        "WHERE revoked_at IS NULL ORDER BY username"
    ).fetchall()
    return [(str(user), str(hashed)) for user, hashed in rows]


def live_app_grants(conn: Connection) -> list[tuple[str, int]]:
    """(user, customer id) of every live app account: whose push topic each may read."""
    rows = conn.execute(
        "SELECT a.username, i.customer_id FROM broker_accounts a "
        "JOIN presence_installations i ON i.id = a.installation_id "
        "WHERE a.kind = 'app' AND a.revoked_at IS NULL ORDER BY a.username"
    ).fetchall()
    return [(str(user), int(customer_id)) for user, customer_id in rows]


def _live_nats_users(conn: Connection) -> list[NatsUser]:
    rows = conn.execute(
        "SELECT a.username, a.kind = 'service', a.nats_password_hash, i.customer_id "
        "FROM broker_accounts a LEFT JOIN presence_installations i ON i.id = a.installation_id "
        "WHERE a.revoked_at IS NULL ORDER BY a.username"
    ).fetchall()
    return [
        NatsUser(str(user), bool(service), str(hashed), None if cid is None else int(cid))
        for user, service, hashed, cid in rows
    ]


def _write_acl(conn: Connection, target: BrokerFile) -> None:
    if target.acl_path is None:
        return
    if target.acl_base is None:
        raise PasswordFileError("an ACL file to write needs the shipped ACL it starts from")
    try:
        base = target.acl_base.read_text(encoding="utf-8")
    except OSError as exc:
        raise PasswordFileError(f"cannot read the shipped ACL {target.acl_base}: {exc}") from exc
    header = (
        "\n# --- written by careline from its database: one block per live app account; "
        "edits below are overwritten ---\n"
    )
    replace_file(
        target.acl_path, base.rstrip("\n") + "\n" + header + app_acl(live_app_grants(conn))
    )


def write_broker_file(conn: Connection, target: BrokerFile | None) -> int | None:
    """Rewrite ``target`` from the live accounts (the caller holds the accounts lock)."""
    if target is None:
        return None
    if target.broker == "nats":
        users = _live_nats_users(conn)
        replace_file(target.path, render_nats(users))
        return len(users)
    # The ACL first: a reload between the two writes then never lets a new app account log
    # in without its ACL block (it would be refused everything, not given too much).
    _write_acl(conn, target)
    return write_password_file(target.path, live_hashes(conn))
