"""The console's record forms and import over HTTP: CSRF refusal, errors next to the
fields, roles, and the customer panel on the ticket page."""

from __future__ import annotations

import re

import httpx
import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from tests.api.test_console_actions import signed_in

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def test_a_form_without_its_csrf_token_is_refused(client: httpx.Client, db: Pool) -> None:
    signed_in(client, db, "agent")
    forged = client.post("/console/customers/new", data={"kind": "person", "name": "Eve"})
    assert forged.status_code == 403
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (0,)


def test_an_agent_creates_a_customer_and_sees_the_errors_next_to_the_fields(
    client: httpx.Client, db: Pool
) -> None:
    token = signed_in(client, db, "agent")
    form = {"csrftoken": token, "kind": "person", "name": "Zoë", "email": "zoe@", "phone": "0"}
    refused = client.post("/console/customers/new", data=form)
    assert refused.status_code == 422
    page = refused.text
    assert 'id="e-email"' in page
    assert "not an e-mail address" in page
    assert 'id="e-phone"' in page
    assert "international form" in page
    assert 'value="Zoë"' in page  # what was typed is kept
    form |= {"email": "zoe@example.org", "phone": "+33 6 12 34 56 78"}
    created = client.post("/console/customers/new", data=form)
    assert created.status_code == 303
    customer_url = created.headers["location"].split("?")[0]
    shown = client.get(created.headers["location"]).text
    assert "+33612345678" in shown
    assert 'id="saved"' in shown
    customer_id = int(customer_url.rsplit("/", 1)[1])
    site = client.post(
        f"/console/customers/{customer_id}/sites/new",
        data={"csrftoken": token, "label": "Flat", "address": "3 rue X, Paris"},
    )
    assert site.status_code == 303
    device = {
        "csrftoken": token,
        "serial": "FR-123456",
        "device_type": "refrigerator",
        "model": "AquaSpin AS-714",
        "installed_on": "2026-01-05",
    }
    wrong = client.post(f"/console/customers/{customer_id}/devices/new", data=device)
    assert wrong.status_code == 422
    assert "not a refrigerator model" in wrong.text
    device["model"] = "CoolFrost CF-300"
    assert (
        client.post(f"/console/customers/{customer_id}/devices/new", data=device).status_code == 303
    )
    contract = {
        "csrftoken": token,
        "reference": "SC-1",
        "tier": "basic",
        "starts_on": "2026-02-01",
        "ends_on": "2026-01-01",
    }
    backwards = client.post(f"/console/customers/{customer_id}/contracts/new", data=contract)
    assert backwards.status_code == 422
    assert "is before starts_on" in backwards.text
    page = client.get(customer_url).text
    assert "FR-123456" in page
    assert "Flat" in page
    assert page.count('class="badge">record</span>') >= 3  # the timeline has the changes


def test_viewers_get_no_forms(client: httpx.Client, db: Pool) -> None:
    token = signed_in(client, db, "viewer")
    assert client.get("/console/customers/new").status_code == 403
    answer = client.post("/console/customers/new", data={"csrftoken": token, "kind": "person"})
    assert answer.status_code == 403
    assert "New customer" not in client.get("/console/customers").text


def test_an_admin_imports_a_csv_and_downloads_the_report(client: httpx.Client, db: Pool) -> None:
    token = signed_in(client, db, "admin")
    body = b"kind,name,email\nperson,Ann,ann@example.org\nperson,Bo,bo@\n"
    answer = client.post(
        "/console/imports",
        data={"csrftoken": token, "kind": "customers"},
        files={"file": ("people.csv", body, "text/csv")},
    )
    assert answer.status_code == 303, answer.text
    page = client.get(answer.headers["location"]).text
    assert re.search(r'id="count-created">1<', page)
    assert re.search(r'id="count-rejected">1<', page)
    link = re.search(r'href="(/api/v1/imports/\d+/rejected.csv)"', page)
    assert link is not None
    report = client.get(link.group(1))
    assert report.status_code == 200
    assert "3,email" in report.text
    bad = client.post(
        "/console/imports",
        data={"csrftoken": token, "kind": "customers"},
        files={"file": ("x.csv", b"name\nAnn\n", "text/csv")},
    )
    assert bad.status_code == 400
    assert "missing column(s): kind" in bad.text


def test_the_ticket_page_shows_the_customer_panel(
    client: httpx.Client, db: Pool, fleet: dict[str, int]
) -> None:
    signed_in(client, db, "viewer")
    page = client.get(f"/console/tickets/{fleet['ticket']}").text
    assert 'id="customer-panel"' in page
    assert "+33 4 72 10 20 31" in page
    assert "in warranty" in page
    assert "WM-1" in page  # the customer's other device


def test_an_upload_without_its_token_or_with_the_file_first_is_refused(
    client: httpx.Client, db: Pool
) -> None:
    token = signed_in(client, db, "admin")
    body = b"kind,name,email\nperson,Ann,ann@example.org\n"
    files = {"file": ("people.csv", body, "text/csv")}
    forged = client.post("/console/imports", data={"kind": "customers"}, files=files)
    assert forged.status_code == 403
    wrong = client.post(
        "/console/imports", data={"csrftoken": "x" + token, "kind": "customers"}, files=files
    )
    assert wrong.status_code == 403
    boundary = "b0undary"
    file_first = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\nkind,name\r\nperson,A\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrftoken"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\ncustomers\r\n'
        f"--{boundary}--\r\n"
    )
    answer = client.post(
        "/console/imports",
        content=file_first.encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert answer.status_code == 403
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (0,)
