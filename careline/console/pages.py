"""The console's pages: sign-in, tickets, a ticket, a device with charts, dead letters.

Pages read through the same read models as the API. The session cookie carries only a
random session id; the session is a row of ``staff_sessions`` and the user's role and
customer scope are read from the database on every request, so a changed role, a
removed user, a sign-out or a revocation takes effect at once. Sign-in goes through
:class:`careline.api.signin.SignInGate` (throttling, lockout, bounded password checks).
"""

from __future__ import annotations

from typing import Annotated, cast
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRouter
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from careline.api.csrf import csrf_field
from careline.api.deps import MAX_BIGINT, Conn, Context, Now, Sla, session_principal
from careline.api.scopes import require_device, require_ticket
from careline.console import sign_in
from careline.console.assets import plotly_version
from careline.console.charts import fault_label
from careline.console.device_charts import SPANS, metric_figure, window_for
from careline.console.sign_in import HOME, SIGN_IN, install_sign_in
from careline.customer360 import customer_panel
from careline.views import ticket_detail
from crm_core.auth.principals import Principal
from crm_core.auth.scopes import CustomerScope
from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import Page
from crm_core.tickets.model import ENDED, TICKET_STATUSES, TRANSITIONS, TicketKind, TicketStatus
from crm_core.tickets.queries import list_tickets
from crm_core.tickets.sla import SLA_STATES, SlaState
from crm_core.tickets.technicians import list_technicians, suggestions
from devices.queries import get_device
from devices.ranges import range_series
from ingest.dead_letters import list_dead_letters

PAGE_SIZE = 50
PREFIX = sign_in.PREFIX  # other console modules import it from here


def duration(minutes: float) -> str:
    """Business minutes as people say them: ``2 h 05 min``, ``45 min``, ``-1 h 10 min``."""
    sign = "-" if minutes < 0 else ""
    whole = round(abs(minutes))
    hours, mins = divmod(whole, 60)
    return f"{sign}{hours} h {mins:02d} min" if hours else f"{sign}{mins} min"


def _choice(value: str, choices: tuple[str, ...]) -> str | None:
    return value if value in choices else None


class SignInRequiredError(Exception):
    """The page needs a signed-in user; answered with a redirect to the sign-in page."""


