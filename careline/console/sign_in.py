"""The console's sign-in and sign-out (``/console/sign-in``, ``/console/sign-out``).

Sign-in goes through :class:`careline.api.signin.SignInGate`: a locked account or address
is refused (429, Retry-After) before any password is checked, the password is checked on
the gate's own bounded threads with no database connection held, and a success starts a
server-side session whose random id is all the cookie carries. Sign-out ends that session
in the database, so a copy of the cookie is refused afterwards.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRouter
from fastapi.templating import Jinja2Templates

from careline.api.context import AppContext
from careline.api.deps import SESSION_ID, Context, session_policy
from careline.api.signin import SignInGate
from crm_core.auth.sessions import end_session, start_session
from crm_core.auth.users import Credentials, find_credentials, normalise_email, rehash_if_needed

PREFIX = "/console"
SIGN_IN = f"{PREFIX}/sign-in"
HOME = f"{PREFIX}/tickets"


def safe_next(target: str | None) -> str:
    """Only paths inside the console: never an open redirect."""
    if target and target.startswith(f"{PREFIX}/") and not target.startswith("//"):
        return target
    return HOME


def install_sign_in(app: FastAPI, templates: Jinja2Templates) -> None:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    def render(request: Request, status_code: int = 200, **values: object) -> HTMLResponse:
        context = {"user": None, **values}
        return templates.TemplateResponse(request, "sign_in.html", context, status_code=status_code)

    @router.get("/sign-in")
    def sign_in_form(request: Request, next: str | None = None) -> HTMLResponse:
        return render(request, next=safe_next(next), error=None)

    @router.post("/sign-in")
    async def sign_in(
        request: Request,
        context: Context,
        email: Annotated[str, Form(max_length=254)],
        password: Annotated[str, Form(max_length=1024)],
        next: Annotated[str, Form(max_length=2000)] = HOME,
    ) -> Response:
        gate = request.app.state.sign_in
        assert isinstance(gate, SignInGate)
        account = email.strip().lower()
        address = request.client.host if request.client else ""

        def refuse(status: int, error: str, headers: dict[str, str] | None = None) -> Response:
            page = render(
                request, status_code=status, next=safe_next(next), error=error, email=email
            )
            page.headers.update(headers or {})
            return page

        refusal = gate.busy() or gate.attempt(account, address)
        if refusal is not None:
            retry = {"Retry-After": str(refusal.retry_after_s)}
            return refuse(refusal.status, refusal.message, retry)
        found = await run_in_threadpool(_credentials, context, email)
        if not await gate.check(found, password):  # no connection held meanwhile
            gate.failed(address)
            return refuse(401, "Wrong e-mail or password.")
        assert found is not None
        gate.succeeded(account)
        agent = request.headers.get("user-agent", "")
        token = await run_in_threadpool(_start, context, found, password, address, agent)
        request.session.clear()
        request.session[SESSION_ID] = token
        return RedirectResponse(safe_next(next), status_code=303)

    @router.post("/sign-out")
    def sign_out(request: Request, context: Context) -> RedirectResponse:
        token = request.session.get(SESSION_ID)
        if isinstance(token, str):
            with context.pool.connection() as conn:
                end_session(conn, token, context.clock())
        request.session.clear()
        return RedirectResponse(SIGN_IN, status_code=303)

    app.include_router(router)


def _credentials(context: AppContext, email: str) -> Credentials | None:
    """The user's stored hash, read on a connection given back before it is checked."""
    try:
        normalise_email(email)
    except ValueError:
        return None
    with context.pool.connection() as conn:
        return find_credentials(conn, email)


def _start(context: AppContext, found: Credentials, password: str, address: str, agent: str) -> str:
    with context.pool.connection() as conn:
        rehash_if_needed(conn, found, password)
        return start_session(
            conn,
            found.user_id,
            context.clock(),
            session_policy(context),
            client_address=address,
            user_agent=agent,
        )
