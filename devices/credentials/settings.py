"""The broker settings group: where careline writes the broker's accounts, how it reloads it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator

from crm_core.kernel.settings import Group


class BrokerSettings(Group):
    password_file: Annotated[
        Path | None,
        Field(
            description="Mosquitto password file that `careline devices provision` and "
            "`careline broker account` rewrite from the database (the broker's "
            "password_file). Empty: only the database is updated."
        ),
    ] = None
    pid_file: Annotated[
        Path | None,
        Field(
            description="PID file of the broker: after a change careline sends it SIGHUP "
            "so it reloads the password file. Empty: reload it yourself (the command "
            "says so)."
        ),
    ] = None

    simulator_password: Annotated[
        str | None,
        Field(
            description="Password of the careline-simulator account (development fleets), "
            "registered by `careline broker sync --services`. Empty: no simulator account."
        ),
    ] = None

    @field_validator("password_file", "pid_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value
