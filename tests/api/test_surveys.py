"""The satisfaction survey: sent once per ticket, answered once through a signed link
without signing in, refused when the link is changed or expired, scored the standard way."""

from __future__ import annotations

import time
from unittest import mock

import httpx
import psycopg
from itsdangerous import URLSafeTimedSerializer
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from tests.api.conftest import SESSION_SECRET

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def send(client: httpx.Client, agent: dict[str, str], ticket: int) -> dict[str, object]:
    answer = client.post(f"/api/v1/tickets/{ticket}/survey", headers=agent)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def answer_form(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    """Open the form as the customer's browser would (no sign-in), then post it."""
    assert client.get(path).status_code == 200
    return client.post(path, data={"csrftoken": client.cookies["csrftoken"], **fields})


def test_a_customer_answers_once_through_the_link_and_the_ticket_shows_it(
    client: httpx.Client, agent: dict[str, str], viewer: dict[str, str], fleet: dict[str, int]
) -> None:
    sent = send(client, agent, fleet["ticket"])
    again = send(client, agent, fleet["ticket"])
    assert again["id"] == sent["id"]  # one survey per ticket
    path = httpx.URL(str(sent["link"])).path
    with httpx.Client(base_url=str(client.base_url)) as customer:
        form = customer.get(path)
        assert "How did we do?" in form.text
        done = answer_form(customer, path, csat="4", nps="9", comment="Quick \x00and kind")
        assert done.status_code == 200
        assert "Thank you" in done.text
        twice = answer_form_raw(customer, path, csat="1", nps="0")
        assert twice.status_code == 409
    survey = client.get(f"/api/v1/tickets/{fleet['ticket']}/survey", headers=viewer).json()
    assert (survey["csat"], survey["nps"], survey["comment"]) == (4, 9, "Quick and kind")
    ticket = client.get(f"/api/v1/tickets/{fleet['ticket']}", headers=viewer).json()
    assert ticket["survey"]["csat"] == 4
    scores = client.get("/api/v1/surveys/scores", headers=viewer).json()
    assert scores == {"since": None, "responses": 1, "csat_percent": 100, "nps": 100}


def answer_form_raw(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    return client.post(path, data={"csrftoken": client.cookies["csrftoken"], **fields})


def test_changed_expired_and_foreign_links_are_refused(
    client: httpx.Client, agent: dict[str, str], fleet: dict[str, int]
) -> None:
    sent = send(client, agent, fleet["ticket"])
    path = httpx.URL(str(sent["link"])).path
    token = path.rsplit("/", 1)[1]
    tampered = client.get(f"/survey/{token[:-2]}{'AA' if not token.endswith('AA') else 'BB'}")
    assert tampered.status_code == 400
    assert "not valid" in tampered.text
    forged_id = URLSafeTimedSerializer("x" * 40, salt="careline-link:survey").dumps(
        int(str(sent["id"]))
    )
    assert client.get(f"/survey/{forged_id}").status_code == 400
    preferences = URLSafeTimedSerializer(SESSION_SECRET, salt="careline-link:preferences")
    assert client.get(f"/survey/{preferences.dumps(sent['id'])}").status_code == 400
    old = _signed_days_ago(SESSION_SECRET, int(str(sent["id"])), days=31)
    expired = client.get(f"/survey/{old}")
    assert expired.status_code == 410
    assert "expired" in expired.text
    missing = URLSafeTimedSerializer(SESSION_SECRET, salt="careline-link:survey").dumps(999_999)
    assert client.get(f"/survey/{missing}").status_code == 404


def _signed_days_ago(secret: str, value: int, days: int) -> str:
    serializer = URLSafeTimedSerializer(secret, salt="careline-link:survey")
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - days * 86_400):
        return str(serializer.dumps(value))


def test_wrong_answers_are_explained_and_a_post_without_the_form_token_is_refused(
    client: httpx.Client, agent: dict[str, str], fleet: dict[str, int]
) -> None:
    path = httpx.URL(str(send(client, agent, fleet["ticket"])["link"])).path
    with httpx.Client(base_url=str(client.base_url)) as customer:
        wrong = answer_form(customer, path, csat="7", nps="9")
        assert wrong.status_code == 422
        assert "csat must be a whole number from 1 to 5" in wrong.text
        words = answer_form_raw(customer, path, csat="four", nps="9")
        assert words.status_code == 422
        # A browser with cookies must send the form's token; the signed link itself is
        # what a forger lacks, so a post without cookies needs no token.
        with httpx.Client(base_url=str(client.base_url), cookies={"csrftoken": "x"}) as stranger:
            refused = stranger.post(path, data={"csrftoken": "x", "csat": "5"})
        assert refused.status_code == 403
        assert answer_form(customer, path, csat="5", nps="10").status_code == 200
