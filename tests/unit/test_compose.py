"""docker-compose.yml agrees with the code: its commands exist, its settings exist, its files exist.

No Docker engine is needed: the file is read with PyYAML and checked against the CLI
(``careline.cli.app``) and the settings model (``careline.settings.Settings``). Mosquitto's
config files are also started once with the real binary when it is installed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from pydantic import BaseModel

from careline.cli import app
from careline.settings import ENV_PREFIX, Settings
from tests import services

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
MOSQUITTO_CONF = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
MOSQUITTO_TEST_TEMPLATE = ROOT / "deploy" / "mosquitto" / "test.conf.template"
MOSQUITTO_CONF_TARGET = "/mosquitto/config/mosquitto.conf"

INFRA_SERVICES = {"timescaledb", "mosquitto", "mailpit"}
APP_SERVICES = {
    "migrate": "migrate",
    "ingest": "ingest",
    "api": "serve",
    "scheduler": "scheduler",
    "simulator": "simulate",
}


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def compose_services() -> dict[str, dict[str, Any]]:
    found = load_compose().get("services")
    assert isinstance(found, dict), "docker-compose.yml has no services"
    return found


def command_words(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    if isinstance(command, str):
        return shlex.split(command)
    assert isinstance(command, list), f"command must be a string or a list, not {command!r}"
    return [str(word) for word in command]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, whether written as a mapping or as KEY=VALUE lines."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (str(item).partition("=") for item in env)
        return {key: value for key, _, value in pairs}
    assert isinstance(env, dict)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def cli_command_names() -> set[str]:
    """Names of the subcommands registered on the careline CLI.

    ``get_command`` gives a group whose ``commands`` maps names to commands. Recent Typer
    releases vendor click (``typer._click``), so the group is no ``click.Group`` instance:
    look for the mapping instead of checking the class.
    """
    commands = getattr(typer.main.get_command(app), "commands", None)
    assert isinstance(commands, dict), "the careline CLI should have subcommands"
    return {str(name) for name in commands}


def setting_exists(variable: str) -> bool:
    """CARELINE_<GROUP>__<FIELD> (or CARELINE_<FIELD>) names a field of Settings."""
    name = variable.removeprefix(ENV_PREFIX).lower()
    group, sep, field = name.partition("__")
    if not sep:
        top = Settings.model_fields.get(name)
        annotation = top.annotation if top is not None else None
        return top is not None and not (
            isinstance(annotation, type) and issubclass(annotation, BaseModel)
        )
    if group not in Settings.model_fields:
        return False
    annotation = Settings.model_fields[group].annotation
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return False
    return field in annotation.model_fields


def mosquitto_volume_source() -> Path:
    """The host file compose mounts as Mosquitto's config."""
    volumes = compose_services()["mosquitto"].get("volumes") or []
    for volume in volumes:
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            target = rest.split(":")[0]
        else:
            source, target = str(volume.get("source", "")), str(volume.get("target", ""))
        if target == MOSQUITTO_CONF_TARGET:
            return (ROOT / source).resolve()
    raise AssertionError(f"the mosquitto service mounts nothing at {MOSQUITTO_CONF_TARGET}")


def directives(config: str) -> dict[str, str]:
    """The first value of every directive in a Mosquitto config (comments ignored)."""
    found: dict[str, str] = {}
    for line in config.splitlines():
        words = line.split(None, 1)
        if words and not words[0].startswith("#"):
            found.setdefault(words[0], words[1].strip() if len(words) > 1 else "")
    return found


# --- the compose file -----------------------------------------------------------------------


def test_compose_has_every_service() -> None:
    assert set(compose_services()) >= INFRA_SERVICES | set(APP_SERVICES)


def test_simulator_only_runs_in_its_profile() -> None:
    found = compose_services()
    assert found["simulator"].get("profiles") == ["simulator"]
    scale_out = {name for name, service in found.items() if service.get("profiles") == ["scaleout"]}
    assert scale_out == {"nats", "nats-accounts", "ingest-a", "ingest-b"}  # the scale-out profile
    for name in set(found) - {"simulator"} - scale_out:
        assert not found[name].get("profiles"), f"{name} should start without a profile"


