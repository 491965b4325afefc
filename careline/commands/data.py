"""``careline dead-letters`` and ``careline readings``: what ingest refused, and the
readings' retention and rollups."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer

from careline.commands.context import cli_settings

dead_letters_app = typer.Typer(help="List, replay and purge messages that ingest refused.")
readings_app = typer.Typer(help="Readings retention and rollups (the scheduler runs both).")


@dead_letters_app.command("list")
def dead_letters_list(
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 20,
) -> None:
    """Show the newest dead letters with their reasons."""
    from careline.runners_dead_letters import run_dead_letters_list

    sys.exit(run_dead_letters_list(cli_settings(), limit))


@dead_letters_app.command("purge")
def dead_letters_purge(
    older_than_days: Annotated[
        int | None,
        typer.Option(
            min=1, help="Delete those last seen this many days ago (default: the setting)."
        ),
    ] = None,
) -> None:
    """Delete old dead letters now (the scheduler does it daily)."""
    from careline.runners_dead_letters import run_dead_letters_purge

    settings = cli_settings()
    days = older_than_days or settings.ingest.dead_letter_retention_days
    sys.exit(run_dead_letters_purge(settings, days))


@readings_app.command("purge")
def readings_purge(
    older_than_days: Annotated[
        int | None,
        typer.Option(min=1, help="Drop readings older than this many days (default: the setting)."),
    ] = None,
) -> None:
    """Drop old readings now, sparing those held for traceability (the scheduler does it
    daily)."""
    from careline.runners_lifecycle import run_readings_purge

    settings = cli_settings()
    lifecycle = settings.lifecycle
    if older_than_days is not None:
        lifecycle = lifecycle.model_copy(update={"readings_retention_days": older_than_days})
    sys.exit(run_readings_purge(settings, lifecycle))


@readings_app.command("rollup")
def readings_rollup(
    since: Annotated[
        datetime | None,
        typer.Option(
            help="Aggregate again from this UTC time (readings that arrived very late); "
            "default: from the rollups' watermark."
        ),
    ] = None,
) -> None:
    """Bring the 5-minute and hourly rollups up to now (the scheduler does it every few
    minutes)."""
    from careline.runners_lifecycle import run_readings_rollup

    sys.exit(run_readings_rollup(cli_settings(), since))


@dead_letters_app.command("replay")
def dead_letters_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead-letter ids.")] = None,
    replay_all: Annotated[
        bool, typer.Option("--all", help="Replay every one not yet stored.")
    ] = False,
) -> None:
    """Run dead letters through ingest again, after a fix."""
    from careline.runners_dead_letters import run_dead_letters_replay

    if not ids and not replay_all:
        typer.echo("error: give dead-letter ids, or --all", err=True)
        raise typer.Exit(2)
    sys.exit(run_dead_letters_replay(cli_settings(), None if replay_all else ids))
