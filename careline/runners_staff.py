"""What the staff commands run: create an administrator or an API key, add and list technicians.

Each returns the process exit code.
"""

from __future__ import annotations

from contextlib import ExitStack

import typer

from careline.runners import _pool
from careline.settings import Settings


def run_create_admin(settings: Settings, email: str, password: str) -> int:
    from crm_core.auth.users import create_user

    with ExitStack() as stack:
        pool = _pool(settings, stack)
        with pool.connection() as conn:
            create_user(conn, email=email, name=email, role="admin", password=password)
    typer.echo(f"administrator {email} created")
    return 0


def run_create_api_key(
    settings: Settings, name: str, role: str, customer_ids: list[int] | None = None
) -> int:
    from crm_core.auth.users import create_api_key

    with ExitStack() as stack:
        pool = _pool(settings, stack)
        with pool.connection() as conn:
            key = create_api_key(conn, name, role, customer_ids)
    scope = "" if customer_ids is None else f", customers {', '.join(map(str, customer_ids))}"
    typer.echo(f"API key for {name} ({role}{scope}), shown once:\n{key}")
    return 0


def run_technicians_add(
    settings: Settings,
    *,
    name: str,
    email: str,
    skills: list[str],
    region: str,
    home: tuple[float, float] | None,
) -> int:
    from crm_core.kernel.clock import utc_now
    from crm_core.tickets.model import TicketInputError
    from crm_core.tickets.technicians import create_technician

    with ExitStack() as stack:
        pool = _pool(settings, stack)
        with pool.connection() as conn:
            try:
                technician_id = create_technician(
                    conn,
                    name=name,
                    email=email,
                    skills=skills,
                    region=region,
                    home=home,
                    by="cli",
                    now=utc_now(),
                )
            except TicketInputError as exc:
                typer.echo(f"error: {exc}", err=True)
                return 2
    typer.echo(f"technician {technician_id}: {name} <{email}>")
    return 0


def run_technicians_list(settings: Settings) -> int:
    from crm_core.tickets.technicians import list_technicians

    with ExitStack() as stack:
        pool = _pool(settings, stack)
        with pool.connection() as conn:
            technicians = list_technicians(conn)
    for t in technicians:
        home = (
            f"{t.home_latitude:.4f},{t.home_longitude:.4f}"
            if t.home_latitude is not None and t.home_longitude is not None
            else "-"
        )
        state = "" if t.active else " (inactive)"
        typer.echo(
            f"{t.id}\t{t.name}{state}\t{t.email}\t{','.join(t.skills) or '-'}\t"
            f"{t.region or '-'}\t{home}\t{t.live_tickets} live"
        )
    return 0
