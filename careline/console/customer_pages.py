"""The console's customers: the list with search, and the customer 360 page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRouter

from careline.api.deps import Conn, Context, Now
from careline.console.pages import PREFIX, ConsoleUser, console_templates
from careline.customer360 import customer_360
from crm_core.auth.principals import Principal
from crm_core.auth.scopes import CustomerScope
from crm_core.customers.queries import list_customers
from crm_core.customers.service import set_archived
from crm_core.customers.store import Conn as Connection
from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import Page

PAGE_SIZE = 50


def render(
    request: Request, name: str, user: Principal, status_code: int = 200, **values: object
) -> HTMLResponse:
    context = {"user": user, **values}
    return console_templates().TemplateResponse(request, name, context, status_code=status_code)


def not_found(request: Request, user: Principal, message: str) -> HTMLResponse:
    return render(request, "not_found.html", user, status_code=404, message=message)


def admins_only(request: Request, user: Principal) -> HTMLResponse | None:
    """The refusal page unless the user is an admin with access to every customer (what
    archiving and deleting records take); None for such an admin."""
    if user.allows("admin") and user.customer_ids is None:
        return None
    return render(request, "forbidden.html", user, status_code=403)


def archive_or_restore(
    request: Request,
    user: Principal,
    conn: Connection,
    now: datetime,
    customer_id: int,
    *,
    archived: bool,
) -> Response:
    """Archive a customer or restore an archived one (admins), then back to its page."""
    if refused := admins_only(request, user):
        return refused
    try:
        set_archived(conn, customer_id, archived, actor=user.name, now=now)
    except NotFound as exc:
        return not_found(request, user, str(exc))
    saved = "archived" if archived else "restored"
    return RedirectResponse(f"{PREFIX}/customers/{customer_id}?saved={saved}", 303)


def install_customer_pages(app: FastAPI) -> None:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.get("/customers")
    def customers_page(
        request: Request,
        user: ConsoleUser,
        conn: Conn,
        q: Annotated[str, Query(max_length=200)] = "",
        archived: bool = False,
        offset: int = 0,
    ) -> HTMLResponse:
        page = Page(limit=PAGE_SIZE, offset=max(offset, 0))
        scope = CustomerScope(user.customer_ids)
        customers = list_customers(
            conn, search=q or None, archived=archived, page=page, customers=scope.sql_ids
        )
        return render(
            request,
            "customers.html",
            user,
            customers=customers,
            q=q,
            archived=archived,
            page=page,
            has_more=len(customers) == PAGE_SIZE,
        )

    @router.get("/customers/{customer_id}")
    def customer_page(
        request: Request,
        customer_id: int,
        *,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        now: Now,
        saved: str | None = None,
        error: str | None = None,
    ) -> HTMLResponse:
        try:
            CustomerScope(user.customer_ids).require(customer_id, f"customer {customer_id}")
            customer = customer_360(conn, context.catalog, customer_id, now)
        except NotFound as exc:
            return not_found(request, user, str(exc))
        return render(
            request,
            "customer.html",
            user,
            customer=customer,
            today=now.date(),
            saved=saved[:200] if saved else None,
            error=error[:300] if error else None,
        )

    @router.post("/customers/{customer_id}/archive")
    def archive_customer(
        customer_id: int, user: ConsoleUser, conn: Conn, now: Now, request: Request
    ) -> Response:
        return archive_or_restore(request, user, conn, now, customer_id, archived=True)

    @router.post("/customers/{customer_id}/restore")
    def restore_customer(
        customer_id: int, user: ConsoleUser, conn: Conn, now: Now, request: Request
    ) -> Response:
        return archive_or_restore(request, user, conn, now, customer_id, archived=False)

    app.include_router(router)
