"""The console's forms for customers, sites, devices and contracts (agents and admins).

Each form posts to its own URL (behind the CSRF check), runs the same use case as the
API, and either redirects to the customer's page (post, redirect, get) or draws the form
again, status 422, with the values sent and each refusal next to its field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRouter
from pydantic import ValidationError

from careline.api.deps import Conn, Now
from careline.console.customer_pages import not_found, render
from careline.console.pages import PREFIX, ConsoleUser
from careline.console.record_fields import (
    CUSTOMER_FIELDS,
    SITE_FIELDS,
    FormField,
)
from crm_core.auth.principals import Principal
from crm_core.customers.queries import get_customer, get_site
from crm_core.customers.records import (
    CustomerFields,
    RecordError,
    SiteFields,
    field_errors,
)
from crm_core.customers.service import (
    CUSTOMERS,
    SITES,
    save_customer,
    save_site,
)
from crm_core.customers.store import Conn as Connection
from crm_core.kernel.errors import NotFound


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrftoken"}


FormValues = Annotated[dict[str, str], Depends(_form)]


def as_text(record: dict[str, Any]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in record.items()}


def to_customer(customer_id: int, saved: str, *, error: bool = False) -> RedirectResponse:
    """Back to the customer's page, with what was done (or refused) to say there."""
    key = "error" if error else "saved"
    return RedirectResponse(
        f"{PREFIX}/customers/{customer_id}?{key}={quote(saved)}", status_code=303
    )


def attempt(save: Callable[[], object]) -> dict[str, str] | None:
    """Run ``save``; the refusals by field, or None when it was stored."""
    try:
        save()
    except ValidationError as exc:
        return field_errors(exc)
    except RecordError as exc:
        return exc.fields
    return None


@dataclass(frozen=True, slots=True)
class FormPage:
    title: str
    customer: tuple[int, str] | None
    """(id, name) of the customer the record belongs to, for the way back."""
    fields: tuple[FormField, ...]


def form_page(
    request: Request,
    user: Principal,
    *,
    page: FormPage,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    errors = errors or {}
    names = {f.name for f in page.fields}
    general = [f"{k}: {v}" if k != "record" else v for k, v in errors.items() if k not in names]
    return render(
        request,
        "record_form.html",
        user,
        status_code=422 if errors else 200,
        title=page.title,
        customer=page.customer,
        fields=page.fields,
        values=values,
        errors=errors,
        general=general,
    )


def record_form(
    request: Request,
    user: Principal,
    page: FormPage,
    form: dict[str, str],
    save: Callable[[], object],
    *,
    current: dict[str, str],
    saved: str,
) -> Response:
    """The create or edit form of a customer's record (``page.customer``): drawn with
    ``current`` on GET; on POST ``save`` runs, then either the form comes again with each
    refusal next to its field, or the customer's page says ``saved``."""
    if page.customer is None:
        raise ValueError(f"{page.title!r}: a record form needs the customer it belongs to")
    if request.method == "GET":
        return form_page(request, user, values=current, page=page)
    if errors := attempt(save):
        return form_page(request, user, values=form, errors=errors, page=page)
    return to_customer(page.customer[0], saved)


def forbidden(request: Request, user: Principal) -> HTMLResponse | None:
    """The refusal page for a viewer (or a user limited to some customers); None for agents
    and admins with access to every customer."""
    if user.allows("agent") and user.customer_ids is None:
        return None
    return render(request, "forbidden.html", user, status_code=403)


def owner(conn: Connection, customer_id: int) -> tuple[int, str]:
    record = get_customer(conn, customer_id)
    return record.id, record.name


def install_record_forms(app: FastAPI) -> None:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    # Customers -----------------------------------------------------------------------

    @router.api_route("/customers/new", methods=["GET", "POST"])
    def new_customer(
        request: Request, user: ConsoleUser, conn: Conn, now: Now, form: FormValues
    ) -> Response:
        if refused := forbidden(request, user):
            return refused
        page = FormPage("New customer", None, CUSTOMER_FIELDS)
        if request.method == "GET":
            return form_page(request, user, values={"kind": "person"}, page=page)
        done: list[int] = []

        def save() -> None:
            fields = CustomerFields.model_validate(form)
            done.append(save_customer(conn, None, fields, actor=user.name, now=now).id)

        if errors := attempt(save):
            return form_page(request, user, values=form, errors=errors, page=page)
        return to_customer(done[0], "created")

    @router.api_route("/customers/{customer_id}/edit", methods=["GET", "POST"])
    def edit_customer(
        request: Request,
        customer_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        form: FormValues,
    ) -> Response:
        if refused := forbidden(request, user):
            return refused
        try:
            who = owner(conn, customer_id)
            current = CUSTOMERS.get(conn, customer_id)
        except NotFound as exc:
            return not_found(request, user, str(exc))
        page = FormPage(f"Edit {who[1]}", who, CUSTOMER_FIELDS)

        def save() -> None:
            fields = CustomerFields.model_validate(form)
            save_customer(conn, customer_id, fields, actor=user.name, now=now)

        return record_form(request, user, page, form, save, current=as_text(current), saved="saved")

    # Sites ---------------------------------------------------------------------------

    def site_form(
        request: Request,
        user: Principal,
        conn: Connection,
        now: Any,
        form: dict[str, str],
        customer_id: int,
        site_id: int | None,
    ) -> Response:
        if refused := forbidden(request, user):
            return refused
        who = owner(conn, customer_id)
        title = "New site" if site_id is None else "Edit site"
        page = FormPage(f"{title} for {who[1]}", who, SITE_FIELDS)
        current = {} if site_id is None else as_text(SITES.get(conn, site_id))

        def save() -> None:
            fields = SiteFields.model_validate({**form, "customer_id": customer_id})
            save_site(conn, site_id, fields, actor=user.name, now=now)

        return record_form(request, user, page, form, save, current=current, saved="site")

    @router.api_route("/customers/{customer_id}/sites/new", methods=["GET", "POST"])
    def new_site(
        request: Request,
        customer_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        form: FormValues,
    ) -> Response:
        try:
            return site_form(request, user, conn, now, form, customer_id, None)
        except NotFound as exc:
            return not_found(request, user, str(exc))

    @router.api_route("/sites/{site_id}/edit", methods=["GET", "POST"])
    def edit_site(
        request: Request, site_id: int, user: ConsoleUser, conn: Conn, now: Now, form: FormValues
    ) -> Response:
        try:
            site = get_site(conn, site_id)
            return site_form(request, user, conn, now, form, site.customer_id, site_id)
        except NotFound as exc:
            return not_found(request, user, str(exc))

    app.include_router(router)
