"""The console's forms for devices and contracts, and deleting sites and contracts (admins).

Same shape as :mod:`careline.console.record_forms`: post, then redirect to the customer's
page, or the form again with each refusal next to its field.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRouter

from careline.api.deps import Conn, Context, Now
from careline.console.customer_pages import admins_only, not_found
from careline.console.pages import PREFIX, ConsoleUser
from careline.console.record_fields import contract_fields, device_fields
from careline.console.record_forms import (
    FormPage,
    FormValues,
    as_text,
    attempt,
    forbidden,
    owner,
    record_form,
    to_customer,
)
from crm_core.auth.principals import Principal
from crm_core.customers.queries import get_contract, get_site, list_sites
from crm_core.customers.records import ContractFields
from crm_core.customers.service import CONTRACTS, delete_contract, delete_site, save_contract
from crm_core.customers.store import Conn as Connection
from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import MAX_LIMIT, Page
from devices.queries import list_devices
from devices.records import DEVICES, DeviceFields, device_id_of, save_device


def device_form(
    request: Request,
    user: Principal,
    conn: Connection,
    context: Any,
    now: Any,
    form: dict[str, str],
    customer_id: int,
    device_id: int | None,
) -> Response:
    if refused := forbidden(request, user):
        return refused
    who = owner(conn, customer_id)
    sites = list_sites(conn, customer_id)
    fields = device_fields(context.catalog, sites, new=device_id is None)
    title = "Register a device" if device_id is None else "Edit device"
    page = FormPage(f"{title} for {who[1]}", who, fields)
    current: dict[str, str] = {} if device_id is None else as_text(DEVICES.get(conn, device_id))
    fixed: dict[str, str] = {k: current[k] for k in ("serial", "device_type") if k in current}

    def save() -> None:
        values: dict[str, object] = {**current, **form, **fixed, "customer_id": customer_id}
        parsed = DeviceFields.model_validate(values)
        save_device(conn, device_id, parsed, context.catalog, actor=user.name, now=now)

    return record_form(request, user, page, form, save, current=current, saved="device")


def contract_form(
    request: Request,
    user: Principal,
    conn: Connection,
    context: Any,
    now: Any,
    form: dict[str, str],
    customer_id: int,
    contract_id: int | None,
) -> Response:
    if refused := forbidden(request, user):
        return refused
    who = owner(conn, customer_id)
    devices = list_devices(
        conn, context.catalog, now, customer_id=customer_id, page=Page(MAX_LIMIT)
    )
    fields = contract_fields(devices, new=contract_id is None)
    title = "New contract" if contract_id is None else "Edit contract"
    page = FormPage(f"{title} for {who[1]}", who, fields)
    current = {} if contract_id is None else as_text(CONTRACTS.get(conn, contract_id))

    def save() -> None:
        values = {**current, **form, "customer_id": customer_id}
        if contract_id is not None:
            values["reference"] = current["reference"]
        parsed = ContractFields.model_validate(values)
        save_contract(conn, contract_id, parsed, actor=user.name, now=now)

    return record_form(request, user, page, form, save, current=current, saved="contract")


def install_device_forms(app: FastAPI) -> None:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    # Devices -------------------------------------------------------------------------

    @router.api_route("/customers/{customer_id}/devices/new", methods=["GET", "POST"])
    def new_device(
        request: Request,
        customer_id: int,
        *,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        now: Now,
        form: FormValues,
    ) -> Response:
        try:
            return device_form(request, user, conn, context, now, form, customer_id, None)
        except NotFound as exc:
            return not_found(request, user, str(exc))

    @router.api_route("/devices/{serial}/edit", methods=["GET", "POST"])
    def edit_device(
        request: Request,
        serial: str,
        *,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        now: Now,
        form: FormValues,
    ) -> Response:
        device_id = device_id_of(conn, serial)
        if device_id is None:
            return not_found(request, user, f"device {serial!r} does not exist")
        customer_id = DEVICES.get(conn, device_id)["customer_id"]
        if customer_id is None:
            return not_found(request, user, f"device {serial} has no owner: edit it by the API")
        return device_form(request, user, conn, context, now, form, customer_id, device_id)

    # Contracts -----------------------------------------------------------------------

    @router.api_route("/customers/{customer_id}/contracts/new", methods=["GET", "POST"])
    def new_contract(
        request: Request,
        customer_id: int,
        *,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        now: Now,
        form: FormValues,
    ) -> Response:
        try:
            return contract_form(request, user, conn, context, now, form, customer_id, None)
        except NotFound as exc:
            return not_found(request, user, str(exc))

    @router.api_route("/contracts/{contract_id}/edit", methods=["GET", "POST"])
    def edit_contract(
        request: Request,
        contract_id: int,
        *,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        now: Now,
        form: FormValues,
    ) -> Response:
        try:
            customer_id = get_contract(conn, contract_id).customer_id
            return contract_form(request, user, conn, context, now, form, customer_id, contract_id)
        except NotFound as exc:
            return not_found(request, user, str(exc))

    # Deleting (admins) ---------------------------------------------------------------

    @router.post("/sites/{site_id}/delete")
    def remove_site(
        request: Request, site_id: int, user: ConsoleUser, conn: Conn, now: Now
    ) -> Response:
        if refused := admins_only(request, user):
            return refused
        try:
            customer_id = get_site(conn, site_id).customer_id
        except NotFound as exc:
            return not_found(request, user, str(exc))
        if errors := attempt(lambda: delete_site(conn, site_id, actor=user.name, now=now)):
            return to_customer(customer_id, "; ".join(errors.values()), error=True)
        return to_customer(customer_id, "site deleted")

    @router.post("/contracts/{contract_id}/delete")
    def remove_contract(
        request: Request, contract_id: int, user: ConsoleUser, conn: Conn, now: Now
    ) -> Response:
        if refused := admins_only(request, user):
            return refused
        try:
            customer_id = get_contract(conn, contract_id).customer_id
        except NotFound as exc:
            return not_found(request, user, str(exc))
        delete_contract(conn, contract_id, actor=user.name, now=now)
        return to_customer(customer_id, "contract deleted")

    app.include_router(router)
