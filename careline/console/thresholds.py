"""The console's Thresholds pages: a device's detector settings in force, with where each
comes from, and forms to override them per device or per customer and to reset a device's
learned baseline.

The forms run the same use cases as the API (:mod:`devices.tuning.service`), go through
the CSRF protection of every console form, and answer with a redirect back to the page
(post, redirect, get), carrying a refusal as a message. Agents and admins may change;
viewers see.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRouter

from careline.api.deps import Conn, Context, Now
from careline.console.pages import (
    PREFIX,
    ConsoleUser,
    console_templates,
    customer_in_user_scope,
    device_in_user_scope,
)
from crm_core.auth.principals import Principal
from crm_core.kernel.errors import NotFound
from devices.catalog import Catalog
from devices.errors import TuningError
from devices.tuning.model import METRIC_SETTINGS, TELEMETRY_SETTINGS, Override
from devices.tuning.ports import Scope
from devices.tuning.postgres import PostgresTuningUnitOfWork
from devices.tuning.queries import customer_thresholds, device_thresholds
from devices.tuning.service import (
    remove_override,
    reset_baseline,
    set_customer_override,
    set_device_override,
)

LABELS = {
    "enabled": "Detection",
    "threshold": "Learned detector threshold (standard scores)",
    "limit_high": "Hard limit: above",
    "limit_high_for_s": "… for (seconds)",
    "limit_low": "Hard limit: below",
    "limit_low_for_s": "… for (seconds)",
    "no_data_after_s": "No data after (seconds)",
}
Text = Annotated[str, Form(max_length=64)]


def _number(name: str, text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise TuningError(f"{LABELS[name]}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise TuningError(f"{LABELS[name]}: {text!r} is not a finite number")
    return value


def _override(enabled: str, fields: dict[str, str]) -> Override:
    """An Override from the form: blank inherits; enabled is "", "on" or "off"."""
    if enabled not in ("", "on", "off"):
        raise TuningError(f"detection must be inherit, on or off, not {enabled!r}")
    numbers = {name: _number(name, text) for name, text in fields.items()}
    return Override(
        enabled=None if not enabled else enabled == "on",
        threshold=numbers["threshold"],
        limit_high=numbers["limit_high"],
        limit_high_for_s=numbers["limit_high_for_s"],
        limit_low=numbers["limit_low"],
        limit_low_for_s=numbers["limit_low_for_s"],
        no_data_after_s=numbers["no_data_after_s"],
    )


def _go(url: str, error: str | None = None) -> RedirectResponse:
    if error:
        url += f"?error={quote(error[:300])}"
    return RedirectResponse(url, status_code=303)


def _act(user: Principal, url: str, action: Callable[[], object]) -> RedirectResponse:
    if not user.allows("agent"):
        return _go(url, "Viewers cannot change thresholds.")
    try:
        action()
    except (TuningError, NotFound, ValueError) as exc:
        return _go(url, str(exc))
    return _go(url)


def override_fields(
    threshold: Text = "",
    limit_high: Text = "",
    limit_high_for_s: Text = "",
    limit_low: Text = "",
    limit_low_for_s: Text = "",
    no_data_after_s: Text = "",
) -> dict[str, str]:
    """The form's numbers as typed (checked by :func:`_override`, so that a bad one comes
    back as a message on the page)."""
    return {
        "threshold": threshold,
        "limit_high": limit_high,
        "limit_high_for_s": limit_high_for_s,
        "limit_low": limit_low,
        "limit_low_for_s": limit_low_for_s,
        "no_data_after_s": no_data_after_s,
    }


Fields = Annotated[dict[str, str], Depends(override_fields)]
SetOverride = Callable[[PostgresTuningUnitOfWork, Catalog, Any, str, Override, str, datetime], None]


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose overrides a Thresholds page shows and sets: a device's (keyed by serial) or a
    customer's (keyed by id). One set of routes serves both."""

    kind: Scope
    path: str  # under the console prefix, with the key's path parameter
    param: str
    key: Callable[[str], str | int]
    in_scope: Callable[..., None]
    put: SetOverride

    def url(self, key: str | int) -> str:
        return f"{PREFIX}{self.path.replace('{' + self.param + '}', quote(str(key)))}"


