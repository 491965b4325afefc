"""The console's service work: log a customer's call, assign, schedule, resolve; the
technicians and a technician's day (a page made for a phone).

Forms are protected against cross-site forgery (:mod:`careline.api.csrf`), run the same
use cases as the API (on the same event bus) and answer with a redirect (post, redirect,
get); a refusal comes back as a message on the page. Agents and admins only.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRouter

from careline.api.deps import Conn, Context, Now, Publisher, Sla
from careline.api.scopes import require_customer, require_ticket
from careline.console.actions import Refusal
from careline.console.actions import _act as act
from careline.console.pages import ConsoleUser, console_templates
from careline.console.sign_in import PREFIX
from crm_core.auth.scopes import CustomerScope
from crm_core.customers.queries import list_customers
from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import MAX_LIMIT, Page
from crm_core.tickets.dispatch import assign, resolve, schedule
from crm_core.tickets.model import TicketDraft, TicketInputError
from crm_core.tickets.postgres import PostgresTicketsUnitOfWork
from crm_core.tickets.service import open_reactive
from crm_core.tickets.technicians import get_technician, list_technicians, technician_day

Severity = Literal["high", "medium", "low"]


def _local_window(day: date, start: time, end: time, timezone: str) -> tuple[datetime, datetime]:
    """A window typed in the team's time zone; an end at or before the start is refused."""
    zone = ZoneInfo(timezone)
    begins, ends = datetime.combine(day, start, zone), datetime.combine(day, end, zone)
    if ends <= begins:
        raise TicketInputError("the visit must end after it starts")
    return begins, ends


def install_work(app: FastAPI) -> None:
    templates = console_templates()
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    def render(request: Request, name: str, user: object, **values: object) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"user": user, **values})

    @router.get("/tickets/new")
    def new_ticket_form(
        request: Request, user: ConsoleUser, conn: Conn, error: str | None = None
    ) -> HTMLResponse:
        if not user.allows("agent"):
            return templates.TemplateResponse(
                request, "forbidden.html", {"user": user}, status_code=403
            )
        scope = CustomerScope(user.customer_ids)
        customers = [c for c in list_customers(conn, page=Page(MAX_LIMIT)) if scope.allows(c.id)]
        devices = conn.execute(
            "SELECT id, serial, device_type, customer_id FROM devices "
            "WHERE customer_id IS NOT NULL ORDER BY serial LIMIT 2000"
        ).fetchall()
        return render(
            request,
            "ticket_new.html",
            user,
            customers=customers,
            devices=devices,
            error=error[:300] if error else None,
        )

    @router.post("/tickets")
    def log_call(
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        publish: Publisher,
        customer_id: Annotated[int, Form()],
        subject: Annotated[str, Form(max_length=200)],
        description: Annotated[str, Form(max_length=4000)] = "",
        device_id: Annotated[str, Form()] = "",
        severity: Annotated[Severity, Form()] = "medium",
        safety: Annotated[bool, Form()] = False,
        hours_to_failure: Annotated[str, Form(max_length=20)] = "",
    ) -> RedirectResponse:
        back = f"{PREFIX}/tickets/new"
        if not user.allows("agent"):
            return RedirectResponse(f"{back}?error={quote('Viewers cannot log calls.')}", 303)
        try:
            require_customer(conn, CustomerScope(user.customer_ids), customer_id)
            device = int(device_id) if device_id else None
            hours = float(hours_to_failure) if hours_to_failure.strip() else None
            if device is not None:
                row = conn.execute(
                    "SELECT customer_id FROM devices WHERE id = %s", (device,)
                ).fetchone()
                if row is None or row[0] != customer_id:
                    raise TicketInputError("that device is not this customer's")
            # End the checks' read transaction, so that the use case's unit of work is the
            # transaction itself and commits before the redirect, not a savepoint in it.
            conn.commit()
            draft = TicketDraft(
                subject.strip(),
                description.strip(),
                3,
                severity=severity,
                safety=safety,
                hours_to_failure=hours,
            )
            ticket_id, _ = open_reactive(
                PostgresTicketsUnitOfWork(conn),
                draft,
                customer_id=customer_id,
                device_id=device,
                by=user.name,
                now=now,
                publish=publish,
            )
        except Refusal as exc:
            return RedirectResponse(f"{back}?error={quote(str(exc))}", 303)
        return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}", 303)

    @router.post("/tickets/{ticket_id}/assign")
    def assign_ticket(
        ticket_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        publish: Publisher,
        technician_id: Annotated[int, Form()],
    ) -> RedirectResponse:
        uow = PostgresTicketsUnitOfWork(conn)
        return act(
            user,
            ticket_id,
            "Viewers cannot assign tickets.",
            lambda: assign(uow, ticket_id, technician_id, now, user.name, publish),
            lambda scope: require_ticket(conn, scope, ticket_id),
        )

    @router.post("/tickets/{ticket_id}/schedule")
    def schedule_ticket(
        ticket_id: int,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        now: Now,
        publish: Publisher,
        day: Annotated[date, Form()],
        start: Annotated[time, Form()],
        end: Annotated[time, Form()],
    ) -> RedirectResponse:
        uow = PostgresTicketsUnitOfWork(conn)
        tz = context.settings.service.timezone

        def book() -> object:
            begins, ends = _local_window(day, start, end, tz)
            return schedule(uow, ticket_id, begins, ends, now, user.name, publish)

        return act(
            user,
            ticket_id,
            "Viewers cannot schedule visits.",
            book,
            lambda scope: require_ticket(conn, scope, ticket_id),
        )

    @router.post("/tickets/{ticket_id}/resolve")
    def resolve_ticket(
        ticket_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        sla: Sla,
        publish: Publisher,
        code: Annotated[str, Form(max_length=60)],
        comment: Annotated[str, Form(max_length=4000)] = "",
    ) -> RedirectResponse:
        uow = PostgresTicketsUnitOfWork(conn)
        levels = sla[0].levels
        return act(
            user,
            ticket_id,
            "Viewers cannot resolve tickets.",
            lambda: resolve(uow, levels, ticket_id, code, now, user.name, comment.strip(), publish),
            lambda scope: require_ticket(conn, scope, ticket_id),
        )

    @router.get("/technicians")
    def technicians_page(request: Request, user: ConsoleUser, conn: Conn) -> HTMLResponse:
        return render(request, "technicians.html", user, technicians=list_technicians(conn))

    @router.get("/technicians/{technician_id}/day")
    def technician_day_page(
        request: Request,
        technician_id: int,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        now: Now,
        on: date | None = None,
    ) -> HTMLResponse:
        tz = context.settings.service.timezone
        shown = on or now.astimezone(ZoneInfo(tz)).date()
        try:
            technician = get_technician(conn, technician_id)
        except NotFound as exc:
            return templates.TemplateResponse(
                request, "not_found.html", {"user": user, "message": str(exc)}, status_code=404
            )
        scope = CustomerScope(user.customer_ids)
        visits = technician_day(conn, technician_id, shown, tz, customers=scope.sql_ids)
        return render(
            request,
            "technician_day.html",
            user,
            technician=technician,
            visits=visits,
            day=shown,
            previous=shown - timedelta(days=1),
            next=shown + timedelta(days=1),
            zone=ZoneInfo(tz),
            timezone=tz,
        )

    app.include_router(router)
