"""The one settings object: typed, grouped, read from the environment once at start-up.

It composes the groups each package declares (``crm_core.kernel.settings``,
``ingest.settings``) with the program's own (the API).

Every setting is an environment variable ``CARELINE_<GROUP>__<FIELD>`` (for example
``CARELINE_DATABASE__URL``). Nothing else in the code base reads the environment. A bad
value fails at start-up with :class:`SettingsError`, whose message names the variable and
the value it refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm_core.kernel.settings import DatabaseSettings, Group
from crm_core.notifications.settings import NotificationSettings
from devices.product_issues.settings import FleetSettings
from ingest.settings import IngestSettings, MqttSettings

ENV_PREFIX = "CARELINE_"
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "password", "admin"})


class SettingsError(ValueError):
    """A setting is missing or has a value we refuse; the message names the key."""


class ApiSettings(Group):
    host: Annotated[str, Field(description="Address the API and console listen on.")] = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535, description="Port of the API and console.")] = 8000
    session_secret: Annotated[
        str | None,
        Field(
            description="Key that signs console session cookies (32+ characters). "
            "Empty: the demo makes one and keeps it in the data folder."
        ),
    ] = None
    admin_email: Annotated[str, Field(description="The first administrator's e-mail.")] = (
        "admin@example.com"
    )
    admin_password: Annotated[
        str | None,
        Field(
            description="Password created for the first administrator. "
            "Empty: the demo makes one and prints it."
        ),
    ] = None

    @field_validator("session_secret")
    @classmethod
    def _strong_secret(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if value.lower() in PLACEHOLDER_SECRETS or len(value) < 32:
            raise ValueError("must be at least 32 characters and not a placeholder")
        return value

    @field_validator("admin_password")
    @classmethod
    def _strong_password(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if value.lower() in PLACEHOLDER_SECRETS or len(value) < 10:
            raise ValueError("must be at least 10 characters and not a placeholder")
        return value


class Settings(BaseSettings):
    """All settings. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    data_dir: Annotated[
        Path,
        Field(description="Folder for the embedded database, broker and demo state."),
    ] = Path(".careline")
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR"], Field(description="Log level.")
    ] = "INFO"
    database: DatabaseSettings = DatabaseSettings()
    mqtt: MqttSettings = MqttSettings()
    ingest: IngestSettings = IngestSettings()
    api: ApiSettings = ApiSettings()
    fleet: FleetSettings = FleetSettings()
    notifications: NotificationSettings = NotificationSettings()


def env_name(location: tuple[int | str, ...]) -> str:
    """The environment variable behind a pydantic error location."""
    return ENV_PREFIX + "__".join(str(part).upper() for part in location)


def load_settings(**overrides: object) -> Settings:
    """Read the environment; raise :class:`SettingsError` naming every bad key."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            value = error.get("input")
            shown = "" if isinstance(value, dict) else f" (got {value!r})"
            problems.append(f"{env_name(error['loc'])}: {error['msg']}{shown}")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from exc


def settings_table() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting: the README table is made from it."""
    rows: list[tuple[str, str, str]] = []
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for sub, subfield in annotation.model_fields.items():
                default = "" if subfield.default is None else str(subfield.default)
                rows.append((env_name((name, sub)), default, subfield.description or ""))
        else:
            default = "" if field.default is None else str(field.default)
            rows.append((env_name((name,)), default, field.description or ""))
    return rows
