"""The console's in-store pages: stores with campaigns, the uplift report (per campaign, and
the learner against the holdout and a random policy), a store's zone
heat map (visits and dwell), and a customer's offers with the reason for each."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRouter
from fastapi.templating import Jinja2Templates

from careline.api.deps import Conn, Now
from careline.console.pages import (
    PREFIX,
    ConsoleUser,
    customer_in_user_scope,
    fleet_wide_user,
)
from crm_core.campaigns.policy_report import compare_policies
from crm_core.campaigns.postgres import list_campaigns
from crm_core.campaigns.queries import offer_history, uplift_report
from devices.presence.directory import get_store, list_stores
from devices.presence.queries import zone_heat

HEAT_DAYS = 7


def install_offer_pages(app: FastAPI, templates: Jinja2Templates) -> None:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    def render(request: Request, name: str, **values: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, values)

    @router.get("/stores", dependencies=[Depends(fleet_wide_user)])
    def stores_page(request: Request, user: ConsoleUser, conn: Conn, now: Now) -> HTMLResponse:
        return render(
            request,
            "offers_stores.html",
            user=user,
            stores=list_stores(conn),
            campaigns=list_campaigns(conn),
            uplift=uplift_report(conn, now),
            now=now,
        )

    @router.get("/uplift", dependencies=[Depends(fleet_wide_user)])
    def uplift_page(request: Request, user: ConsoleUser, conn: Conn, now: Now) -> HTMLResponse:
        return render(
            request,
            "offers_uplift.html",
            user=user,
            uplift=uplift_report(conn, now),
            policies=compare_policies(conn, now),
        )

    @router.get("/stores/{store_id}", dependencies=[Depends(fleet_wide_user)])
    def store_page(
        store_id: int, request: Request, user: ConsoleUser, conn: Conn, now: Now
    ) -> HTMLResponse:
        store = get_store(conn, store_id)
        heat = zone_heat(conn, store_id, now.date() - timedelta(days=HEAT_DAYS - 1))
        return render(
            request,
            "offers_store.html",
            user=user,
            store=store,
            heat=heat,
            most_visits=max((h.visits for h in heat), default=0) or 1,
            most_dwell=max((h.mean_dwell_seconds or 0 for h in heat), default=0) or 1,
            days=HEAT_DAYS,
            open_now=store.hours.is_open(now),
        )

    @router.get("/customers/{customer_id}/offers", dependencies=[Depends(customer_in_user_scope)])
    def customer_offers(
        customer_id: int, request: Request, user: ConsoleUser, conn: Conn
    ) -> HTMLResponse:
        row = conn.execute("SELECT name FROM customers WHERE id = %s", (customer_id,)).fetchone()
        return render(
            request,
            "customer_offers.html",
            user=user,
            customer_id=customer_id,
            customer_name=row[0] if row else None,
            lines=offer_history(conn, customer_id),
        )

    app.include_router(router)
