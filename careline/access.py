"""What the access-control commands do: list and revoke API keys, end a user's sessions.

Each returns the process exit code (``careline users list-api-keys``, ``revoke-api-key``,
``revoke-sessions``).
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime

import typer

from careline.runners import _pool
from careline.settings import Settings
from crm_core.auth.api_keys import list_keys, revoke_key
from crm_core.auth.sessions import revoke_user_sessions


def run_list_api_keys(settings: Settings, *, include_revoked: bool) -> int:
    with ExitStack() as stack, _pool(settings, stack).connection() as conn:
        keys = list_keys(conn, include_revoked=include_revoked)
    if not keys:
        typer.echo("no API keys")
        return 0
    typer.echo(f"{'PREFIX':<10} {'ROLE':<7} {'CUSTOMERS':<14} {'CREATED':<17} {'REVOKED':<17} NAME")
    for key in keys:
        customers = "all" if key.customer_ids is None else ",".join(map(str, key.customer_ids))
        revoked = key.revoked_at.strftime("%Y-%m-%d %H:%M") if key.revoked_at else "-"
        typer.echo(
            f"{key.prefix:<10} {key.role:<7} {customers:<14} "
            f"{key.created_at:%Y-%m-%d %H:%M}  {revoked:<17} {key.name}"
        )
    return 0


def run_revoke_api_key(settings: Settings, prefix: str) -> int:
    with ExitStack() as stack, _pool(settings, stack).connection() as conn:
        revoked = revoke_key(conn, prefix.strip())
    if not revoked:
        typer.echo(f"error: no live API key with prefix {prefix!r}", err=True)
        return 1
    typer.echo(f"API key {prefix} revoked: it is refused from now on")
    return 0


def run_revoke_sessions(settings: Settings, email: str) -> int:
    with ExitStack() as stack, _pool(settings, stack).connection() as conn:
        revoked = revoke_user_sessions(conn, email, datetime.now(UTC), actor="cli")
    if revoked is None:
        typer.echo(f"error: no user with e-mail {email!r}", err=True)
        return 1
    typer.echo(f"{revoked} session(s) of {email} ended: they must sign in again")
    return 0