@pytest.mark.parametrize(("service", "subcommand"), sorted(APP_SERVICES.items()))
def test_app_services_run_registered_careline_subcommands(service: str, subcommand: str) -> None:
    words = command_words(compose_services()[service])
    assert words[:1] == ["careline"], f"{service} should run careline, not {words!r}"
    assert len(words) >= 2, f"{service} names no careline subcommand"
    assert words[1] == subcommand
    assert words[1] in cli_command_names(), f"careline has no subcommand {words[1]!r}"


def test_app_services_share_one_image_built_here() -> None:
    found = compose_services()
    builds = {repr(found[name].get("build")) for name in APP_SERVICES}
    images = {found[name].get("image") for name in APP_SERVICES}
    assert builds == {repr(".")}
    assert len(images) == 1


def test_ingest_and_api_wait_for_a_completed_migration() -> None:
    found = compose_services()
    migrate_deps = found["migrate"]["depends_on"]
    assert migrate_deps["timescaledb"]["condition"] == "service_healthy"
    for name in ("ingest", "api", "simulator"):
        assert found[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert "mosquitto" in found["ingest"]["depends_on"]
    assert found["migrate"].get("restart") in (None, "no"), "a one-shot job must not restart"


def test_every_careline_variable_is_a_real_setting() -> None:
    variables = {
        name
        for service in compose_services().values()
        for name in environment(service)
        if name.startswith(ENV_PREFIX)
    }
    assert "CARELINE_DATABASE__URL" in variables
    unknown = sorted(name for name in variables if not setting_exists(name))
    assert not unknown, f"docker-compose.yml sets variables no setting reads: {unknown}"


def test_secrets_have_no_default() -> None:
    env = environment(compose_services()["api"])
    for name in ("CARELINE_API__SESSION_SECRET", "CARELINE_API__ADMIN_PASSWORD"):
        assert env[name].startswith("${"), f"{name} must come from the environment"
        assert ":?" in env[name], f"{name} must have no default: ${{VAR:?message}}"


def test_customer_mail_goes_to_the_mail_catcher() -> None:
    services = compose_services()
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    for name in ("ingest", "scheduler", "api"):
        env = environment(services[name])
        assert env["CARELINE_NOTIFICATIONS__SMTP_HOST"] == "mailpit"
        assert env["CARELINE_NOTIFICATIONS__SMTP_PORT"] == "1025"  # Mailpit's SMTP port
    assert "mailpit" in services["scheduler"]["depends_on"]  # the dispatcher sends the mail


def test_setting_lookup_refuses_unknown_names() -> None:
    assert setting_exists("CARELINE_MQTT__HOST")
    assert setting_exists("CARELINE_LOG_LEVEL")
    assert not setting_exists("CARELINE_MQTT__HOSTNAME")
    assert not setting_exists("CARELINE_NOPE__URL")
    assert not setting_exists("CARELINE_MQTT")


# --- Mosquitto's config files ---------------------------------------------------------------


def test_mounted_mosquitto_config_exists_and_keeps_queued_messages() -> None:
    source = mosquitto_volume_source()
    assert source == MOSQUITTO_CONF.resolve()
    assert source.is_file(), f"{source} is mounted but missing"
    found = directives(source.read_text(encoding="utf-8"))
    assert "max_queued_messages" in found
    assert int(found["max_queued_messages"]) >= 100_000
    assert found.get("persistence") == "true"


def test_test_template_matches_the_production_limits() -> None:
    production = directives(MOSQUITTO_CONF.read_text(encoding="utf-8"))
    test = directives(MOSQUITTO_TEST_TEMPLATE.read_text(encoding="utf-8").format(port=1883))
    assert test["listener"] == "1883 127.0.0.1"
    for key in (
        "max_queued_messages",
        "max_queued_bytes",
        "max_inflight_messages",
        "persistent_client_expiration",
    ):
        assert test[key] == production[key], key
    assert test.get("persistence", "false") == "false"


def _mosquitto_binary() -> str:
    binary = os.environ.get("CARELINE_TEST_MOSQUITTO") or shutil.which("mosquitto")
    if binary is None and Path("/usr/sbin/mosquitto").exists():
        binary = "/usr/sbin/mosquitto"
    if binary is None:
        services.unavailable("mosquitto", "no mosquitto binary on PATH")
        raise AssertionError("unreachable")
    return binary


def _starts(binary: str, config: Path, port: int) -> None:
    """Mosquitto accepts ``config`` and listens on ``port``; then it is stopped."""
    process = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                err = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"mosquitto refused {config.name}: {err.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"mosquitto with {config.name} did not listen on {port}")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


@pytest.mark.integration
def test_mosquitto_accepts_the_test_template(tmp_path: Path) -> None:
    binary = _mosquitto_binary()
    port = services.free_port()
    config = tmp_path / "test.conf"
    config.write_text(MOSQUITTO_TEST_TEMPLATE.read_text(encoding="utf-8").format(port=port))
    _starts(binary, config, port)


@pytest.mark.integration
def test_mosquitto_accepts_the_production_config(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    binary = _mosquitto_binary()
    port = services.free_port()
    # Only whether Mosquitto accepts every directive is checked here; it writes its data
    # folder at autosave and shutdown only (tests/integration/brokers.py covers persistence).
    data = tmp_path / "data"
    data.mkdir()
    # The files the compose stack mounts, made here: a password file and a CA and broker
    # certificate (mosquitto refuses to start if any is missing), in a folder the broker
    # can read once it has dropped to its own user (pytest's tmp_path is root's alone).
    import trustme

    files = Path(tempfile.mkdtemp(prefix="careline-conf-"))
    request.addfinalizer(lambda: shutil.rmtree(files, ignore_errors=True))
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(files / "ca.crt"))
    server = ca.issue_cert("127.0.0.1")
    server.cert_chain_pems[0].write_to_path(str(files / "server.crt"))
    server.private_key_pem.write_to_path(str(files / "server.key"))
    (files / "passwd").write_text("")
    for path in files.iterdir():
        path.chmod(0o644)
    files.chmod(0o755)
    replacements = {
        "listener": f"listener {port} 127.0.0.1",
        "persistence_location": f"persistence_location {data}/",
        "log_dest": "log_dest none",
        "password_file": f"password_file {files / 'passwd'}",
        "acl_file": f"acl_file {MOSQUITTO_CONF.parent / 'acl'}",
        "cafile": f"cafile {files / 'ca.crt'}",
        "certfile": f"certfile {files / 'server.crt'}",
        "keyfile": f"keyfile {files / 'server.key'}",
    }
    lines = [
        replacements.get(line.split(" ", 1)[0], line)
        for line in MOSQUITTO_CONF.read_text(encoding="utf-8").splitlines()
    ]
    config = tmp_path / "mosquitto.conf"
    config.write_text("\n".join(lines) + "\n")
    _starts(binary, config, port)


def test_the_shipped_brokers_take_no_anonymous_clients_and_only_tls() -> None:
    mosquitto = directives(MOSQUITTO_CONF.read_text(encoding="utf-8"))
    assert mosquitto["allow_anonymous"] == "false"
    assert mosquitto["password_file"]
    assert mosquitto["acl_file"]
    assert mosquitto["listener"] == "8883"  # the one listener, with TLS
    assert {"cafile", "certfile", "keyfile"} <= set(mosquitto)
    acl = (MOSQUITTO_CONF.parent / "acl").read_text(encoding="utf-8")
    assert "pattern write dt/%u/#" in acl
    assert "topic readwrite" not in acl
    assert "topic #" not in acl
    nats = (ROOT / "deploy" / "nats" / "nats.conf").read_text(encoding="utf-8")
    assert 'include "auth/users.conf"' in nats
    assert "tls {" in nats
    services = compose_services()
    assert services["mosquitto"]["ports"] == ["8883:8883"]
    for name in ("ingest", "api", "scheduler", "ingest-a", "ingest-b", "simulator"):
        env = environment(services[name])
        assert env["CARELINE_MQTT__TLS"] == "true", name
        assert env["CARELINE_MQTT__USERNAME"].startswith("careline-"), name
    env = environment(services["ingest"])
    assert env["CARELINE_PRESENCE__MQTT_USERNAME"] == "careline-presence"
    assert env["CARELINE_NOTIFICATIONS__PUSH_USERNAME"] == "careline-push"
