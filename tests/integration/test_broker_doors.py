"""The broker's doors, against a real Mosquitto over TLS with the shipped ACL.

Accounts are issued with the real ``careline`` commands (database + password file +
SIGHUP through the PID file); ingest connects over TLS with its service account; devices
publish with their own credentials. Checked: no plain connection on the TLS port, wrong or
missing credentials refused, a device cannot publish under another device's topic, a
provisioned device's readings are stored end to end, a burst over TLS is stored at once,
rotation and revocation take effect at the reload, and no clear secret is stored.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
import trustme
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from careline.cli import app
from crm_core.kernel.broker_login import BrokerLogin, BrokerTls
from devices.catalog import Catalog
from simulators.broker_link import BrokerRefusedError, BrokerUnreachableError
from simulators.publisher import Publisher
from tests.integration.conftest import Pool, register_devices
from tests.integration.harness import (
    RunningIngest,
    count,
    good_reading,
    new_client_id,
    settings_for,
    wait_for,
)
from tests.integration.tls_broker import TlsBroker

pytestmark = pytest.mark.integration

A, B = "FR-000001", "FR-000002"
INGEST_PASSWORD = "ingest-Cq7vX2pLk9Rt4wZs"
PRESENCE_PASSWORD = "presence-T4bWq8zR1mKx"
SIMULATOR_PASSWORD = "simulator-Hx5nP2vQ9cLd"


@pytest.fixture
def tls_broker() -> Iterator[TlsBroker]:
    broker = TlsBroker().start()
    yield broker
    broker.close()


def careline(broker: TlsBroker, database_url: str, *args: str) -> tuple[int, str, str]:
    """Run the real CLI with the broker's password and PID files configured."""
    env = {
        "CARELINE_DATABASE__URL": database_url,
        "CARELINE_BROKER__PASSWORD_FILE": str(broker.password_file),
        "CARELINE_BROKER__PID_FILE": str(broker.pid_file),
        "CARELINE_MQTT__USERNAME": "careline-ingest",
        "CARELINE_MQTT__PASSWORD": INGEST_PASSWORD,
        "CARELINE_PRESENCE__MQTT_USERNAME": "careline-presence",
        "CARELINE_PRESENCE__MQTT_PASSWORD": PRESENCE_PASSWORD,
        "CARELINE_BROKER__SIMULATOR_PASSWORD": SIMULATOR_PASSWORD,
    }
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def issued(stdout: str) -> dict[str, str]:
    return {row["username"]: row["password"] for row in csv.DictReader(io.StringIO(stdout))}


def device(
    broker: TlsBroker, user: str | None, password: str | None, *, tls: BrokerTls | None = None
) -> Publisher:
    return Publisher(
        "127.0.0.1",
        broker.port,
        client_id=new_client_id(),
        mqtt_version="5",
        username=user,
        password=password,
        tls=tls if tls is not None else BrokerTls(ca_file=broker.ca_file),
        connect_timeout_s=5,
        give_up_after_s=5,
    )


def wait_reloaded(broker: TlsBroker, before: int) -> None:
    wait_for(lambda: broker.reload_count() > before, 5, "the broker's reload")


@pytest.fixture
def world(
    db: Pool, database_url: str, tls_broker: TlsBroker, catalog: Catalog
) -> Iterator[tuple[RunningIngest, dict[str, str]]]:
    """Devices A and B registered and provisioned, ingest subscribed over TLS."""
    register_devices(db, [A, B])
    before = tls_broker.reload_count()
    code, _, err = careline(tls_broker, database_url, "broker", "sync", "--services")
    assert code == 0, err
    code, out, err = careline(tls_broker, database_url, "devices", "provision", A, B)
    assert code == 0, err
    secrets = issued(out)
    assert set(secrets) == {A, B}
    wait_reloaded(tls_broker, before)
    settings = settings_for(
        database_url,
        tls_broker.port,
        new_client_id(),
        mqtt={
            "tls": True,
            "ca_file": str(tls_broker.ca_file),
            "username": "careline-ingest",
            "password": INGEST_PASSWORD,
        },
    )
    run = RunningIngest(settings, catalog).start()
    yield run, secrets
    run.stop()


