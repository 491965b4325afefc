"""``careline devices provision|rotate|revoke|credentials`` and ``careline broker account|sync``.

Secrets go to standard output as CSV (``username,password``) or to ``--csv-out`` (mode
0600), once; everything else is said on standard error, so ``careline devices provision
FR-1 FR-2 > batch.csv`` leaves only the secrets in the file. After a change the broker's
password file is rewritten (``CARELINE_BROKER__PASSWORD_FILE``) and the broker reloaded
(SIGHUP to ``CARELINE_BROKER__PID_FILE``), or told how to reload it.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from careline.commands.context import cli_settings
from careline.settings import Settings
from crm_core.auth.passwords import strength_problem
from devices.credentials.accounts import (
    SERVICE_ACCOUNTS,
    Connection,
    Issued,
    list_accounts,
    provision_devices,
    provision_service,
    register_service_passwords,
    revoke,
    sync_password_file,
)
from devices.credentials.broker_file import BrokerFile
from devices.credentials.reload import reload_broker
from devices.errors import DeviceError

devices_app = typer.Typer(help="Devices' broker credentials: provision, rotate, revoke, list.")
broker_app = typer.Typer(help="The broker's service accounts and password file.")

ACTOR = "cli"


def _say(text: str) -> None:
    typer.echo(text, err=True)


def _run(settings: Settings, change: Callable[[Connection, BrokerFile | None], str]) -> int:
    """Apply ``change`` on one connection, then reload the broker; the exit code."""
    from careline.runners import _pool

    try:
        with ExitStack() as stack, _pool(settings, stack).connection() as conn:
            done = change(conn, settings.broker.file())
    except DeviceError as exc:
        _say(f"error: {exc}")
        return 1
    _say(done)
    _reload(settings)
    return 0


def _reload(settings: Settings) -> None:
    file, pid_file = settings.broker.password_file, settings.broker.pid_file
    if file is not None and settings.broker.kind == "nats":
        # Not SIGHUP: nats-server 2.9 with TLS on its MQTT listener stops delivering to the
        # MQTT sessions that existed before a reload (tests/integration/test_nats_doors.py).
        _say(
            f"wrote {file}; restart nats-server so it reads it (docker compose restart nats): "
            "sessions and queued messages are kept in JetStream"
        )
        return
    if file is None:
        _say(
            "note: CARELINE_BROKER__PASSWORD_FILE is not set, so no broker file was written; "
            "run `careline broker sync` where the broker's password file is"
        )
        return
    if pid_file is None:
        _say(
            f"wrote {file}; reload the broker so it reads it: `kill -HUP <broker pid>` "
            "(docker compose: `docker compose kill -s SIGHUP mosquitto`)"
        )
        return
    try:
        pid = reload_broker(pid_file)
    except DeviceError as exc:
        _say(f"error: wrote {file} but could not reload the broker: {exc}")
        raise typer.Exit(1) from exc
    if pid is None:
        _say(f"wrote {file}; no broker is running ({pid_file} is absent): it reads it at start")
        return
    _say(f"wrote {file}; broker (PID {pid}) reloaded")


def _secrets_csv(issued: Sequence[Issued]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["username", "password", "event"])
    for item in issued:
        writer.writerow([item.username, item.secret, item.event])
    return out.getvalue()


def _hand_out(issued: Sequence[Issued], csv_out: Path | None) -> str:
    text = _secrets_csv(issued)
    if csv_out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return f"{len(issued)} secret(s) issued and printed once; they are stored nowhere"
    # Created 0600 from the start: the secrets are never readable by others, even briefly.
    fd = os.open(csv_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return (
        f"{len(issued)} secret(s) written to {csv_out} (mode 0600); hand them over, then delete it"
    )


def _serials(serials: list[str] | None, from_file: Path | None) -> list[str]:
    found = list(serials or [])
    if from_file is not None:
        lines = from_file.read_text(encoding="utf-8").splitlines()
        found += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not found:
        _say("error: name the devices' serials, or --from-file")
        raise typer.Exit(2)
    return found


def _refuse_existing(csv_out: Path | None) -> None:
    if csv_out is not None and csv_out.exists():
        _say(f"error: {csv_out} exists; secrets are never written over a file")
        raise typer.Exit(2)


SerialsArg = Annotated[list[str] | None, typer.Argument(help="Device serials.")]
FromFile = Annotated[
    Path | None, typer.Option(help="A file of serials, one a line (a batch).", exists=True)
]
CsvOut = Annotated[
    Path | None,
    typer.Option(help="Write username,password,event CSV here (mode 0600) instead of stdout."),
]


def _issue(serials: list[str], csv_out: Path | None, *, rotate: bool) -> int:
    _refuse_existing(csv_out)
    settings = cli_settings()
    now = datetime.now(UTC)

    def change(conn: Connection, file: BrokerFile | None) -> str:
        issued = provision_devices(conn, serials, now, actor=ACTOR, broker_file=file, rotate=rotate)
        return _hand_out(issued, csv_out)

    return _run(settings, change)


@devices_app.command("provision")
def provision(
    serials: SerialsArg = None, from_file: FromFile = None, csv_out: CsvOut = None
) -> None:
    """Issue broker credentials to registered devices (user = serial; secret shown once).

    All or none: a device that already has live credentials is refused (rotate them).
    """
    sys.exit(_issue(_serials(serials, from_file), csv_out, rotate=False))


@devices_app.command("rotate")
def rotate(serials: SerialsArg = None, from_file: FromFile = None, csv_out: CsvOut = None) -> None:
    """Replace devices' secrets: the old ones are refused once the broker reloads."""
    sys.exit(_issue(_serials(serials, from_file), csv_out, rotate=True))


