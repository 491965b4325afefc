"""The one settings object: typed, grouped, read from the environment once at start-up.

Every setting is an environment variable ``CARELINE_<GROUP>__<FIELD>`` (for example
``CARELINE_DATABASE__URL``). Nothing else in the code base reads the environment. A bad
value fails at start-up with :class:`SettingsError`, whose message names the variable and
the value it refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CARELINE_"
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "password", "admin"})


class SettingsError(ValueError):
    """A setting is missing or has a value we refuse; the message names the key."""


class Group(BaseModel):
    """A group of settings: unknown keys are refused, so typos are loud."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(Group):
    url: Annotated[
        str | None,
        Field(
            description="PostgreSQL URL (postgresql://user:pass@host:5432/db) or libpq "
            "key=value string. "
            "Empty: start an embedded PostgreSQL in the data folder."
        ),
    ] = None
    pool_min_size: Annotated[int, Field(ge=1, le=100, description="Connections kept open.")] = 1
    pool_max_size: Annotated[int, Field(ge=1, le=200, description="Most connections open.")] = 8

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        from psycopg.conninfo import conninfo_to_dict

        try:
            parts = conninfo_to_dict(value)
        except Exception as exc:
            raise ValueError(f"not a PostgreSQL connection string ({exc})") from exc
        ports = str(parts.get("port", "5432")).split(",")
        if not all(port.isdigit() for port in ports):
            raise ValueError("the port must be a number")
        return value


class MqttSettings(Group):
    host: Annotated[
        str | None,
        Field(description="Broker host. Empty: start an embedded broker (iotcore/rumqttd)."),
    ] = None
    port: Annotated[int, Field(ge=1, le=65535, description="Broker port.")] = 1883
    username: Annotated[str | None, Field(description="Broker user name, if it asks.")] = None
    password: Annotated[str | None, Field(description="Broker password.")] = None
    client_id: Annotated[
        str,
        Field(
            min_length=1,
            max_length=64,
            description="Fixed client id of the ingest worker: the broker keeps its "
            "persistent session (and the QoS 1 messages queued for it) under this id.",
        ),
    ] = "careline-ingest-1"
    protocol: Annotated[
        Literal["auto", "5", "3.1.1"],
        Field(description="MQTT version: auto tries 5 and falls back to 3.1.1."),
    ] = "auto"
    keepalive: Annotated[int, Field(ge=5, le=3600, description="Keep-alive seconds.")] = 30
    session_expiry: Annotated[
        int,
        Field(ge=0, description="Seconds the broker keeps the session while we are away."),
    ] = 7 * 24 * 3600
    receive_maximum: Annotated[
        int,
        Field(
            ge=1,
            le=65535,
            description="QoS 1 messages the broker may have in flight to us (MQTT 5).",
        ),
    ] = 20000
    share_group: Annotated[
        str | None,
        Field(
            description="Shared-subscription group for several ingest workers "
            "($share/<group>/...). Empty: a plain subscription."
        ),
    ] = None

    @field_validator("share_group", "host", "username", "password")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    topic_root: Annotated[
        str, Field(pattern=r"^[a-z0-9-]+$", description="First level of every topic.")
    ] = "dt"


class IngestSettings(Group):
    batch_max_messages: Annotated[
        int, Field(ge=1, le=100000, description="Most messages in one committed batch.")
    ] = 2000
    batch_max_wait_ms: Annotated[
        int, Field(ge=1, le=10000, description="Longest a message waits for its batch.")
    ] = 15
    future_tolerance_s: Annotated[
        float,
        Field(ge=0, description="Device clocks may run this far ahead of ours; more is rejected."),
    ] = 300.0
    past_tolerance_s: Annotated[
        float,
        Field(
            gt=0,
            description="Oldest reading accepted, in seconds before it was received "
            "(90 days): a device may send what it buffered while offline, not years.",
        ),
    ] = 90 * 86400.0
    detection: Annotated[bool, Field(description="Run the anomaly detectors.")] = True
    checkpoint_every_s: Annotated[
        float,
        Field(
            gt=0,
            description="How often detector state is saved, so a restart does not "
            "start the detectors' warm-up again.",
        ),
    ] = 60.0
    retry_max_delay_s: Annotated[
        float, Field(gt=0, description="Longest wait between database retries.")
    ] = 10.0
    max_message_bytes: Annotated[
        int,
        Field(
            ge=1024,
            le=256 * 1024 * 1024,
            description="Largest payload accepted. A larger one is dead-lettered "
            "(reason too_large) with its size, digest and first 4 KiB, never whole.",
        ),
    ] = 1024 * 1024
    max_readings_per_message: Annotated[
        int,
        Field(
            ge=1,
            le=1_000_000,
            description="Most readings (SenML records, JSON values) in one message; "
            "more is dead-lettered (too_large).",
        ),
    ] = 10_000
    inbox_max_bytes: Annotated[
        int,
        Field(
            ge=64 * 1024,
            description="Most bytes of messages held received but not yet acknowledged; "
            "when reached, ingest stops reading and the broker keeps the rest.",
        ),
    ] = 64 * 1024 * 1024
    max_reason_chars: Annotated[
        int,
        Field(
            ge=100,
            le=100_000,
            description="Longest reason text kept with a dead letter; longer ones are cut.",
        ),
    ] = 2000
    unknown_device_cache_size: Annotated[
        int,
        Field(
            ge=1,
            description="Unknown serials remembered (least recently used ones are forgotten).",
        ),
    ] = 10_000
    unknown_device_ttl_s: Annotated[
        float,
        Field(
            gt=0,
            description="How long an unknown serial is remembered before the registry "
            "is asked again.",
        ),
    ] = 30.0
    dead_letter_retention_days: Annotated[
        int,
        Field(
            ge=1,
            description="Dead letters not seen again for this many days are deleted "
            "(by the scheduler's daily job).",
        ),
    ] = 30


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
