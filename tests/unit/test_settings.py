"""The settings object: typed, validated at start-up, every key documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from careline.settings import SettingsError, load_settings, settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_start_the_embedded_services(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, _, _ in settings_table():
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database.url is None
    assert settings.mqtt.host is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CARELINE_MQTT__PORT", "seventy"),
        ("CARELINE_MQTT__PORT", "70000"),
        ("CARELINE_INGEST__BATCH_MAX_MESSAGES", "0"),
        ("CARELINE_MQTT__PROTOCOL", "4"),
        ("CARELINE_LOG_LEVEL", "LOUD"),
        ("CARELINE_API__SIGN_IN_LIMIT_PER_ACCOUNT", "often"),
    ],
)
def test_a_bad_value_fails_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as excinfo:
        load_settings()
    assert variable in str(excinfo.value)
    assert value in str(excinfo.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CARELINE_API__SESSION_SECRET", "changeme"),
        ("CARELINE_API__SESSION_SECRET", "changeme" * 4),
        ("CARELINE_API__SESSION_SECRET", "password123password123password123"),
        ("CARELINE_API__ADMIN_PASSWORD", "password123"),
        ("CARELINE_API__ADMIN_PASSWORD", "changeme" * 4),
        ("CARELINE_DATABASE__URL", "postgresql://app:S3cretPassw0rd@db:notaport/careline"),
        ("CARELINE_DATABASE__URL", "host=db password=S3cretPassw0rd port=5432 = junk"),
    ],
)
def test_weak_or_bad_secrets_are_refused_without_showing_them(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as excinfo:
        load_settings()
    shown = str(excinfo.value)
    assert variable in shown
    assert "value not shown" in shown
    assert value not in shown
    assert "S3cretPassw0rd" not in shown
    assert "changeme" not in shown
    # nor in the chained exceptions a traceback would print
    assert excinfo.value.__cause__ is None
    assert excinfo.value.__suppress_context__


def test_strong_secrets_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELINE_API__SESSION_SECRET", "kX9v-2Lq_8ZtR4mW7yB1nC5pD3sF6hJ0aE")
    monkeypatch.setenv("CARELINE_API__ADMIN_PASSWORD", "plum orbit lantern 42")
    settings = load_settings()
    assert settings.api.admin_password == "plum orbit lantern 42"
    assert settings.api.cookie_secure is True  # on unless turned off (the demo does)


def test_unknown_keys_in_a_group_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELINE_MQTT__HOSTNAME", "broker")
    with pytest.raises(SettingsError, match="CARELINE_MQTT__HOSTNAME"):
        load_settings()


def test_every_setting_is_in_the_readme_table() -> None:
    text = README.read_text("utf-8")
    missing = [name for name, _, _ in settings_table() if f"`{name}`" not in text]
    assert missing == []