@devices_app.command("revoke")
def revoke_devices(serials: SerialsArg = None, from_file: FromFile = None) -> None:
    """Revoke devices' credentials: refused at their next connection after the reload."""
    names = _serials(serials, from_file)
    now = datetime.now(UTC)

    def change(conn: Connection, file: BrokerFile | None) -> str:
        revoke(conn, names, now, actor=ACTOR, broker_file=file)
        return f"revoked {len(names)} account(s)"

    sys.exit(_run(cli_settings(), change))


@devices_app.command("credentials")
def credentials(
    include_revoked: Annotated[bool, typer.Option("--all", help="Show revoked ones too.")] = False,
) -> None:
    """List broker accounts: user, kind, issued, rotated, revoked (never a secret)."""
    from careline.runners import _pool

    with ExitStack() as stack, _pool(cli_settings(), stack).connection() as conn:
        accounts = list_accounts(conn, include_revoked=include_revoked)
    typer.echo(f"{'USER':<24} {'KIND':<8} {'ISSUED':<17} {'ROTATED':<17} REVOKED")
    for account in accounts:
        rotated = f"{account.rotated_at:%Y-%m-%d %H:%M}" if account.rotated_at else "-"
        revoked = f"{account.revoked_at:%Y-%m-%d %H:%M}" if account.revoked_at else "-"
        typer.echo(
            f"{account.username:<24} {account.kind:<8} {account.issued_at:%Y-%m-%d %H:%M}  "
            f"{rotated:<17} {revoked}"
        )


@broker_app.command("account")
def service_account(
    name: Annotated[str, typer.Argument(help=", ".join(sorted(SERVICE_ACCOUNTS)) + ".")],
    csv_out: CsvOut = None,
) -> None:
    """Issue (or rotate) a careline service's broker account; the secret is shown once."""
    _refuse_existing(csv_out)
    now = datetime.now(UTC)

    def change(conn: Connection, file: BrokerFile | None) -> str:
        issued = provision_service(conn, name, now, actor=ACTOR, broker_file=file)
        return _hand_out([issued], csv_out)

    sys.exit(_run(cli_settings(), change))


@broker_app.command("revoke")
def revoke_service(name: Annotated[str, typer.Argument(help="Service account.")]) -> None:
    """Revoke a service account."""
    now = datetime.now(UTC)

    def change(conn: Connection, file: BrokerFile | None) -> str:
        revoke(conn, [name], now, actor=ACTOR, broker_file=file)
        return f"revoked {name}"

    sys.exit(_run(cli_settings(), change))


def configured_service_passwords(settings: Settings) -> dict[str, str]:
    """The service accounts whose passwords this process's settings hold."""
    pairs = (
        (settings.mqtt.username, settings.mqtt.password),
        (settings.presence.mqtt_username, settings.presence.mqtt_password),
        (settings.notifications.push_username, settings.notifications.push_password),
        ("careline-simulator", settings.broker.simulator_password),
    )
    return {name: password for name, password in pairs if name in SERVICE_ACCOUNTS and password}


@broker_app.command("sync")
def sync(
    services: Annotated[
        bool,
        typer.Option(
            "--services",
            help="First set the service accounts to the passwords in the settings "
            "(CARELINE_MQTT__PASSWORD, CARELINE_PRESENCE__MQTT_PASSWORD, "
            "CARELINE_NOTIFICATIONS__PUSH_PASSWORD, CARELINE_BROKER__SIMULATOR_PASSWORD).",
        ),
    ] = False,
) -> None:
    """Rewrite the broker's password file from the database, then reload the broker."""
    settings = cli_settings()
    if settings.broker.password_file is None:
        _say("error: set CARELINE_BROKER__PASSWORD_FILE to the broker's password file")
        sys.exit(2)
    passwords = configured_service_passwords(settings) if services else {}
    for name, password in passwords.items():
        problem = strength_problem(password, min_length=16, user_inputs=[name])
        if problem:
            _say(f"error: the password configured for {name} {problem}")
            sys.exit(2)
    now = datetime.now(UTC)

    def change(conn: Connection, file: BrokerFile | None) -> str:
        assert file is not None
        done = register_service_passwords(conn, passwords, now, actor="settings", broker_file=file)
        said = [f"{name}: {what}" for name, what in done.items()]
        written = sync_password_file(conn, file)
        return "; ".join([*said, f"{written} live account(s) in {file.path}"])

    sys.exit(_run(settings, change))
