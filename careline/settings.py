"""The one settings object: typed, grouped, read from the environment once at start-up.

It composes the groups each package declares (``crm_core.kernel.settings``,
``ingest.settings``) with the program's own (the API).

Every setting is an environment variable ``CARELINE_<GROUP>__<FIELD>`` (for example
``CARELINE_DATABASE__URL``). Nothing else in the code base reads the environment. A bad
value fails at start-up with :class:`SettingsError`, whose message names the variable and
the value it refused, except for secrets (passwords, keys, URLs that may carry a
password), which are never shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from limits import parse as parse_rate_limit
from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from careline.crm_import.settings import ImportSettings
from crm_core.auth.passwords import strength_problem
from crm_core.campaigns.receipt_settings import ReceiptSettings
from crm_core.campaigns.settings import OfferSettings
from crm_core.kernel.settings import DatabaseSettings, Group
from crm_core.notifications.settings import NotificationSettings
from crm_core.tickets.settings import ServiceSettings
from crm_core.traceability.settings import EpcisSettings
from devices.credentials.settings import BrokerSettings
from devices.lifecycle.settings import LifecycleSettings
from devices.presence.settings import PresenceSettings
from devices.product_issues.settings import FleetSettings
from ingest.settings import IngestSettings, MqttSettings

ENV_PREFIX = "CARELINE_"
# a setting whose name has one of these in it is a secret: its value is never shown
SECRET_WORDS = ("password", "secret", "url", "key", "token")


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
    cookie_secure: Annotated[
        bool,
        Field(
            description="Send the session and CSRF cookies only over HTTPS. The demo, which "
            "serves plain HTTP on localhost, turns it off."
        ),
    ] = True
    hsts_max_age_s: Annotated[
        int,
        Field(
            ge=0,
            le=2 * 365 * 86400,
            description="Strict-Transport-Security max-age when served behind TLS; "
            "0 sends no HSTS header.",
        ),
    ] = 0
    session_max_age_s: Annotated[
        int, Field(ge=60, le=30 * 86400, description="A console session's longest life.")
    ] = 8 * 3600
    session_idle_timeout_s: Annotated[
        int,
        Field(ge=60, le=30 * 86400, description="A console session ends after this idle time."),
    ] = 2 * 3600
    sign_in_limit_per_account: Annotated[
        str,
        Field(
            description="Failed sign-ins allowed per account before it is locked for the "
            "rest of the window (limits syntax)."
        ),
    ] = "5 per 15 minutes"
    sign_in_limit_per_address: Annotated[
        str,
        Field(description="Failed sign-ins allowed per client address (limits syntax)."),
    ] = "20 per 15 minutes"
    rate_limit_storage: Annotated[
        str,
        Field(
            description="Where sign-in counters live: memory:// (one process) or a shared "
            "store (redis://host:6379) when several API processes run."
        ),
    ] = "memory://"
    password_hash_concurrency: Annotated[
        int,
        Field(ge=1, le=64, description="Password checks run at once (each 64 MiB, ~50 ms CPU)."),
    ] = 2
    max_body_bytes: Annotated[
        int, Field(ge=1024, description="Largest request body accepted (413 beyond).")
    ] = 1024 * 1024

    @field_validator("session_secret")
    @classmethod
    def _strong_secret(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        problem = strength_problem(value, min_length=32)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("admin_password")
    @classmethod
    def _strong_password(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        problem = strength_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("sign_in_limit_per_account", "sign_in_limit_per_address")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            parse_rate_limit(value)
        except ValueError:
            raise ValueError("expected a limit such as '5 per 15 minutes'") from None
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
    broker: BrokerSettings = BrokerSettings()
    ingest: IngestSettings = IngestSettings()
    api: ApiSettings = ApiSettings()
    fleet: FleetSettings = FleetSettings()
    notifications: NotificationSettings = NotificationSettings()
    imports: ImportSettings = ImportSettings()
    service: ServiceSettings = ServiceSettings()
    presence: PresenceSettings = PresenceSettings()
    offers: OfferSettings = OfferSettings()
    receipts: ReceiptSettings = ReceiptSettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    epcis: EpcisSettings = EpcisSettings()


def env_name(location: tuple[int | str, ...]) -> str:
    """The environment variable behind a pydantic error location."""
    return ENV_PREFIX + "__".join(str(part).upper() for part in location)


def load_settings(**overrides: object) -> Settings:
    """Read the environment; raise :class:`SettingsError` naming every bad key."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [
            _problem(error["loc"], error["msg"], error.get("input")) for error in exc.errors()
        ]
        # "from None": the ValidationError's own text quotes every refused value
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from None


def is_secret(location: tuple[int | str, ...]) -> bool:
    """Whether the setting at ``location`` holds a secret (its value is never shown).

    >>> is_secret(("database", "url")), is_secret(("api", "admin_password"))
    (True, True)
    >>> is_secret(("api", "port"))
    False
    """
    name = str(location[-1]).lower() if location else ""
    return any(word in name for word in SECRET_WORDS)


def _problem(location: tuple[int | str, ...], message: str, value: object) -> str:
    if is_secret(location):
        if isinstance(value, str) and value:
            message = message.replace(value, "***")
        return f"{env_name(location)}: {message} (value not shown)"
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    return f"{env_name(location)}: {message}{shown}"


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
