"""Shopper apps' broker accounts, against a real Mosquitto over TLS with the shipped ACL.

Accounts are issued with the real ``careline apps`` commands, which write the password
file and the ACL (the shipped rules plus one block per app) and reload the broker through
its PID file. Checked: an app receives its own customer's push (on the topic the push
channel publishes to) and nothing of another customer's, even with ``app/#``; it cannot
publish anywhere (its own ``dt/app-…`` included, which the shipped device pattern would
grant); the app backend publishes sightings only; rotation, revocation and erasure take
effect at the reload; no clear secret is stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from typer.testing import CliRunner

from careline.api.routes.broker_files import revoke_in_broker
from careline.cli import app
from crm_core.kernel.broker_login import BrokerLogin, BrokerTls
from crm_core.notifications.channels.push import push_topic
from devices.credentials.settings import BrokerSettings
from devices.presence.directory import erase_presence
from simulators.broker_link import BrokerRefusedError
from tests.integration.conftest import Pool
from tests.integration.harness import new_client_id, wait_for
from tests.integration.test_broker_doors import device, issued, wait_reloaded
from tests.integration.test_nats_doors import TlsNats
from tests.integration.tls_broker import SHIPPED_ACL, TlsBroker

pytestmark = pytest.mark.integration


@pytest.fixture
def tls_broker() -> Iterator[TlsBroker]:
    broker = TlsBroker().start()
    yield broker
    broker.close()


def careline(broker: TlsBroker, database_url: str, *args: str) -> tuple[int, str, str]:
    """The real CLI with the broker's files configured, the ACL included."""
    env = {
        "CARELINE_DATABASE__URL": database_url,
        "CARELINE_BROKER__PASSWORD_FILE": str(broker.password_file),
        "CARELINE_BROKER__PID_FILE": str(broker.pid_file),
        "CARELINE_BROKER__ACL_FILE": str(broker.folder / "acl"),
        "CARELINE_BROKER__ACL_BASE": str(SHIPPED_ACL),
    }
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def broker_settings(broker: TlsBroker) -> BrokerSettings:
    return BrokerSettings(
        password_file=broker.password_file,
        pid_file=broker.pid_file,
        acl_file=broker.folder / "acl",
        acl_base=SHIPPED_ACL,
    )


class App:
    """A shopper app: logged in as its installation, subscribed to some filters at QoS 1."""

    def __init__(
        self,
        broker: TlsBroker | TlsNats,
        user: str,
        secret: str,
        filters: list[str],
        *,
        qos: int = 1,
    ) -> None:
        self.heard: list[tuple[str, bytes]] = []
        v5 = isinstance(broker, TlsBroker)  # the NATS gateway speaks MQTT 3.1.1 only
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=new_client_id(),
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        )
        BrokerLogin(user, secret, BrokerTls(broker.ca_file)).apply(self.client)
        self.client.on_message = lambda c, u, m: self.heard.append((m.topic, bytes(m.payload)))
        granted: list[list[int]] = []
        subscribed = threading.Event()

        def on_subscribe(
            client: mqtt.Client, userdata: object, mid: int, codes: list[ReasonCode],
            props: Properties,
        ) -> None:  # fmt: skip
            granted.append([code.value for code in codes])
            subscribed.set()

        self.client.on_subscribe = on_subscribe
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        if filters:
            self.client.subscribe([(f, qos) for f in filters])
        else:
            subscribed.set()
            granted.append([])
        assert subscribed.wait(5), "no SUBACK"
        self.granted = granted[0]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass(frozen=True)
class Shoppers:
    alice: int
    bob: int
    push: str
    secret_a: str
    secret_b: str


