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
from typing import Annotated
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
from devices.errors import TuningError
from devices.tuning.model import METRIC_SETTINGS, TELEMETRY_SETTINGS, Override
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


def install_thresholds(app: FastAPI) -> None:
    templates = console_templates()
    templates.env.globals["setting_labels"] = LABELS
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    def page(
        request: Request, name: str, user: Principal, status: int = 200, **values: object
    ) -> HTMLResponse:
        context = {"user": user, **values}
        return templates.TemplateResponse(request, name, context, status_code=status)

    @router.get("/devices/{serial}/thresholds", dependencies=[Depends(device_in_user_scope)])
    def device_page(
        request: Request,
        serial: str,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        error: str | None = None,
    ) -> HTMLResponse:
        try:
            view = device_thresholds(conn, context.catalog, serial)
        except NotFound as exc:
            return page(request, "not_found.html", user, 404, message=str(exc))
        return page(
            request,
            "thresholds.html",
            user,
            view=view,
            poll_s=context.settings.ingest.tuning_poll_s,
            metric_settings=METRIC_SETTINGS,
            telemetry_settings=TELEMETRY_SETTINGS,
            error=error[:300] if error else None,
        )

    @router.get(
        "/customers/{customer_id}/thresholds", dependencies=[Depends(customer_in_user_scope)]
    )
    def customer_page(
        request: Request,
        customer_id: int,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        error: str | None = None,
    ) -> HTMLResponse:
        try:
            view = customer_thresholds(conn, context.catalog, customer_id)
        except NotFound as exc:
            return page(request, "not_found.html", user, 404, message=str(exc))
        return page(
            request,
            "customer_thresholds.html",
            user,
            view=view,
            overrides={o.metric: o for o in view.overrides},
            poll_s=context.settings.ingest.tuning_poll_s,
            metric_settings=METRIC_SETTINGS,
            telemetry_settings=TELEMETRY_SETTINGS,
            error=error[:300] if error else None,
        )

    @router.post(
        "/devices/{serial}/thresholds/{metric}", dependencies=[Depends(device_in_user_scope)]
    )
    def device_save(
        serial: str,
        metric: str,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        now: Now,
        enabled: Text = "",
        threshold: Text = "",
        limit_high: Text = "",
        limit_high_for_s: Text = "",
        limit_low: Text = "",
        limit_low_for_s: Text = "",
        no_data_after_s: Text = "",
    ) -> RedirectResponse:
        fields = {
            "threshold": threshold,
            "limit_high": limit_high,
            "limit_high_for_s": limit_high_for_s,
            "limit_low": limit_low,
            "limit_low_for_s": limit_low_for_s,
            "no_data_after_s": no_data_after_s,
        }
        uow = PostgresTuningUnitOfWork(conn)
        return _act(
            user,
            f"{PREFIX}/devices/{quote(serial)}/thresholds",
            lambda: set_device_override(
                uow, context.catalog, serial, metric, _override(enabled, fields), user.name, now
            ),
        )

    @router.post(
        "/devices/{serial}/thresholds/{metric}/delete", dependencies=[Depends(device_in_user_scope)]
    )
    def device_remove(
        serial: str, metric: str, user: ConsoleUser, conn: Conn, context: Context, now: Now
    ) -> RedirectResponse:
        uow = PostgresTuningUnitOfWork(conn)
        return _act(
            user,
            f"{PREFIX}/devices/{quote(serial)}/thresholds",
            lambda: remove_override(uow, context.catalog, "device", serial, metric, user.name, now),
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
            f"{PREFIX}/devices/{quote(serial)}/thresholds",
            lambda: reset_baseline(
                uow, context.catalog, serial, metric or None, reason, user.name, now
            ),
        )

    @router.post(
        "/customers/{customer_id}/thresholds/{metric}",
        dependencies=[Depends(customer_in_user_scope)],
    )
    def customer_save(
        customer_id: int,
        metric: str,
        user: ConsoleUser,
        conn: Conn,
        context: Context,
        now: Now,
        enabled: Text = "",
        threshold: Text = "",
        limit_high: Text = "",
        limit_high_for_s: Text = "",
        limit_low: Text = "",
        limit_low_for_s: Text = "",
        no_data_after_s: Text = "",
    ) -> RedirectResponse:
        fields = {
            "threshold": threshold,
            "limit_high": limit_high,
            "limit_high_for_s": limit_high_for_s,
            "limit_low": limit_low,
            "limit_low_for_s": limit_low_for_s,
            "no_data_after_s": no_data_after_s,
        }
        uow = PostgresTuningUnitOfWork(conn)
        return _act(
            user,
            f"{PREFIX}/customers/{customer_id}/thresholds",
            lambda: set_customer_override(
                uow,
                context.catalog,
                customer_id,
                metric,
                _override(enabled, fields),
                user.name,
                now,
            ),
        )

    @router.post(
        "/customers/{customer_id}/thresholds/{metric}/delete",
        dependencies=[Depends(customer_in_user_scope)],
    )
    def customer_remove(
        customer_id: int, metric: str, user: ConsoleUser, conn: Conn, context: Context, now: Now
    ) -> RedirectResponse:
        uow = PostgresTuningUnitOfWork(conn)
        return _act(
            user,
            f"{PREFIX}/customers/{customer_id}/thresholds",
            lambda: remove_override(
                uow, context.catalog, "customer", customer_id, metric, user.name, now
            ),
        )

    app.include_router(router)
