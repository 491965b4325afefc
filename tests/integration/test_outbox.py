"""The outbox end to end on real services: PostgreSQL, an SMTP server over TCP, an HTTP
receiver that verifies webhook signatures, and Mosquitto with an MQTT 5 subscriber."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool
from standardwebhooks import Webhook

from alerts.heads_up import HeadsUp
from careline.bootstrap import event_bus
from careline.scheduler import no_data_check
from crm_core.consent.links import PreferenceLinks
from crm_core.consent.model import ConsentRecord
from crm_core.consent.postgres import PostgresConsentLedger, PostgresConsentUnitOfWork
from crm_core.consent.service import record_changes
from crm_core.kernel.links import LinkSigner
from crm_core.notifications.channels.email import SmtpChannel
from crm_core.notifications.channels.push import MqttPushChannel
from crm_core.notifications.channels.webhook import WebhookChannel
from crm_core.notifications.dispatcher import Dispatcher
from crm_core.notifications.model import Message, OutboxPolicy, message_id
from crm_core.notifications.postgres import PostgresOutbox, claim
from crm_core.notifications.recipients import PostgresRecipients
from crm_core.tickets.postgres import PostgresTicketRepository
from devices.catalog import Catalog
from devices.faults.queries import ticket_diagnosis
from tests.integration.brokers import TestBroker
from tests.integration.conftest import register_devices
from tests.integration.mail import MailServer, free_port, mail_server

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
POLICY = OutboxPolicy(base_delay_s=10, max_delay_s=60, max_attempts=3, lease_s=30, batch=10)
LINKS = PreferenceLinks(LinkSigner("preference-link-secret-for-tests-0123456789"), 3600)
SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0xMjM0NTY3ODkw"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[MailServer]:
    server = mail_server(tmp_path / "mail")
    server.start()
    yield server
    server.stop()


def rows(db: Pool, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with db.connection() as conn:
        return conn.execute(sql, params).fetchall()


def notify(clock: Clock, webhook_url: str | None = None) -> HeadsUp:
    return HeadsUp(
        recipients=lambda uow: PostgresRecipients(uow.connection),
        tickets=lambda uow: PostgresTicketRepository(uow.connection),
        consents=lambda uow: PostgresConsentLedger(uow.connection),
        outbox=lambda uow: PostgresOutbox(uow.connection),
        links=lambda: LINKS,
        diagnosis=lambda uow, ticket_id: ticket_diagnosis(uow.connection, ticket_id),
        public_url="http://careline.test",
        clock=clock,
        webhook_url=webhook_url,
    )


def silent_fridge_ticket(db: Pool, catalog: Catalog, clock: Clock, **kwargs: Any) -> int:
    """A fridge silent for 90 min: the no-data check opens its ticket (and the heads-up)."""
    ids = register_devices(db, ["FR-000001"])
    with db.connection() as conn:
        conn.execute(
            "INSERT INTO device_status (device_id, last_seen_at, last_received_at) "
            "VALUES (%s, %s, %s)",
            (ids["FR-000001"], NOW - timedelta(minutes=90), NOW - timedelta(minutes=90)),
        )
    check = no_data_check(
        db, catalog, event_bus(catalog, clock, notify=notify(clock, **kwargs)), clock
    )
    check()
    check()  # a second run (a redelivery, a restart) adds no second message
    [(customer_id,)] = rows(db, "SELECT id FROM customers")
    return int(customer_id)


def smtp_dispatcher(db: Pool, clock: Clock, port: int) -> Dispatcher:
    channel = SmtpChannel("127.0.0.1", port, "Careline <service@careline.test>", timeout_s=5)
    return Dispatcher(db, {"email": channel}, policy=POLICY, clock=clock)


def enqueue(
    db: Pool,
    customer_id: int,
    key: str,
    *,
    channel: str = "email",
    recipient: str = "owner@example.net",
    purpose: str = "service",
) -> None:
    message = Message(key, customer_id, channel, purpose, recipient, f"Subject {key}", "Body")  # type: ignore[arg-type]
    with db.connection() as conn:
        PostgresOutbox(conn).enqueue(message, NOW)


def test_a_proactive_ticket_sends_its_customer_a_heads_up_by_smtp(
    db: Pool, catalog: Catalog, clock: Clock, smtp: MailServer
) -> None:
    customer_id = silent_fridge_ticket(db, catalog, clock)
    [(key, status, ticket_subject)] = rows(
        db, "SELECT o.idempotency_key, o.status, t.subject FROM outbox o, tickets t"
    )
    assert status == "pending"
    assert smtp_dispatcher(db, clock, smtp.port).drain() == {"sent": 1}
    [mail] = smtp.received()
    assert mail["To"] == "owner@example.net"
    assert mail["Subject"] == "We noticed something on your refrigerator FR-000001"
    assert mail["Message-ID"] == message_id(key)
    body = mail.get_content()
    assert "no data since" in body
    assert "A technician will contact you" in body
    link = body.split("how: ")[1].split()[0]
    assert link.startswith("http://careline.test/preferences/")
    assert LINKS.customer(link.rsplit("/", 1)[1]) == customer_id
    assert rows(db, "SELECT status, attempts, sent_at FROM outbox") == [("sent", 1, NOW)]
    assert ticket_subject.startswith("Refrigerator FR-000001")


def test_a_failed_delivery_is_retried_with_backoff_once_the_server_is_up(
    db: Pool, catalog: Catalog, clock: Clock, tmp_path: Path
) -> None:
    silent_fridge_ticket(db, catalog, clock)
    server = mail_server(tmp_path / "mail", free_port())  # not started: the server is down
    dispatcher = smtp_dispatcher(db, clock, server.port)
    assert dispatcher.run_once() == {"retry": 1}
    [(status, attempts, due, error)] = rows(
        db, "SELECT status, attempts, next_attempt_at, last_error FROM outbox"
    )
    assert (status, attempts, due) == ("pending", 1, NOW + timedelta(seconds=10))
    assert "SMTP server 127.0.0.1" in error
    assert dispatcher.run_once() == {}  # not due yet
    server.start()
    try:
        clock.at = NOW + timedelta(seconds=10)
        assert dispatcher.run_once() == {"sent": 1}
        assert len(server.received()) == 1
    finally:
        server.stop()
    assert rows(db, "SELECT status, attempts, last_error FROM outbox") == [("sent", 2, None)]


def test_a_server_that_stays_down_fails_the_message_after_max_attempts(
    db: Pool, catalog: Catalog, clock: Clock
) -> None:
    silent_fridge_ticket(db, catalog, clock)
    dispatcher = smtp_dispatcher(db, clock, free_port())
    outcomes = []
    for _ in range(POLICY.max_attempts):
        outcomes.append(dispatcher.run_once())
        clock.at += timedelta(seconds=POLICY.max_delay_s)
    assert outcomes == [{"retry": 1}, {"retry": 1}, {"failed": 1}]
    assert rows(db, "SELECT status, attempts FROM outbox") == [("failed", 3)]


def test_a_dispatcher_that_dies_after_claiming_is_taken_over_after_the_lease(
    db: Pool, catalog: Catalog, clock: Clock, smtp: MailServer
) -> None:
    silent_fridge_ticket(db, catalog, clock)
    channel = SmtpChannel("127.0.0.1", smtp.port, "service@careline.test")
    with db.connection() as conn:  # the first dispatcher claims and commits ...
        [claimed] = claim(conn, NOW, POLICY.lease_s, 10)
    channel.send(claimed)  # ... sends, and dies before it can record that it did
    dispatcher = smtp_dispatcher(db, clock, smtp.port)
    assert dispatcher.run_once() == {}  # the lease still holds
    clock.at = NOW + timedelta(seconds=POLICY.lease_s)
    assert dispatcher.run_once() == {"sent": 1}
    first, second = smtp.received()
    # At least once: the receiver sees the same Message-ID twice and can drop the copy.
    assert (
        first["Message-ID"] == second["Message-ID"] == message_id(claimed.message.idempotency_key)
    )
    assert rows(db, "SELECT status, attempts FROM outbox") == [("sent", 2)]


def test_consent_withdrawn_between_enqueue_and_send_suppresses_the_message(
    db: Pool, catalog: Catalog, clock: Clock, smtp: MailServer
) -> None:
    customer_id = silent_fridge_ticket(db, catalog, clock)
    with db.connection() as conn:
        [withdrawn] = record_changes(
            PostgresConsentUnitOfWork(conn),
            customer_id,
            [
                ConsentRecord(
                    None,
                    customer_id,
                    "withdraw",
                    "service",
                    "email",
                    "preference_page",
                    "v1",
                    "customer",
                    NOW,
                )
            ],
            NOW,
        )
    assert smtp_dispatcher(db, clock, smtp.port).drain() == {"suppressed": 1}
    assert smtp.received() == []
    [(status, reason)] = rows(db, "SELECT status, last_error FROM outbox")
    assert status == "suppressed"
    assert reason == f"the customer withdrew service by email (consent record #{withdrawn.id})"


def test_a_customer_who_withdrew_before_the_ticket_gets_a_suppressed_row_not_a_mail(
    db: Pool, catalog: Catalog, clock: Clock
) -> None:
    register_devices(db, [])
    with db.connection() as conn:
        customer_id = conn.execute(
            "INSERT INTO customers (kind, name, email) "
            "VALUES ('person', 'Ada', 'ada@example.net') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        record_changes(
            PostgresConsentUnitOfWork(conn),
            customer_id,
            [
                ConsentRecord(
                    None, customer_id, "withdraw", "service", "email", "api", "v1", "agent", NOW
                )
            ],
            NOW,
        )
        message = Message("k1", customer_id, "email", "service", "ada@example.net")
        assert PostgresOutbox(conn).enqueue(message, NOW, suppressed="withdrawn")
        assert not PostgresOutbox(conn).enqueue(message, NOW)  # same key: nothing added
    assert rows(db, "SELECT status FROM outbox") == [("suppressed",)]


def test_two_dispatchers_on_the_same_rows_send_each_message_once(
    db: Pool, clock: Clock, smtp: MailServer
) -> None:
    register_devices(db, ["FR-1"])
    customer_id = int(rows(db, "SELECT id FROM customers")[0][0])
    keys = [f"bulk/{n}" for n in range(40)]
    for key in keys:
        enqueue(db, customer_id, key)
    results: list[Any] = []

    def run() -> None:
        results.append(smtp_dispatcher(db, clock, smtp.port).drain())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = [mail["Message-ID"] for mail in smtp.received()]
    assert sorted(ids) == sorted(message_id(k) for k in keys)  # every one, none twice
    assert sum(r["sent"] for r in results) == 40
    assert all(r["sent"] > 0 for r in results), "both dispatchers took a share"
    assert rows(db, "SELECT DISTINCT status, attempts FROM outbox") == [("sent", 1)]


class Receiver(BaseHTTPRequestHandler):
    """A customer's webhook endpoint: verifies the signature, answers 204 or 401."""

    received: ClassVar[list[tuple[dict[str, str], Any]]] = []
    refused: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            payload = Webhook(SECRET).verify(body, headers)
        except Exception as exc:
            type(self).refused.append(str(exc))
            self.send_response(401)
            self.end_headers()
            return
        type(self).received.append((headers, payload))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_webhook_arrives_signed_and_the_receiver_verifies_it(
    db: Pool, catalog: Catalog, clock: Clock
) -> None:
    Receiver.received, Receiver.refused = [], []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks/careline"
    try:
        silent_fridge_ticket(db, catalog, clock, webhook_url=url)
        real_clock = lambda: datetime.now(UTC)  # noqa: E731 - the receiver checks the timestamp
        dispatcher = Dispatcher(
            db, {"webhook": WebhookChannel(SECRET, real_clock)}, policy=POLICY, clock=clock
        )
        outcomes = dispatcher.drain()
        wrong = WebhookChannel("whsec_" + "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==", real_clock)
        enqueue(
            db,
            rows(db, "SELECT id FROM customers")[0][0],
            "forged",
            channel="webhook",
            recipient=url,
        )
        forged = Dispatcher(db, {"webhook": wrong}, policy=POLICY, clock=clock).drain()
    finally:
        server.shutdown()
        server.server_close()
    assert outcomes["sent"] == 1  # the e-mail row has no channel here and fails
    [(headers, payload)] = Receiver.received
    assert headers["webhook-id"] == "ticket/1/heads-up/webhook"
    assert payload["type"] == "ticket.heads_up"
    assert payload["data"]["ticket_id"] == 1
    assert forged == {"failed": 1}  # 401 from the receiver: permanent
    assert Receiver.refused == ["No matching signature found"]