def readings_of(database_url: str, serial: str) -> int:
    return count(
        database_url,
        "SELECT count(*) FROM readings r JOIN devices d ON d.id = r.device_id WHERE d.serial = %s",
        serial,
    )


def test_a_plain_connection_to_the_tls_port_gets_no_mqtt(
    world: tuple[RunningIngest, dict[str, str]], tls_broker: TlsBroker
) -> None:
    _, secrets = world
    with pytest.raises(BrokerUnreachableError):
        Publisher(
            "127.0.0.1",
            tls_broker.port,
            username=A,
            password=secrets[A],
            connect_timeout_s=3,
        )


def test_wrong_missing_or_unknown_credentials_are_refused(
    world: tuple[RunningIngest, dict[str, str]], tls_broker: TlsBroker
) -> None:
    _, secrets = world
    for user, password in (
        (A, "not-" + secrets[A]),
        (A, secrets[B]),
        ("FR-999999", "x"),
        (None, None),
    ):
        with pytest.raises(BrokerRefusedError):
            device(tls_broker, user, password).close()


def test_a_broker_certificate_from_another_ca_is_refused(
    world: tuple[RunningIngest, dict[str, str]], tls_broker: TlsBroker, tmp_path: Path
) -> None:
    _, secrets = world
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with pytest.raises(BrokerUnreachableError, match="CERTIFICATE_VERIFY_FAILED"):
        device(tls_broker, A, secrets[A], tls=BrokerTls(ca_file=other))


def test_provisioned_devices_are_stored_and_cannot_speak_for_each_other(
    world: tuple[RunningIngest, dict[str, str]], tls_broker: TlsBroker, database_url: str
) -> None:
    _, secrets = world
    t = time.time() - 60
    with device(tls_broker, A, secrets[A]) as a:
        a.publish(f"dt/{B}/senml", good_reading(B, t, 9.0))  # not A's topic
        a.publish(f"dt/{A}/senml", good_reading(A, t, 4.0))
        assert a.flush(10)
        assert a.rejected == 1  # MQTT 5: PUBACK 0x87 Not authorized for B's topic
    wait_for(lambda: readings_of(database_url, A) == 1, 20, "A's reading")
    with device(tls_broker, B, secrets[B]) as b:
        b.publish(f"dt/{B}/senml", good_reading(B, t + 1, 5.0))
        assert b.flush(10)
        assert b.rejected == 0
    wait_for(lambda: readings_of(database_url, B) == 1, 20, "B's own reading")
    assert count(database_url, "SELECT count(*) FROM dead_letters") == 0
    # The one B reading is B's own, not the one A tried to publish for it.
    assert (
        count(
            database_url,
            "SELECT count(*) FROM readings r JOIN devices d ON d.id = r.device_id "
            "WHERE d.serial = %s AND r.value = 9.0",
            B,
        )
        == 0
    )


def test_a_burst_over_tls_is_stored_without_waiting_for_a_keepalive(
    world: tuple[RunningIngest, dict[str, str]], tls_broker: TlsBroker, database_url: str
) -> None:
    """A burst over TLS is read at once, not at the next keep-alive (30 s here). (The
    read-ahead socket's 64 KiB reads take whole TLS records, so this passes with or without
    counting the SSL object's pending bytes; tests/unit/test_broker_credentials.py checks
    that count.)"""
    _, secrets = world
    n = 3000
    t0 = time.time() - 3600
    with device(tls_broker, A, secrets[A]) as a:
        for i in range(n):
            a.publish(f"dt/{A}/senml", good_reading(A, t0 + i, 4.0))
        assert a.flush(30)
    wait_for(lambda: readings_of(database_url, A) == n, 10, f"{n} readings over TLS")