@pytest.fixture
def shoppers(db: Pool, database_url: str, tls_broker: TlsBroker) -> Shoppers:
    """Customers 1 and 2 with one app installation each, both provisioned; the push
    service's account issued."""
    now = datetime.now(UTC)
    with db.connection() as conn:
        ids = [
            conn.execute(
                "INSERT INTO customers (kind, name, email) VALUES ('person', %s, %s) RETURNING id",
                (name, f"{name.lower()}@example.net"),
            ).fetchone()[0]  # type: ignore[index]
            for name in ("Alice", "Bob")
        ]
        for installation, customer_id in (("inst-a", ids[0]), ("inst-b", ids[1])):
            conn.execute(
                "INSERT INTO presence_installations (id, customer_id, registered_at) "
                "VALUES (%s, %s, %s)",
                (installation, customer_id, now),
            )
    before = tls_broker.reload_count()
    code, out, err = careline(tls_broker, database_url, "broker", "account", "careline-push")
    assert code == 0, err
    push = issued(out)["careline-push"]
    # One reload at a time: two SIGHUPs that reach Mosquitto before it handles the first
    # make one reload, so waiting for two after both commands can time out.
    wait_reloaded(tls_broker, before)
    before = tls_broker.reload_count()
    code, out, err = careline(tls_broker, database_url, "apps", "provision", "inst-a", "inst-b")
    assert code == 0, err
    secrets = issued(out)
    assert set(secrets) == {"app-inst-a", "app-inst-b"}
    wait_reloaded(tls_broker, before)
    return Shoppers(ids[0], ids[1], push, secrets["app-inst-a"], secrets["app-inst-b"])


def push(broker: TlsBroker, secret: str, customer_id: int, body: bytes) -> None:
    with device(broker, "careline-push", secret) as pusher:
        pusher.publish(push_topic(customer_id), body)
        assert pusher.flush(10)
        assert (pusher.acked, pusher.rejected) == (1, 0)


def test_an_app_hears_its_own_customers_pushes_and_no_one_elses(
    tls_broker: TlsBroker, shoppers: Shoppers
) -> None:
    alice, bob = shoppers.alice, shoppers.bob
    secret_a, secret_b = shoppers.secret_a, shoppers.secret_b
    app_a = App(
        tls_broker, "app-inst-a", secret_a,
        [push_topic(alice), push_topic(bob), "app/#", "#"],
    )  # fmt: skip
    app_b = App(tls_broker, "app-inst-b", secret_b, [push_topic(bob)])
    try:
        push(tls_broker, shoppers.push, alice, b'{"id":"for-alice"}')
        push(tls_broker, shoppers.push, bob, b'{"id":"for-bob"}')
        wait_for(lambda: len(app_b.heard) == 1, 10, "Bob's push at Bob's app")
        wait_for(lambda: len(app_a.heard) >= 1, 10, "Alice's push at Alice's app")
        time.sleep(0.5)
        # Mosquitto 2.0 grants a SUBACK for any filter and checks each message against the
        # ACL at delivery: Alice's app, subscribed to Bob's topic, app/# and #, still hears
        # only her own push (once per matching filter: it was delivered, never Bob's).
        assert {payload for _, payload in app_a.heard} == {b'{"id":"for-alice"}'}
        assert {topic for topic, _ in app_a.heard} == {push_topic(alice)}
        assert app_b.heard == [(push_topic(bob), b'{"id":"for-bob"}')]
    finally:
        app_a.close()
        app_b.close()


def test_an_app_publishes_nothing_and_the_backend_only_sightings(
    tls_broker: TlsBroker, shoppers: Shoppers, database_url: str
) -> None:
    alice = shoppers.alice
    code, out, err = careline(tls_broker, database_url, "broker", "account", "careline-ingest")
    assert code == 0, err
    ingest_secret = issued(out)["careline-ingest"]
    code, out, err = careline(tls_broker, database_url, "broker", "account", "careline-presence")
    assert code == 0, err
    presence_secret = issued(out)["careline-presence"]
    code, out, err = careline(tls_broker, database_url, "broker", "account", "careline-app-backend")
    assert code == 0, err
    backend_secret = issued(out)["careline-app-backend"]
    listener = App(tls_broker, "careline-ingest", ingest_secret, ["dt/#"])
    presence = App(tls_broker, "careline-presence", presence_secret, ["ps/#"])
    try:
        with device(tls_broker, "app-inst-a", shoppers.secret_a) as app_a:
            for topic in (
                "dt/app-inst-a/senml",  # the device pattern dt/%u/# would grant this one
                "dt/FR-000001/senml",
                "ps/inst-a/sightings",
                push_topic(alice),
            ):
                app_a.publish(topic, b"[]")
            assert app_a.flush(10)
            assert (app_a.acked, app_a.rejected) == (0, 4)
        with device(tls_broker, "careline-app-backend", backend_secret) as backend:
            backend.publish("ps/inst-a/sightings", b'{"sightings":[]}')
            backend.publish("dt/FR-000001/senml", b"[]")
            backend.publish(push_topic(alice), b"{}")
            assert backend.flush(10)
            assert (backend.acked, backend.rejected) == (1, 2)
        wait_for(lambda: len(presence.heard) == 1, 10, "the backend's sighting")
        time.sleep(0.5)
        assert listener.heard == []
        assert presence.heard == [("ps/inst-a/sightings", b'{"sightings":[]}')]
    finally:
        listener.close()
        presence.close()