def test_a_push_reaches_the_app_topic_with_an_mqtt5_expiry(
    db: Pool, clock: Clock, broker: TestBroker
) -> None:
    register_devices(db, ["FR-1"])
    customer_id = int(rows(db, "SELECT id FROM customers")[0][0])
    got: list[mqtt.MQTTMessage] = []
    arrived = threading.Event()
    subscribed = threading.Event()
    app = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="the-app", protocol=mqtt.MQTTv5)
    app.on_connect = lambda c, u, f, r, p: c.subscribe(f"app/{customer_id}/notifications", qos=1)
    app.on_subscribe = lambda c, u, m, r, p: subscribed.set()

    def on_message(client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        got.append(message)
        arrived.set()

    app.on_message = on_message
    app.connect("127.0.0.1", broker.port)
    app.loop_start()
    push = MqttPushChannel("127.0.0.1", broker.port, clock=clock, default_ttl_s=3600)
    try:
        assert subscribed.wait(10)
        with db.connection() as conn:
            PostgresOutbox(conn).enqueue(
                Message(
                    "push/1",
                    customer_id,
                    "push",
                    "service",
                    "app",
                    "Title",
                    "Body",
                    {"type": "ticket.heads_up", "ticket_id": 5},
                ),
                NOW,
            )
        dispatcher = Dispatcher(db, {"push": push}, policy=POLICY, clock=clock)
        assert dispatcher.drain() == {"sent": 1}
        assert arrived.wait(10)
    finally:
        push.close()
        app.loop_stop()
        app.disconnect()
    [message] = got
    assert message.topic == f"app/{customer_id}/notifications"
    expiry = message.properties.MessageExpiryInterval  # type: ignore[union-attr]
    assert 3590 <= expiry <= 3600
    payload = json.loads(message.payload)
    assert payload["id"] == "push/1"
    assert payload["expires_at"] == (NOW + timedelta(seconds=3600)).isoformat()
    assert payload["data"]["ticket_id"] == 5


def test_the_heads_up_rolls_back_with_its_ticket(db: Pool, catalog: Catalog, clock: Clock) -> None:
    """Written in the ticket's transaction: a batch that fails leaves neither behind."""
    from crm_core.kernel.uow import PostgresUnitOfWork
    from devices.faults.no_data import no_data_events
    from devices.faults.postgres import silences

    ids = register_devices(db, ["FR-000001"])
    with db.connection() as conn:
        conn.execute(
            "INSERT INTO device_status (device_id, last_seen_at, last_received_at) "
            "VALUES (%s, %s, %s)",
            (ids["FR-000001"], NOW - timedelta(minutes=90), NOW - timedelta(minutes=90)),
        )
    bus = event_bus(catalog, clock, notify=notify(clock))
    with db.connection() as conn, PostgresUnitOfWork(conn) as uow:
        handled = bus.publish(no_data_events(silences(conn), catalog, NOW.timestamp()), uow)
        assert any(type(e).__name__ == "TicketOpened" for e in handled)
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
        # no commit: the batch failed after the handlers ran
    assert rows(db, "SELECT count(*) FROM tickets") == [(0,)]
    assert rows(db, "SELECT count(*) FROM outbox") == [(0,)]
