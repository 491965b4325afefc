"""Schema migrations with Alembic, run from our own code (``careline migrate``)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config


def alembic_config(database_url: str) -> Config:
    config = Config()
    location = resources.files("crm_core.db").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    # '%' is an interpolation character in Alembic's config parser.
    config.set_main_option("careline.database_url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a database already there is left as it is."""
    command.upgrade(alembic_config(database_url), revision)


def current(database_url: str) -> None:
    command.current(alembic_config(database_url), verbose=False)