def test_rotation_revocation_and_erasure_take_effect_at_the_reload(
    tls_broker: TlsBroker, shoppers: Shoppers, database_url: str
) -> None:
    old_a, old_b = shoppers.secret_a, shoppers.secret_b
    bob = shoppers.bob
    before = tls_broker.reload_count()
    code, out, err = careline(tls_broker, database_url, "apps", "rotate", "inst-a")
    assert code == 0, err
    new_a = issued(out)["app-inst-a"]
    wait_reloaded(tls_broker, before)
    with pytest.raises(BrokerRefusedError):
        device(tls_broker, "app-inst-a", old_a)
    device(tls_broker, "app-inst-a", new_a).close()
    # Revoked: refused after the reload; revoking again says why.
    before = tls_broker.reload_count()
    code, _, err = careline(tls_broker, database_url, "apps", "revoke", "inst-a")
    assert code == 0, err
    wait_reloaded(tls_broker, before)
    with pytest.raises(BrokerRefusedError):
        device(tls_broker, "app-inst-a", new_a)
    code, _, err = careline(tls_broker, database_url, "apps", "revoke", "inst-a")
    assert (code, "no live credentials" in err) == (1, True)
    # An installation never registered, or provisioned twice, is refused with a reason.
    code, _, err = careline(tls_broker, database_url, "apps", "provision", "nobody")
    assert (code, "no app installation" in err) == (1, True)
    code, _, err = careline(tls_broker, database_url, "apps", "provision", "inst-b")
    assert (code, "already has live credentials" in err) == (1, True)
    for hostile in ("nul\x00byte", "x" * 100_000, "../acl", "a\nuser careline-ingest"):
        code, _, err = careline(tls_broker, database_url, "apps", "provision", hostile)
        assert (code, "is not an app installation id" in err) == (1, True)
        assert len(err) < 300
    # Bob's erasure revokes his app (trigger) and the erasure path rewrites and reloads.
    device(tls_broker, "app-inst-b", old_b).close()
    before = tls_broker.reload_count()
    with psycopg.connect(database_url) as conn:
        with conn.transaction():
            removed = erase_presence(conn, bob)
        assert (removed["app_accounts"], removed["installations"]) == (1, 1)
        revoke_in_broker(conn, broker_settings(tls_broker))
    wait_reloaded(tls_broker, before)
    with pytest.raises(BrokerRefusedError):
        device(tls_broker, "app-inst-b", old_b)
    assert "app-inst-b" not in (tls_broker.folder / "acl").read_text()
    assert f"app/{bob}/" not in (tls_broker.folder / "acl").read_text()
    with psycopg.connect(database_url) as conn:
        events = conn.execute(
            "SELECT username, event, actor FROM broker_account_events "
            "WHERE username LIKE 'app-%' ORDER BY id"
        ).fetchall()
        stored = conn.execute("SELECT broker_accounts::text FROM broker_accounts").fetchall()
    assert events == [
        ("app-inst-a", "issued", "cli"),
        ("app-inst-b", "issued", "cli"),
        ("app-inst-a", "rotated", "cli"),
        ("app-inst-a", "revoked", "cli"),
        ("app-inst-b", "revoked", "erasure"),
    ]
    dump = " ".join(row[0] for row in stored) + tls_broker.password_file.read_text()
    for secret in (old_a, old_b, new_a):
        assert secret not in dump