def console_templates() -> Jinja2Templates:
    """The console's Jinja2 templates with its filters and globals."""
    env = Environment(
        loader=PackageLoader("careline.console", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fault_label"] = fault_label
    env.filters["duration"] = duration
    env.globals["plotly_version"] = plotly_version()
    env.globals["csrf_field"] = csrf_field
    return Jinja2Templates(env=env)


def console_user(request: Request, context: Context) -> Principal:
    principal = session_principal(request, context)
    if principal is None or not principal.allows("viewer"):
        raise SignInRequiredError
    return principal


ConsoleUser = Annotated[Principal, Depends(console_user)]


def device_in_user_scope(serial: str, user: ConsoleUser, conn: Conn) -> None:
    """Route dependency: the device belongs to one of the user's customers (else 404)."""
    require_device(conn, CustomerScope(user.customer_ids), serial)


def customer_in_user_scope(customer_id: int, user: ConsoleUser) -> None:
    """Route dependency: the customer is one of the user's (else 404)."""
    CustomerScope(user.customer_ids).require(customer_id, f"customer {customer_id}")


class FleetWideOnlyError(Exception):
    """A page of fleet-wide data asked for by a user limited to some customers (403)."""

    def __init__(self, user: Principal) -> None:
        super().__init__(f"{user.name} is limited to some customers")
        self.user = user


def fleet_wide_user(user: ConsoleUser) -> Principal:
    """For pages spanning customers (product issues, reports): limited users get a 403."""
    if user.customer_ids is not None:
        raise FleetWideOnlyError(user)
    return user


def install_pages(app: FastAPI) -> None:
    templates = console_templates()
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    def render(
        request: Request,
        name: str,
        user: Principal | None,
        status_code: int = 200,
        **values: object,
    ) -> HTMLResponse:
        context = {"user": user, **values}
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def not_found(request: Request, user: Principal, message: str) -> HTMLResponse:
        return render(request, "not_found.html", user, status_code=404, message=message)

    @router.get("/tickets")
    def tickets_page(
        request: Request,
        user: ConsoleUser,
        conn: Conn,
        sla: Sla,
        status: str = "",
        priority: str = "",
        kind: str = "",
        technician_id: str = "",
        sla_state: str = "",
        offset: Annotated[int, Query(le=MAX_BIGINT)] = 0,
    ) -> HTMLResponse:
        # The filter form sends every field, empty ones included: empty means "any", and a
        # value that is not one of the choices is ignored rather than answered with an error.
        page = Page(limit=PAGE_SIZE, offset=max(offset, 0))
        scope = CustomerScope(user.customer_ids)
        chosen_status = cast("TicketStatus | None", _choice(status, TICKET_STATUSES))
        chosen_kind = cast("TicketKind | None", _choice(kind, ("proactive", "reactive")))
        chosen_sla = cast("SlaState | None", _choice(sla_state, SLA_STATES))
        chosen_priority = int(priority) if priority in ("1", "2", "3", "4") else None
        chosen_tech = int(technician_id) if technician_id.isdigit() else None
        tickets = list_tickets(
            conn,
            status=chosen_status,
            kind=chosen_kind,
            priority=chosen_priority,
            technician_id=chosen_tech,
            sla_state=chosen_sla,
            sla=sla,
            page=page,
            customers=scope.sql_ids,
        )
        filters = {
            "status": chosen_status,
            "priority": chosen_priority,
            "kind": chosen_kind,
            "technician_id": chosen_tech,
            "sla_state": chosen_sla,
        }
        query = urlencode({k: v for k, v in filters.items() if v is not None})
        return render(
            request,
            "tickets.html",
            user,
            tickets=tickets,
            status=filters["status"],
            filters=filters,
            query=query,
            statuses=TICKET_STATUSES,
            kinds=("proactive", "reactive"),
            sla_states=SLA_STATES,
            technicians=list_technicians(conn),
            page=page,
            has_more=len(tickets) == PAGE_SIZE,
        )

    @router.get("/tickets/{ticket_id}")
    def ticket_page(
        request: Request,
        ticket_id: int,
        *,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        now: Now,
        sla: Sla,
        error: str | None = None,
    ) -> HTMLResponse:
        try:
            require_ticket(conn, CustomerScope(user.customer_ids), ticket_id)
            ticket = ticket_detail(conn, ticket_id, sla)
        except NotFound as exc:
            return not_found(request, user, str(exc))
        panel = customer_panel(conn, context.catalog, ticket, now)
        live = ticket.status not in ENDED
        return render(
            request,
            "ticket.html",
            user,
            ticket=ticket,
            panel=panel,
            moves=[m for m in TRANSITIONS[ticket.status] if m != "resolved"],
            can_resolve="resolved" in TRANSITIONS[ticket.status],
            resolution_codes=sla[0].levels.resolution_codes.values(),
            suggestions=suggestions(conn, ticket_id) if live and user.allows("agent") else [],
            timezone=context.settings.service.timezone,
            error=error[:300] if error else None,
        )

    @router.get("/devices/{serial}")
    def device_page(
        request: Request,
        serial: str,
        *,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        now: Now,
        span: Annotated[str | None, Query(max_length=8)] = None,
        ticket: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
    ) -> HTMLResponse:
        try:
            require_device(conn, CustomerScope(user.customer_ids), serial)
            device = get_device(conn, context.catalog, serial, now, points=1)
        except NotFound as exc:
            return not_found(request, user, str(exc))
        window = window_for(
            now,
            device.faults,
            device.last_seen_at,
            span=span if span in SPANS else None,
            ticket=ticket,
        )
        series = range_series(
            conn, context.catalog, device.id, device.device_type, window.since, window.until
        )
        charts = [(s, metric_figure(s, device.faults, window)) for s in series if s.points]
        silent = [s for s in series if not s.points]
        open_faults = [f for f in device.faults if f.status != "cleared"]
        return render(
            request,
            "device.html",
            user,
            device=device,
            charts=charts,
            silent=silent,
            window=window,
            spans=list(SPANS),
            ticket=ticket if window.span is None else None,
            open_faults=open_faults,
        )

    @router.get("/dead-letters")
    def dead_letters_page(
        request: Request,
        user: ConsoleUser,
        conn: Conn,
        offset: Annotated[int, Query(le=MAX_BIGINT)] = 0,
    ) -> HTMLResponse:
        if not user.allows("admin") or user.customer_ids is not None:
            return render(request, "forbidden.html", user, status_code=403)
        page = Page(limit=PAGE_SIZE, offset=max(offset, 0))
        letters = list_dead_letters(conn, page=page)
        return render(
            request,
            "dead_letters.html",
            user,
            letters=letters,
            page=page,
            has_more=len(letters) == PAGE_SIZE,
        )

    async def sign_in_required(request: Request, exc: Exception) -> RedirectResponse:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"{SIGN_IN}?next={quote(target, safe='/')}", status_code=303)

    async def home(request: Request) -> RedirectResponse:
        return RedirectResponse(HOME, status_code=303)

    app.include_router(router)
    install_sign_in(app, templates)
    app.add_api_route("/", home, methods=["GET"], include_in_schema=False)
    app.add_api_route(PREFIX, home, methods=["GET"], include_in_schema=False)

    async def fleet_wide_only(request: Request, exc: Exception) -> HTMLResponse:
        assert isinstance(exc, FleetWideOnlyError)
        return render(request, "forbidden.html", exc.user, status_code=403)

    app.add_exception_handler(SignInRequiredError, sign_in_required)
    app.add_exception_handler(FleetWideOnlyError, fleet_wide_only)
