"""``careline apps provision|rotate|revoke|list``: the shopper app's broker accounts.

One account per app installation (``presence_installations``), named
``app-<installation>``: it may read its own customer's push topic and nothing else. Secrets
go to standard output (or ``--csv-out``, mode 0600) once, as for devices; after a change
the broker's password file and ACL are rewritten and the broker reloaded
(careline/commands/broker.py does the handing out and the reload for both).
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from careline.commands.broker import ACTOR, CsvOut, _hand_out, _refuse_existing, _run
from careline.commands.context import cli_settings
from devices.credentials.accounts import Connection
from devices.credentials.apps import provision_apps, revoke_apps
from devices.credentials.broker_file import BrokerFile, live_app_grants

apps_app = typer.Typer(help="Shopper apps' broker accounts: provision, rotate, revoke, list.")

Installations = Annotated[list[str], typer.Argument(help="App installation ids.")]


def _issue(installations: list[str], out: Path | None, *, rotate: bool) -> int:
    _refuse_existing(out)
    now = datetime.now(UTC)

    def change(conn: Connection, file: BrokerFile | None) -> str:
        issued = provision_apps(
            conn, installations, now, actor=ACTOR, broker_file=file, rotate=rotate
        )
        said = _hand_out(issued, out)
        if file is not None and file.broker == "mosquitto" and file.acl_path is None:
            said += (
                "; warning: CARELINE_BROKER__ACL_FILE is not set, so Mosquitto's ACL has no "
                "block for these apps and they can read nothing"
            )
        return said

    return _run(cli_settings(), change)


@apps_app.command("provision")
def provision(installations: Installations, csv_out: CsvOut = None) -> None:
    """Issue broker credentials to app installations (user = app-<installation>; secret
    shown once). All or none: an installation with live credentials is refused."""
    sys.exit(_issue(installations, csv_out, rotate=False))


@apps_app.command("rotate")
def rotate(installations: Installations, csv_out: CsvOut = None) -> None:
    """Replace app installations' secrets: the old ones are refused once the broker reloads."""
    sys.exit(_issue(installations, csv_out, rotate=True))


@apps_app.command("revoke")
def revoke(installations: Installations) -> None:
    """Revoke app installations' credentials (refused at their next connection)."""
    now = datetime.now(UTC)

    def change(conn: Connection, file: BrokerFile | None) -> str:
        revoke_apps(conn, installations, now, actor=ACTOR, broker_file=file)
        return f"revoked {len(installations)} app account(s)"

    sys.exit(_run(cli_settings(), change))


@apps_app.command("list")
def list_apps() -> None:
    """Live app accounts and the customer whose push topic each may read (never a secret)."""
    from careline.runners import _pool

    with ExitStack() as stack, _pool(cli_settings(), stack).connection() as conn:
        grants = live_app_grants(conn)
    typer.echo(f"{'USER':<40} TOPIC")
    for user, customer_id in grants:
        typer.echo(f"{user:<40} app/{customer_id}/notifications")
