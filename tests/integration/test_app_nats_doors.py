"""Shopper apps' accounts on the scale-out broker: nats-server's MQTT gateway over TLS with
the users file careline writes (CARELINE_BROKER__KIND=nats).

An app account's NATS permissions: subscribe to its customer's ``app.<id>.notifications``,
publish nothing. It subscribes at QoS 0: QoS 1 on the NATS gateway needs the
``$MQTT.sub.>`` delivery subjects, which would let an app read other sessions' deliveries,
so apps are not given them (README, "Broker credentials and TLS").
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from crm_core.notifications.channels.push import push_topic
from tests.integration.conftest import Pool
from tests.integration.harness import wait_for
from tests.integration.test_app_doors import App
from tests.integration.test_broker_doors import issued
from tests.integration.test_nats_doors import TlsNats, careline, device

pytestmark = pytest.mark.integration


def test_on_nats_an_app_reads_its_own_customers_pushes_only_and_publishes_nothing(
    db: Pool, database_url: str
) -> None:
    now = datetime.now(UTC)
    with db.connection() as conn:
        alice, bob = (
            conn.execute(
                "INSERT INTO customers (kind, name, email) VALUES ('person', %s, %s) RETURNING id",
                (name, f"{name.lower()}@example.net"),
            ).fetchone()[0]  # type: ignore[index]
            for name in ("Alice", "Bob")
        )
        for installation, customer_id in (("inst-a", alice), ("inst-b", bob)):
            conn.execute(
                "INSERT INTO presence_installations (id, customer_id, registered_at) "
                "VALUES (%s, %s, %s)",
                (installation, customer_id, now),
            )
    nats = TlsNats()
    try:
        code, out, err = careline(nats, database_url, "broker", "account", "careline-push")
        assert code == 0, err
        push_secret = issued(out)["careline-push"]
        code, out, err = careline(nats, database_url, "apps", "provision", "inst-a", "inst-b")
        assert code == 0, err
        secrets = issued(out)
        nats.server.start()
        accounts = {}
        for service in ("careline-ingest", "careline-presence"):
            code, out, err = careline(nats, database_url, "broker", "account", service)
            assert code == 0, err
            accounts[service] = issued(out)[service]
        nats.server.stop()  # nats-server reads its users at start (a restart, not SIGHUP)
        nats.server.start()
        app_a = App(
            nats, "app-inst-a", secrets["app-inst-a"],
            [push_topic(alice), push_topic(bob), "app/#"], qos=0,
        )  # fmt: skip
        ingest = App(nats, "careline-ingest", accounts["careline-ingest"], ["dt/#"], qos=0)
        presence = App(nats, "careline-presence", accounts["careline-presence"], ["ps/#"], qos=0)
        try:
            # Its own topic is granted; Bob's and app/# are refused at the SUBACK.
            assert app_a.granted == [0, 128, 128]
            with device(nats, "careline-push", push_secret) as pusher:
                pusher.publish(push_topic(alice), b'{"id":"for-alice"}')
                pusher.publish(push_topic(bob), b'{"id":"for-bob"}')
                assert pusher.flush(10)
            wait_for(lambda: len(app_a.heard) >= 1, 10, "Alice's push through NATS")
            # The app publishes nothing: not under dt/ (ingest hears nothing), not a sighting
            # (presence hears nothing), not to its own push topic (it hears only the push).
            with device(nats, "app-inst-a", secrets["app-inst-a"]) as app:
                app.publish("dt/app-inst-a/senml", b"[]")
                app.publish("ps/inst-a/sightings", b"[]")
                app.publish(push_topic(alice), b"{}")
                assert app.flush(10)
            # A publish that is allowed gets through in the meantime: the listeners listen.
            with device(nats, "careline-push", push_secret) as pusher:
                pusher.publish(push_topic(alice), b'{"id":"again"}')
                assert pusher.flush(10)
            wait_for(lambda: len(app_a.heard) >= 2, 10, "the second push")
            time.sleep(0.5)
            assert app_a.heard == [
                (push_topic(alice), b'{"id":"for-alice"}'),
                (push_topic(alice), b'{"id":"again"}'),
            ]
            assert ingest.heard == []
            assert presence.heard == []
        finally:
            for client in (app_a, ingest, presence):
                client.close()
    finally:
        nats.server.close()
