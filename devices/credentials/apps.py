"""Broker accounts of the shopper app: one per presence installation.

An installation of the app (``presence_installations``: one phone, one customer) logs in
to the broker as ``app-<installation id>`` with a secret issued here, hashed like a
device's. It may read only its own customer's push topic, ``app/<customer id>/notifications``
(what the outbox's push channel publishes to), and publish nothing: the broker's ACL gives
it exactly that, from the lines :func:`app_acl` writes (Mosquitto has no ACL pattern that
could name the customer of a user, so careline writes one block per live app account,
``app_acl.py``)
or from its NATS permissions. Sightings are not the app's to publish: the app backend posts
them with its own service account (``careline-app-backend``, ``ps/#`` only).

Deleting an installation (erasure) revokes its account in the database by trigger
(migration 0027); the broker's files follow at the next rewrite.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from devices.credentials.accounts import (
    CredentialError,
    Issued,
    lock_accounts,
    revoke,
    set_secret,
)
from devices.credentials.broker_file import BrokerFile, Connection, write_broker_file

PREFIX: Final = "app-"
_INSTALLATION: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # presence_installations.id


def _checked(installations: list[str]) -> None:
    if not installations:
        raise CredentialError("name at least one app installation")
    if len(set(installations)) != len(installations):
        raise CredentialError("an installation is named twice")
    for installation in installations:
        if not _INSTALLATION.fullmatch(installation):
            raise CredentialError(f"{installation[:80]!r} is not an app installation id")


def app_username(installation_id: str) -> str:
    """The broker user name of an installation's app.

    >>> app_username("inst-7")
    'app-inst-7'
    """
    return PREFIX + installation_id


def _customer_of(conn: Connection, installation_id: str) -> int:
    row = conn.execute(
        "SELECT customer_id FROM presence_installations WHERE id = %s", (installation_id,)
    ).fetchone()
    if row is None:
        raise CredentialError(
            f"no app installation {installation_id[:80]!r}: the app registers it first "
            "(POST /customers/{id}/app-installations)"
        )
    return int(row[0])


def _kind_and_live(conn: Connection, username: str) -> tuple[str, bool] | None:
    row = conn.execute(
        "SELECT kind, revoked_at IS NULL FROM broker_accounts WHERE username = %s", (username,)
    ).fetchone()
    return None if row is None else (str(row[0]), bool(row[1]))


def provision_apps(
    conn: Connection,
    installations: list[str],
    now: datetime,
    *,
    actor: str,
    broker_file: BrokerFile | None,
    rotate: bool = False,
) -> list[Issued]:
    """Issue (``rotate``: replace) the secrets of these installations' apps, all or none."""
    _checked(installations)
    with conn.transaction():
        lock_accounts(conn)
        issued = []
        for installation in installations:
            _customer_of(conn, installation)
            username = app_username(installation)
            found = _kind_and_live(conn, username)
            if found is not None and found[0] != "app":
                raise CredentialError(f"{username!r} is a {found[0]} account's name")
            live = found is not None and found[1]
            if rotate and not live:
                raise CredentialError(f"{username} has no live credentials to rotate")
            if live and not rotate:
                raise CredentialError(f"{username} already has live credentials: rotate them")
            issued.append(
                set_secret(conn, username, "app", None, now, actor, installation_id=installation)
            )
        write_broker_file(conn, broker_file)
    return issued


def revoke_apps(
    conn: Connection,
    installations: list[str],
    now: datetime,
    *,
    actor: str,
    broker_file: BrokerFile | None,
) -> None:
    """Revoke these installations' app accounts (refused at their next CONNECT after reload)."""
    _checked(installations)
    for installation in installations:
        found = _kind_and_live(conn, app_username(installation))
        if found is not None and found[0] != "app":
            raise CredentialError(f"{app_username(installation)!r} is not an app account")
    revoke(
        conn, [app_username(i) for i in installations], now, actor=actor, broker_file=broker_file
    )
