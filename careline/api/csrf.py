"""Cross-site request forgery protection for everything a browser's cookie can reach.

asgi-csrf (the double-submit cookie of Datasette, a well-kept library) checks every
request that is not GET, HEAD, OPTIONS or TRACE and carries cookies: a console form must
send the ``csrftoken`` field that its page rendered, and a script calling the API with
the console's session cookie must send the same token in an ``x-csrftoken`` header.
Requests with an API key (``Authorization: Bearer``) or without cookies are not at risk
and pass. The token cookie is signed with the session secret.

File uploads (``multipart/form-data``): asgi-csrf 0.11 reads them with a python-multipart
API that python-multipart 0.0.2x removed (``FormParser(FileClass=...)`` is a TypeError
now), so this wrapper finds the form's ``csrftoken`` field itself, with python-multipart's
streaming parser, and hands it to asgi-csrf as the ``x-csrftoken`` header, which asgi-csrf
then compares with the signed cookie as it does for any form. As asgi-csrf requires, the
token must come before any file in the form; a form without it is refused here with 403.
The body read so far is replayed to the application unchanged.
"""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

from asgi_csrf import DEFAULT_COOKIE_NAME as COOKIE
from asgi_csrf import DEFAULT_SIGNING_NAMESPACE as SIGNING_NAMESPACE
from asgi_csrf import asgi_csrf
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup, escape
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:  # a TypedDict python-multipart declares for type checkers only
    from python_multipart.multipart import MultipartCallbacks

FORM_FIELD = "csrftoken"
HEADER = b"x-csrftoken"


class _Found(Exception):
    """The multipart scan is over: the token (or None: a file came first)."""

    def __init__(self, token: str | None) -> None:
        self.token = token


class _TokenScanner:
    """Callbacks for python-multipart's parser that stop at the ``csrftoken`` field."""

    def __init__(self) -> None:
        self._header = b""
        self._value = b""
        self._disposition = b""
        self._data = b""

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _begin(self) -> None:
        self._disposition = b""
        self._data = b""

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        if self._header.lower() == b"content-disposition":
            self._disposition = self._value
        self._header, self._value = b"", b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"filename" in options:
            raise _Found(None)  # a file before the token

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self._data += data[start:end]
        if len(self._data) > 1024:
            raise _Found(None)  # no token is that long: not ours

    def _part_end(self) -> None:
        _, options = parse_options_header(self._disposition)
        if options.get(b"name") == FORM_FIELD.encode():
            raise _Found(self._data.decode("latin-1"))


async def _scan_multipart(scope: Scope, receive: Receive) -> tuple[str | None, list[Message]]:
    """The form's token (None if a file or the end comes first), and the messages read."""
    content_type = dict(scope["headers"]).get(b"content-type", b"")
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    messages: list[Message] = []
    if not boundary:
        return None, messages
    scanner = _TokenScanner()
    parser = MultipartParser(boundary, scanner.callbacks())
    try:
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return None, messages
            parser.write(message.get("body", b""))
            if not message.get("more_body", False):
                return None, messages
    except _Found as found:
        return found.token, messages
    except ValueError:  # python-multipart's errors for a malformed body
        return None, messages


def _is_multipart_form_post(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS", "TRACE"}:
        return False
    headers = dict(scope["headers"])
    if HEADER in headers or not headers.get(b"cookie"):
        return False
    if headers.get(b"authorization", b"").startswith(b"Bearer "):
        return False
    kind: bytes = headers.get(b"content-type", b"").split(b";", 1)[0].strip()
    return kind == b"multipart/form-data"


class CsrfMiddleware:
    """asgi-csrf as a Starlette middleware class (``app.add_middleware``)."""

    def __init__(self, app: ASGIApp, *, secret: str, secure: bool = True) -> None:
        self._app: Any = asgi_csrf(
            app, signing_secret=secret, cookie_samesite="Lax", cookie_secure=secure
        )
        self._signer = URLSafeSerializer(secret)

    def _genuine(self, scope: Scope, token: str | None) -> bool:
        """The form's token is the signed token of the request's cookie (asgi-csrf's check,
        made here too so that a mismatch never reaches asgi-csrf's broken multipart path)."""
        if not token:
            return False
        cookie = SimpleCookie(dict(scope["headers"]).get(b"cookie", b"").decode("latin-1"))
        morsel = cookie.get(COOKIE)
        if morsel is None or not secrets.compare_digest(morsel.value, token):
            return False
        try:
            self._signer.loads(token, SIGNING_NAMESPACE)
        except BadSignature:
            return False
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_multipart_form_post(scope):
            await self._app(scope, receive, send)
            return
        token, messages = await _scan_multipart(scope, receive)
        if token is None or not self._genuine(scope, token):
            refusal = PlainTextResponse("form's csrftoken is missing, wrong, or after a file", 403)
            await refusal(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        headers = [*scope["headers"], (HEADER, token.encode("latin-1"))]
        await self._app({**scope, "headers": headers}, replay, send)


def csrf_field(request: Request) -> Markup:
    """The hidden form field every console form carries (a Jinja global)."""
    token = str(request.scope[FORM_FIELD]())
    return Markup(f'<input type="hidden" name="{FORM_FIELD}" value="{escape(token)}">')  # noqa: S704
