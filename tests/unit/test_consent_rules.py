"""The consent ledger's rules, the outbox's backoff, and the signatures customers' systems check."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from crm_core.consent.links import PreferenceLinks
from crm_core.consent.model import ConsentError, ConsentRecord, check_change, decide
from crm_core.kernel.links import BadLinkError, LinkExpiredError, LinkSigner
from crm_core.notifications.channels.email import IDEMPOTENCY_HEADER, build_email
from crm_core.notifications.channels.webhook import signed_headers
from crm_core.notifications.model import Message, OutboxPolicy, OutboxRow, backoff, message_id

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def rec(n: int, action: Any, purpose: Any = None, channel: Any = None) -> ConsentRecord:
    return ConsentRecord(
        n,
        7,
        action,
        purpose,
        channel,
        "api",
        "v1",
        "agent",
        AT + timedelta(minutes=n),
    )


def test_defaults_safety_always_service_unless_withdrawn_marketing_opt_in() -> None:
    assert decide([], "safety", "sms").allowed
    assert decide([], "service", "email").allowed
    assert not decide([], "marketing", "email").allowed
    assert not decide([], "location_marketing", "push").allowed
    withdrawn = decide([rec(1, "withdraw", "service", "email")], "service", "email")
    assert (withdrawn.allowed, withdrawn.record and withdrawn.record.id) == (False, 1)
    assert decide([rec(1, "withdraw", "service", "email")], "service", "push").allowed


def test_an_objection_overrides_every_marketing_grant_until_lifted() -> None:
    ledger = [
        rec(1, "grant", "marketing", "email"),
        rec(2, "grant", "location_marketing", "push"),
        rec(3, "object"),
        rec(4, "grant", "marketing", "email"),  # granted again after objecting: still objected
    ]
    for purpose, channel in (("marketing", "email"), ("location_marketing", "push")):
        decision = decide(ledger, purpose, channel)  # type: ignore[arg-type]
        assert not decision.allowed
        assert decision.record is not None
        assert decision.record.id == 3
    assert decide(ledger, "service", "email").allowed  # an objection is about marketing only
    ledger.append(rec(5, "lift_objection"))
    assert decide(ledger, "marketing", "email").allowed
    assert not decide(ledger, "location_marketing", "email").allowed  # never granted there


def test_safety_cannot_be_withdrawn_and_an_objection_names_no_channel() -> None:
    with pytest.raises(ConsentError, match="cannot be switched off"):
        check_change(rec(1, "withdraw", "safety", "email"))
    with pytest.raises(ConsentError, match="every purpose and channel"):
        check_change(rec(1, "object", "marketing", "email"))


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = OutboxPolicy(base_delay_s=1, max_delay_s=5, max_attempts=4)
    assert [backoff(n, policy) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def outbox_row(key: str = "ticket/9/heads-up") -> OutboxRow:
    message = Message(key, 7, "email", "service", "amelie@example.net", "Hello", "Body")
    return OutboxRow(1, message, "sending", 1, AT, AT, None, AT, None)


def test_the_message_id_comes_from_the_idempotency_key() -> None:
    email = build_email(outbox_row(), "Service <s@example.org>")
    assert email["Message-ID"] == message_id("ticket/9/heads-up")
    assert email["Message-ID"] == build_email(outbox_row(), "x@example.org")["Message-ID"]
    assert email[IDEMPOTENCY_HEADER] == "ticket/9/heads-up"
    assert message_id("a b<c>@d") == "<a.b.c..d@careline.notifications>"


def test_webhook_signature_matches_the_standard_webhooks_test_vector() -> None:
    # The specification's example: secret, id, timestamp and body -> this exact signature.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    at = datetime.fromtimestamp(1614265330, UTC)
    headers = signed_headers(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", at, b'{"test": 2432232314}')
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers["webhook-timestamp"] == "1614265330"


def test_a_fresh_webhook_verifies_and_a_changed_body_does_not() -> None:
    secret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"
    body = b'{"type":"ticket.heads_up"}'
    headers = signed_headers(secret, "ticket/1/heads-up", datetime.now(UTC), body)
    assert Webhook(secret).verify(body, headers) == {"type": "ticket.heads_up"}
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(body + b" ", headers)


def test_preference_links_refuse_tampering_age_and_other_purposes() -> None:
    links = PreferenceLinks(LinkSigner("s" * 40), max_age_s=60)
    token = links.token(42)
    assert links.customer(token) == 42
    with pytest.raises(BadLinkError):
        PreferenceLinks(LinkSigner("t" * 40), max_age_s=60).customer(token)  # another key
    with pytest.raises(BadLinkError):
        links.customer(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(BadLinkError):
        links.customer(LinkSigner("s" * 40).sign("survey", 42))  # a survey link
    stale = PreferenceLinks(LinkSigner("s" * 40), max_age_s=1)
    old = stale.token(42)
    time.sleep(2.1)
    with pytest.raises(LinkExpiredError):
        stale.customer(old)
