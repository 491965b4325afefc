"""Which file careline writes the broker's accounts to, in which broker's form, and the
writing of it from the live accounts in the database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psycopg
from psycopg.rows import TupleRow

from devices.credentials.nats_users import NatsUser, render_nats
from devices.credentials.password_file import replace_file, write_password_file

Connection = psycopg.Connection[TupleRow]
BrokerKind = Literal["mosquitto", "nats"]


@dataclass(frozen=True, slots=True)
class BrokerFile:
    """Mosquitto: a ``password_file`` (its ACL is static, deploy/mosquitto/acl). NATS: a
    ``users`` list with permissions, included in the ``authorization`` block."""

    path: Path
    broker: BrokerKind = "mosquitto"


def live_hashes(conn: Connection) -> list[tuple[str, str]]:
    """(user, Mosquitto hash) of every account not revoked: the password file's lines."""
    rows = conn.execute(
        "SELECT username, password_hash FROM broker_accounts "
        "WHERE revoked_at IS NULL ORDER BY username"
    ).fetchall()
    return [(str(user), str(hashed)) for user, hashed in rows]


def _live_nats_users(conn: Connection) -> list[NatsUser]:
    rows = conn.execute(
        "SELECT username, kind = 'service', nats_password_hash FROM broker_accounts "
        "WHERE revoked_at IS NULL ORDER BY username"
    ).fetchall()
    return [NatsUser(str(user), bool(service), str(hashed)) for user, service, hashed in rows]


def write_broker_file(conn: Connection, target: BrokerFile | None) -> int | None:
    """Rewrite ``target`` from the live accounts (the caller holds the accounts lock)."""
    if target is None:
        return None
    if target.broker == "nats":
        users = _live_nats_users(conn)
        replace_file(target.path, render_nats(users))
        return len(users)
    return write_password_file(target.path, live_hashes(conn))
