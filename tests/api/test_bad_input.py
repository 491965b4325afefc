"""Bad input gets a clean 4xx in the ErrorBody shape, never a 500; every answer carries
the security headers; /docs works offline."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.api.app import create_app
from careline.api.context import AppContext
from careline.settings import ApiSettings, Settings
from crm_core.auth.users import create_user
from tests.api.conftest import SESSION_SECRET
from tests.api.server import serve

BIG = str(2**70)


def _refused(answer: httpx.Response, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert isinstance(body, dict)
    assert isinstance(body["error"], str)
    assert isinstance(body["detail"], str)
    return body


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/customers?offset={BIG}",
        f"/api/v1/tickets?offset={BIG}",
        f"/api/v1/tickets?customer_id={BIG}",
        f"/api/v1/devices?customer_id={BIG}",
        f"/api/v1/customers/{BIG}",
        f"/api/v1/tickets/{BIG}",
        f"/api/v1/faults/{BIG}",
        f"/api/v1/dead-letters/{BIG}",
        "/api/v1/tickets/-5",
        f"/api/v1/tickets/{BIG}/survey",
    ],
)
def test_integers_beyond_64_bits_are_refused(
    client: httpx.Client, admin: dict[str, str], path: str
) -> None:
    body = _refused(client.get(path, headers=admin), 422)
    assert body["error"] == "invalid_request"
    problems = body["problems"]
    assert isinstance(problems, list)
    assert problems


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/devices/RF%00-1",
        "/api/v1/devices/RF-1/readings?metric=a%00b",
        "/api/v1/faults?device=%00",
        "/api/v1/dead-letters?reason=x%00",
        "/console/devices/RF%00",
    ],
)
def test_nul_in_paths_and_parameters_is_refused(
    client: httpx.Client, admin: dict[str, str], path: str
) -> None:
    body = _refused(client.get(path, headers=admin), 400)
    assert "NUL" in str(body["detail"])


@pytest.mark.parametrize(
    "body",
    [
        b'{"status": NaN}',
        b'{"status": "assigned", "comment": 1e400}',
        b'{"status": Infinity}',
        b'{"status": "assigned", "comment": -Infinity}',
        b'{"status": "assigned", "comment": "' + b"x" * 5000 + b'"}',
        b'{"status": 1e400}',
        b"[1, 2",
        b'"just a string"',
    ],
)
def test_strange_json_gets_a_422_that_serialises(
    client: httpx.Client, agent: dict[str, str], fleet: dict[str, int], body: bytes
) -> None:
    headers = {**agent, "content-type": "application/json"}
    answer = client.patch(f"/api/v1/tickets/{fleet['ticket']}", content=body, headers=headers)
    problem = _refused(answer, 422)
    assert problem["error"] == "invalid_request"


def test_console_pages_refuse_huge_offsets(
    client: httpx.Client, db: ConnectionPool[psycopg.Connection[TupleRow]]
) -> None:
    with db.connection() as conn:
        create_user(
            conn, email="a@example.com", name="A", role="admin", password="correct horse battery"
        )
    signed = client.post(
        "/console/sign-in", data={"email": "a@example.com", "password": "correct horse battery"}
    )
    assert signed.status_code == 303
    for page in ("/console/tickets", "/console/dead-letters", "/console/product-issues"):
        assert client.get(f"{page}?offset={BIG}").status_code == 422, page
        assert client.get(f"{page}?offset=-3").status_code == 200, page


def test_nul_inside_a_json_string_is_refused(
    client: httpx.Client, agent: dict[str, str], fleet: dict[str, int]
) -> None:
    answer = client.post(
        f"/api/v1/tickets/{fleet['ticket']}/comments",
        json={"comment": "before\u0000after"},
        headers=agent,
    )
    _refused(answer, 400)


def test_huge_bodies_are_refused(client: httpx.Client, admin: dict[str, str]) -> None:
    huge = b'{"ids": [' + b"1," * 600_000 + b"1]}"
    answer = client.post(
        "/api/v1/dead-letters/replay",
        content=huge,
        headers={**admin, "content-type": "application/json"},
    )
    assert _refused(answer, 413)["error"] == "body_too_large"

    def chunks() -> Iterator[
        bytes
    ]:  # no Content-Length: the limit is counted as the body streams in
        for _ in range(40):
            yield b" " * 65536

    streamed = client.post(
        "/api/v1/dead-letters/replay",
        content=chunks(),
        headers={**admin, "content-type": "application/json"},
    )
    assert _refused(streamed, 413)["error"] == "body_too_large"


SECURITY_HEADERS = (
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
)


def test_every_answer_carries_the_security_headers(
    client: httpx.Client, viewer: dict[str, str]
) -> None:
    answers = [
        client.get("/healthz"),
        client.get("/api/v1/tickets", headers=viewer),
        client.get("/api/v1/tickets"),  # 401
        client.get("/api/v1/nothing-here", headers=viewer),  # 404
        client.get("/api/v1/tickets?offset=-1", headers=viewer),  # 422
        client.get("/api/v1/tickets?offset=%00", headers=viewer),  # 400 at the door
        client.get("/console/sign-in"),
        client.get("/console/tickets"),  # redirect
        client.get("/static/vendor/plotly.min.js"),
        client.get("/docs"),
        client.get("/openapi.json"),
    ]
    for answer in answers:
        for name in SECURITY_HEADERS:
            assert name in answer.headers, (answer.url, name)
        assert "strict-transport-security" not in answer.headers
    csp = answers[0].headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-eval" not in csp
    assert answers[0].headers["x-frame-options"] == "DENY"
    assert answers[0].headers["x-content-type-options"] == "nosniff"


def test_hsts_is_sent_when_the_setting_asks(context: AppContext) -> None:
    api = ApiSettings(session_secret=SESSION_SECRET, hsts_max_age_s=31_536_000)
    ctx = AppContext(
        settings=Settings(api=api),
        pool=context.pool,
        catalog=context.catalog,
        capabilities=context.capabilities,
    )
    with serve(create_app(ctx)) as url:
        answer = httpx.get(f"{url}/healthz")
    assert answer.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_docs_are_served_from_this_server(client: httpx.Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from elsewhere
    for asset in (
        "/docs-assets/swagger-ui-bundle.js",
        "/docs-assets/swagger-ui.css",
        "/static-api/docs-start.js",
    ):
        assert asset in page.text
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert len(answer.content) > 200
    assert "SwaggerUIBundle" in client.get("/static-api/docs-start.js").text