DEVICE = Owner(
    "device", "/devices/{serial}", "serial", str, device_in_user_scope, set_device_override
)
CUSTOMER = Owner(
    "customer",
    "/customers/{customer_id}",
    "customer_id",
    int,
    customer_in_user_scope,
    set_customer_override,
)


def install_thresholds(app: FastAPI) -> None:
    templates = console_templates()
    templates.env.globals["setting_labels"] = LABELS
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    def page(
        request: Request, name: str, user: Principal, status: int = 200, **values: object
    ) -> HTMLResponse:
        context = {"user": user, **values}
        return templates.TemplateResponse(request, name, context, status_code=status)

    def view(
        conn: Conn, context: Context, owner: Owner, key: str | int
    ) -> tuple[str, dict[str, object]]:
        """The owner's template and what it shows (NotFound when there is no such owner)."""
        if owner.kind == "device":
            return "thresholds.html", {"view": device_thresholds(conn, context.catalog, str(key))}
        found = customer_thresholds(conn, context.catalog, int(key))
        overrides = {o.metric: o for o in found.overrides}
        return "customer_thresholds.html", {"view": found, "overrides": overrides}

    def show(owner: Owner) -> Callable[..., HTMLResponse]:
        def thresholds_page(
            request: Request,
            user: ConsoleUser,
            conn: Conn,
            context: Context,
            error: str | None = None,
        ) -> HTMLResponse:
            key = owner.key(request.path_params[owner.param])
            try:
                name, values = view(conn, context, owner, key)
            except NotFound as exc:
                return page(request, "not_found.html", user, 404, message=str(exc))
            values |= {
                "user": user,
                "poll_s": context.settings.ingest.tuning_poll_s,
                "metric_settings": METRIC_SETTINGS,
                "telemetry_settings": TELEMETRY_SETTINGS,
                "error": error[:300] if error else None,
            }
            return templates.TemplateResponse(request, name, values)

        return thresholds_page

    def save(owner: Owner) -> Callable[..., RedirectResponse]:
        def save_override(
            request: Request,
            metric: str,
            user: ConsoleUser,
            conn: Conn,
            context: Context,
            now: Now,
            fields: Fields,
            enabled: Text = "",
        ) -> RedirectResponse:
            key = owner.key(request.path_params[owner.param])
            uow = PostgresTuningUnitOfWork(conn)
            return _act(
                user,
                f"{owner.url(key)}/thresholds",
                lambda: owner.put(
                    uow, context.catalog, key, metric, _override(enabled, fields), user.name, now
                ),
            )

        return save_override

    def remove(owner: Owner) -> Callable[..., RedirectResponse]:
        def remove_override_route(
            request: Request, metric: str, user: ConsoleUser, conn: Conn, context: Context, now: Now
        ) -> RedirectResponse:
            key = owner.key(request.path_params[owner.param])
            uow = PostgresTuningUnitOfWork(conn)
            return _act(
                user,
                f"{owner.url(key)}/thresholds",
                lambda: remove_override(
                    uow, context.catalog, owner.kind, key, metric, user.name, now
                ),
            )

        return remove_override_route

    for owner in (DEVICE, CUSTOMER):
        scoped = [Depends(owner.in_scope)]
        base = f"{owner.path}/thresholds"
        for path, endpoint, method, name in (
            (base, show(owner), "GET", "page"),
            (f"{base}/{{metric}}", save(owner), "POST", "save"),
            (f"{base}/{{metric}}/delete", remove(owner), "POST", "remove"),
        ):
            router.add_api_route(
                path,
                endpoint,
                methods=[method],
                dependencies=scoped,
                name=f"{owner.kind}_thresholds_{name}",
            )

    @router.post("/devices/{serial}/baseline-reset", dependencies=[Depends(device_in_user_scope)])
    def device_reset(
        serial: str,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        now: Now,
        reason: Annotated[str, Form(max_length=2000)] = "",
        metric: Text = "",
    ) -> RedirectResponse:
        uow = PostgresTuningUnitOfWork(conn)
        return _act(
            user,
            f"{DEVICE.url(serial)}/thresholds",
            lambda: reset_baseline(
                uow, context.catalog, serial, metric or None, reason, user.name, now
            ),
        )

    app.include_router(router)
