"""Cross-site request forgery protection for everything a browser's cookie can reach.

asgi-csrf (the double-submit cookie of Datasette, a well-kept library) checks every
request that is not GET, HEAD, OPTIONS or TRACE and carries cookies: a console form must
send the ``csrftoken`` field that its page rendered, and a script calling the API with
the console's session cookie must send the same token in an ``x-csrftoken`` header.
Requests with an API key (``Authorization: Bearer``) or without cookies are not at risk
and pass. The token cookie is signed with the session secret.
"""

from __future__ import annotations

from typing import Any

from asgi_csrf import asgi_csrf
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

FORM_FIELD = "csrftoken"


class CsrfMiddleware:
    """asgi-csrf as a Starlette middleware class (``app.add_middleware``)."""

    def __init__(self, app: ASGIApp, *, secret: str, secure: bool = True) -> None:
        self._app: Any = asgi_csrf(
            app, signing_secret=secret, cookie_samesite="Lax", cookie_secure=secure
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def csrf_field(request: Request) -> Markup:
    """The hidden form field every console form carries (a Jinja global)."""
    token = str(request.scope[FORM_FIELD]())
    return Markup(f'<input type="hidden" name="{FORM_FIELD}" value="{escape(token)}">')  # noqa: S704
