"""``careline users`` and ``careline technicians``: staff accounts, API keys, sessions,
and the technicians tickets are assigned to."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from careline.commands.context import cli_settings

users_app = typer.Typer(help="Staff accounts and API keys.")
technicians_app = typer.Typer(help="Technicians tickets are assigned to.")


@users_app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="E-mail to sign in with.")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="At least 10 characters.")
    ],
) -> None:
    """Create an administrator who can sign in to the console."""
    from careline.runners_staff import run_create_admin

    sys.exit(run_create_admin(cli_settings(), email, password))


@users_app.command("create-api-key")
def create_api_key(
    name: Annotated[str, typer.Option(help="What the key is for.")],
    role: Annotated[
        str, typer.Option(help="viewer, agent, quality (approves recalls) or admin.")
    ] = "viewer",
    customer: Annotated[
        list[int] | None,
        typer.Option(
            min=1, help="Limit the key to this customer id (repeat for several); default all."
        ),
    ] = None,
) -> None:
    """Create an API key; it is printed once and never stored in clear."""
    from careline.runners_staff import run_create_api_key

    sys.exit(run_create_api_key(cli_settings(), name, role, customer or None))


@users_app.command("list-api-keys")
def list_api_keys(
    include_revoked: Annotated[bool, typer.Option("--all", help="Show revoked keys too.")] = False,
) -> None:
    """List API keys: prefix, role, customers, created and revoked (never the secret)."""
    from careline.access import run_list_api_keys

    sys.exit(run_list_api_keys(cli_settings(), include_revoked=include_revoked))


@users_app.command("revoke-api-key")
def revoke_api_key(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (as list-api-keys shows).")],
) -> None:
    """Revoke an API key: it is refused from the next request on."""
    from careline.access import run_revoke_api_key

    sys.exit(run_revoke_api_key(cli_settings(), prefix))


@users_app.command("revoke-sessions")
def revoke_sessions(
    email: Annotated[str, typer.Option(help="The staff user's e-mail.")],
) -> None:
    """Sign a staff user out everywhere: end all their console sessions now."""
    from careline.access import run_revoke_sessions

    sys.exit(run_revoke_sessions(cli_settings(), email))


@technicians_app.command("add")
def technicians_add(
    name: Annotated[str, typer.Option(help="Full name.")],
    email: Annotated[str, typer.Option(help="E-mail (unique: adding it again does nothing).")],
    skill: Annotated[
        list[str] | None, typer.Option(help="A device type or part they can fix; repeatable.")
    ] = None,
    region: Annotated[str, typer.Option(help="Region they cover.")] = "",
    lat: Annotated[float | None, typer.Option(help="Home base latitude.")] = None,
    lon: Annotated[float | None, typer.Option(help="Home base longitude.")] = None,
) -> None:
    """Add a technician (recorded in the audit log)."""
    from careline.runners_staff import run_technicians_add

    home = (lat, lon) if lat is not None and lon is not None else None
    sys.exit(
        run_technicians_add(
            cli_settings(), name=name, email=email, skills=skill or [], region=region, home=home
        )
    )


@technicians_app.command("list")
def technicians_list() -> None:
    """List technicians with their skills, home base and live tickets."""
    from careline.runners_staff import run_technicians_list

    sys.exit(run_technicians_list(cli_settings()))
