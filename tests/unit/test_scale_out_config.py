"""The scale-out profile agrees with itself: the NATS configuration is valid for the real
binary, its mapping has as many partitions as the compose workers own between them, each
exactly once, and the test harness's configuration is the same shape."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from ingest.partitions import parse_partitions
from tests import services
from tests.integration.nats import _binary, nats_config
from tests.unit.test_compose import compose_services

ROOT = Path(__file__).resolve().parents[2]
NATS_CONF = ROOT / "deploy" / "nats" / "nats.conf"
PARTITION_COUNT = re.compile(r"partition\((\d+),1\)")


def shipped_partitions() -> int:
    [found] = PARTITION_COUNT.findall(NATS_CONF.read_text("utf-8"))
    return int(found)


def test_the_compose_workers_own_every_partition_once() -> None:
    owned: list[int] = []
    for service in compose_services().values():
        partitions = service.get("environment", {}).get("CARELINE_MQTT__PARTITIONS")
        if partitions:
            assert service.get("profiles") == ["scaleout"]
            assert service["environment"]["CARELINE_MQTT__PROTOCOL"] == "3.1.1"
            owned += parse_partitions(partitions)
    assert sorted(owned) == list(range(shipped_partitions()))


def test_the_harness_maps_topics_as_the_shipped_configuration_does() -> None:
    shipped = NATS_CONF.read_text("utf-8")
    made = nats_config(client_port=1, mqtt_port=2, store_dir=Path("/x"), partitions=16)
    [mapping] = re.findall(r'"dt\.\*\.\*": "([^"]+)"', shipped)
    assert mapping in made


def test_the_shipped_nats_configuration_is_valid(tmp_path: Path) -> None:
    binary = _binary()
    if binary is None:
        services.unavailable("nats", "no nats-server binary")
        return
    # What the compose stack mounts beside it, made here: the users file careline writes
    # (every kind of account, so the renderer's output is checked by the real parser too)
    # and the broker's certificate.
    import trustme

    from devices.credentials.nats_users import NatsUser, render_nats
    from devices.credentials.secret_hash import nats_hash

    users = [
        NatsUser(name, True, nats_hash("pw"))
        for name in ("careline-ingest", "careline-presence", "careline-push", "careline-simulator")
    ] + [NatsUser("FR-000001", False, nats_hash("pw"))]
    (tmp_path / "auth").mkdir()
    (tmp_path / "auth" / "users.conf").write_text(render_nats(users), "utf-8")
    cert = trustme.CA().issue_cert("nats")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "server.crt"))
    cert.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    config = tmp_path / "nats.conf"
    config.write_text(
        NATS_CONF.read_text("utf-8").replace("/etc/nats/certs", str(tmp_path)), "utf-8"
    )
    checked = subprocess.run(
        [binary, "-t", "-c", str(config)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout


def test_partition_settings_refuse_what_cannot_work() -> None:
    import pytest

    from careline.settings import SettingsError, load_settings

    assert load_settings(mqtt={"partitions": "0-3, 8"}).mqtt.partitions == "0-3, 8"
    for bad in ("3-1", "x", "0-5000", "1,,2"):
        with pytest.raises(SettingsError, match="CARELINE_MQTT__PARTITIONS"):
            load_settings(mqtt={"partitions": bad})
    with pytest.raises(SettingsError, match="exclude each other"):
        load_settings(mqtt={"partitions": "0-3", "share_group": "ingest"})
