"""The outermost middleware: security headers on every answer, and refusals at the door.

* Every response gets a Content-Security-Policy (scripts and styles from this origin only;
  plotly's inline styles allowed), ``frame-ancestors 'none'`` and ``X-Frame-Options:
  DENY``, ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` (survey
  links carry a signed token in their path), and HSTS when the setting asks for it.
* A path or query string with U+0000 is refused (400) before any route sees it:
  PostgreSQL's text cannot hold it.
* A body over the limit is refused (413): at once when its Content-Length says so, and as
  soon as a streamed body passes it.

Pure ASGI (no BaseHTTPMiddleware), so streaming answers pass through untouched.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from careline.api.errors import error_response

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # plotly and Swagger UI set inline styles
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class GuardMiddleware:
    """Security headers, U+0000 refusal and the body size limit (see the module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        hsts_max_age_s: int = 0,
        upload_paths: tuple[str, ...] = (),
        max_upload_bytes: int = 0,
    ) -> None:
        self._app = app
        self._limit = max_body_bytes
        # Paths that take file uploads (the CSV import) have a limit of their own.
        self._upload_paths = upload_paths
        self._upload_limit = max(max_upload_bytes, max_body_bytes)
        headers = list(BASE_HEADERS)
        if hsts_max_age_s > 0:
            value = f"max-age={hsts_max_age_s}; includeSubDomains"
            headers.append((b"strict-transport-security", value.encode()))
        self._headers = tuple(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in self._headers if n not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        limit = self._limit
        if self._upload_paths and str(scope["path"]).startswith(self._upload_paths):
            limit = self._upload_limit
        refusal = self._refusal(scope, limit)
        if refusal is not None:
            status, code, detail = refusal
            await error_response(status, code, detail)(scope, receive, send_with_headers)
            return
        await self._app(scope, self._counting(receive, limit), send_with_headers)

    def _refusal(self, scope: Scope, limit: int) -> tuple[int, str, str] | None:
        query = bytes(scope.get("query_string", b"")).lower()
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            return 400, "invalid_request", "U+0000 (NUL) is not allowed in paths or parameters"
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                if not value.isdigit():
                    return 400, "invalid_request", "Content-Length is not a number"
                if int(value) > limit:
                    return 413, "body_too_large", f"the body is larger than {limit} bytes"
        return None

    def _counting(self, receive: Receive, limit: int) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return counted