def test_rotation_and_revocation_take_effect_at_the_reload(
    world: tuple[RunningIngest, dict[str, str]], tls_broker: TlsBroker, database_url: str
) -> None:
    _, secrets = world
    connected_a = device(tls_broker, A, secrets[A])
    before = tls_broker.reload_count()
    code, out, err = careline(tls_broker, database_url, "devices", "rotate", B)
    assert code == 0, err
    new_b = issued(out)[B]
    # One reload at a time: two SIGHUPs that reach Mosquitto before it handles the first
    # make one reload (seen under load), so waiting for two after both can time out.
    wait_reloaded(tls_broker, before)
    before = tls_broker.reload_count()
    code, _, err = careline(tls_broker, database_url, "devices", "revoke", A)
    assert code == 0, err
    wait_reloaded(tls_broker, before)
    # A, connected when it was revoked, is put out at the reload and refused coming back.
    with pytest.raises(BrokerRefusedError):
        connected_a.poll(5)
    connected_a.close()
    with pytest.raises(BrokerRefusedError):
        device(tls_broker, A, secrets[A])
    with pytest.raises(BrokerRefusedError):
        device(tls_broker, B, secrets[B])  # the old secret
    t = time.time() - 30
    with device(tls_broker, B, new_b) as b:
        b.publish(f"dt/{B}/senml", good_reading(B, t, 6.0))
        assert b.flush(10)
    wait_for(lambda: readings_of(database_url, B) == 1, 20, "B's reading with its new secret")
    # Revoking again, or rotating a revoked device, is refused with a reason.
    code, _, err = careline(tls_broker, database_url, "devices", "revoke", A)
    assert (code, "no live credentials" in err) == (1, True)
    code, _, err = careline(tls_broker, database_url, "devices", "rotate", A)
    assert (code, "no live credentials" in err) == (1, True)
    # ... and provisioning it again issues a new secret.
    code, out, err = careline(tls_broker, database_url, "devices", "provision", A)
    assert code == 0, err
    with psycopg.connect(database_url) as conn:
        events = conn.execute(
            "SELECT username, event FROM broker_account_events ORDER BY id"
        ).fetchall()
        stored = conn.execute("SELECT broker_accounts::text FROM broker_accounts").fetchall()
    assert [e for e in events if e[0] in (A, B)] == [
        (A, "issued"),
        (B, "issued"),
        (B, "rotated"),
        (A, "revoked"),
        (A, "issued"),
    ]
    dump = " ".join(row[0] for row in stored) + tls_broker.password_file.read_text()
    chosen = (INGEST_PASSWORD, PRESENCE_PASSWORD, SIMULATOR_PASSWORD)
    for secret in (*secrets.values(), new_b, *issued(out).values(), *chosen):
        assert secret not in dump


def test_service_accounts_may_do_only_their_own_job(
    world: tuple[RunningIngest, dict[str, str]], tls_broker: TlsBroker, database_url: str
) -> None:
    code, out, err = careline(tls_broker, database_url, "broker", "account", "careline-push")
    assert code == 0, err
    push_secret = issued(out)["careline-push"]
    t = time.time() - 60
    with device(tls_broker, "careline-push", push_secret) as push:
        push.publish("app/7/notifications", b'{"id":"n-1"}')
        push.publish(f"dt/{A}/senml", good_reading(A, t))  # not a device
        assert push.flush(10)
        assert (push.acked, push.rejected) == (1, 1)
    with device(tls_broker, "careline-ingest", INGEST_PASSWORD) as ingest:
        ingest.publish(f"dt/{A}/senml", good_reading(A, t))  # ingest reads, never writes
        assert ingest.flush(10)
        assert ingest.rejected == 1
    with device(tls_broker, A, world[1][A]) as a:  # a device cannot push to apps
        a.publish("app/7/notifications", b'{"id":"n-2"}')
        a.publish(f"dt/{A}/senml", good_reading(A, t + 1))
        assert a.flush(10)
        assert (a.acked, a.rejected) == (1, 1)
    wait_for(lambda: readings_of(database_url, A) == 1, 20, "A's own reading")
    assert count(database_url, "SELECT count(*) FROM dead_letters") == 0


def test_the_presence_account_hears_sightings_only(
    world: tuple[RunningIngest, dict[str, str]], tls_broker: TlsBroker
) -> None:
    """careline-presence (registered from the settings by `broker sync --services`) reads
    ps/#; the simulator account publishes for shoppers and devices; dt/ stays unheard."""
    heard: list[str] = []
    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=new_client_id())
    BrokerLogin("careline-presence", PRESENCE_PASSWORD, BrokerTls(tls_broker.ca_file)).apply(
        listener
    )
    listener.on_message = lambda client, userdata, message: heard.append(message.topic)
    subscribed = threading.Event()
    listener.on_subscribe = lambda *args: subscribed.set()
    listener.connect("127.0.0.1", tls_broker.port)
    listener.loop_start()
    try:
        listener.subscribe([("ps/#", 1), ("dt/#", 1)])
        assert subscribed.wait(5)
        with device(tls_broker, "careline-simulator", SIMULATOR_PASSWORD) as simulator:
            simulator.publish(f"dt/{A}/senml", good_reading(A, time.time() - 5))
            simulator.publish("ps/install-1/sightings", b"[]")
            assert simulator.flush(10)
            assert simulator.rejected == 0
        wait_for(lambda: "ps/install-1/sightings" in heard, 10, "the sighting")
        time.sleep(0.5)
        assert heard == ["ps/install-1/sightings"]  # dt/# was granted, its messages are not
    finally:
        listener.disconnect()
        listener.loop_stop()


def test_devices_may_log_in_with_client_certificates_instead(
    db: Pool, database_url: str, catalog: Catalog, tmp_path: Path
) -> None:
    """The alternative in deploy/mosquitto/mosquitto.conf: require_certificate and
    use_identity_as_username, so the certificate's common name is the user the shipped ACL
    confines to dt/<name>/...; careline's clients send one with CARELINE_MQTT__CERT_FILE."""
    broker = TlsBroker(client_certificates=True).start()
    try:
        register_devices(db, [A, B])
        paths = {}
        for serial in (A, "careline-ingest"):
            cert = broker.ca.issue_cert(serial, common_name=serial)
            paths[serial] = (tmp_path / f"{serial}.pem", tmp_path / f"{serial}.key")
            cert.cert_chain_pems[0].write_to_path(str(paths[serial][0]))
            cert.private_key_pem.write_to_path(str(paths[serial][1]))
        settings = settings_for(
            database_url,
            broker.port,
            new_client_id(),
            mqtt={
                "tls": True,
                "ca_file": str(broker.ca_file),
                "cert_file": str(paths["careline-ingest"][0]),
                "key_file": str(paths["careline-ingest"][1]),
            },
        )
        run = RunningIngest(settings, catalog).start()
        try:
            with pytest.raises(BrokerUnreachableError):  # no certificate: no handshake
                device(broker, A, None)
            t = time.time() - 60
            with device(broker, None, None, tls=BrokerTls(broker.ca_file, *paths[A])) as a:
                a.publish(f"dt/{B}/senml", good_reading(B, t, 9.0))
                a.publish(f"dt/{A}/senml", good_reading(A, t, 4.0))
                assert a.flush(10)
                assert (a.acked, a.rejected) == (1, 1)
            wait_for(lambda: readings_of(database_url, A) == 1, 20, "A's reading")
            assert readings_of(database_url, B) == 0
        finally:
            run.stop()
    finally:
        broker.close()
