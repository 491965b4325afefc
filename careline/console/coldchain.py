"""The console's cold-chain pages: recalls (review, approve, close), a shipment with its
temperature chart, a lot's journey, and the trace view.

Recall actions are CSRF-protected forms; approving, changing the scope and closing need
the quality role (or admin), and every one of them is audited by the service it calls.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRouter
from fastapi.templating import Jinja2Templates

from careline.api.deps import Conn, Now
from careline.console.charts import leg_figure
from careline.console.pages import PREFIX, ConsoleUser, fleet_wide_user
from crm_core.kernel.errors import NotFound
from crm_core.recalls import proposal, service
from crm_core.recalls.model import RecallClass, RecallError
from crm_core.recalls.postgres import list_recalls, recall_detail
from crm_core.traceability import gs1
from crm_core.traceability.queries import (
    backward_from_lot,
    find_lot,
    forward_from_lots,
    lots_of_receipt,
    lots_of_shipment,
)
from devices.coldchain.online import DOOR, TEMPERATURE
from devices.coldchain.postgres import leg_series
from devices.metric_ids import metric_id_map


def install_coldchain_pages(app: FastAPI, templates: Jinja2Templates) -> None:
    # Traces name customers across the network: for users not limited to some customers.
    router = APIRouter(
        prefix=PREFIX, include_in_schema=False, dependencies=[Depends(fleet_wide_user)]
    )

    def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, values, status_code=status_code)

    def back(recall_id: int, *, error: str = "", done: str = "") -> RedirectResponse:
        query = f"?error={quote(error)}" if error else f"?done={quote(done)}" if done else ""
        return RedirectResponse(f"{PREFIX}/recalls/{recall_id}{query}", status_code=303)

    @router.get("/recalls")
    def recalls_page(request: Request, user: ConsoleUser, conn: Conn) -> HTMLResponse:
        return render(request, "recalls.html", user=user, rows=list_recalls(conn))

    @router.get("/recalls/{recall_id}")
    def recall_page(
        request: Request,
        recall_id: int,
        user: ConsoleUser,
        conn: Conn,
        error: str | None = None,
        done: str | None = None,
    ) -> HTMLResponse:
        try:
            recall = recall_detail(conn, recall_id)
        except NotFound as exc:
            return render(request, "not_found.html", 404, user=user, message=str(exc))
        return render(
            request,
            "recall.html",
            user=user,
            recall=recall,
            effectiveness=service.effectiveness_report(conn, recall_id),
            may_decide=user.allows("quality"),
            error=error[:300] if error else None,
            done=done[:300] if done else None,
        )

    @router.post("/recalls/{recall_id}/approve")
    def approve(
        recall_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        recall_class: Annotated[RecallClass, Form()],
        contact: Annotated[str, Form(max_length=200)],
    ) -> RedirectResponse:
        if not user.allows("quality"):
            return back(recall_id, error="Approving a recall needs the quality role.")
        try:
            with conn.transaction():
                sent = service.approve(
                    conn,
                    recall_id,
                    recall_class,
                    user.name,
                    now,
                    contact=contact.strip() or "our customer line",
                )
        except (NotFound, RecallError) as exc:
            return back(recall_id, error=str(exc))
        return back(recall_id, done=f"Approved as class {recall_class}: {sent} notices queued.")

    @router.post("/recalls/{recall_id}/lots/{lot_id}")
    def change_lot(
        recall_id: int,
        lot_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        included: Annotated[bool, Form()],
        why: Annotated[str, Form(min_length=1, max_length=2000)],
    ) -> RedirectResponse:
        if not user.allows("quality"):
            return back(recall_id, error="Changing a recall's scope needs the quality role.")
        try:
            with conn.transaction():
                proposal.change_lot(conn, recall_id, lot_id, included, why, user.name, now)
        except (NotFound, RecallError) as exc:
            return back(recall_id, error=str(exc))
        return back(recall_id, done=f"Lot {lot_id} is now {'in' if included else 'out of'} scope.")

    @router.post("/recalls/{recall_id}/close")
    def close(recall_id: int, user: ConsoleUser, conn: Conn, now: Now) -> RedirectResponse:
        if not user.allows("quality"):
            return back(recall_id, error="Closing a recall needs the quality role.")
        try:
            with conn.transaction():
                service.close(conn, recall_id, user.name, now)
        except (NotFound, RecallError) as exc:
            return back(recall_id, error=str(exc))
        return back(recall_id, done="Closed; the report is below.")

    app.include_router(router)
    install_trace_pages(app, templates)


def install_trace_pages(app: FastAPI, templates: Jinja2Templates) -> None:
    """The shipment chart, the lot's journey and the trace view."""
    router = APIRouter(
        prefix=PREFIX, include_in_schema=False, dependencies=[Depends(fleet_wide_user)]
    )

    def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, values, status_code=status_code)

    @router.get("/shipments/{reference}")
    def shipment_page(
        request: Request, reference: str, user: ConsoleUser, conn: Conn
    ) -> HTMLResponse:
        try:
            lot_ids = lots_of_shipment(conn, reference)
        except NotFound as exc:
            return render(request, "not_found.html", 404, user=user, message=str(exc))
        trace = forward_from_lots(conn, lot_ids)
        ids = metric_id_map(conn)
        charts = []
        for leg in [lg for lg in trace.legs if lg.shipment == reference]:
            temps, _doors = leg_series(conn, leg.leg_id, ids[TEMPERATURE], ids[DOOR])
            band = conn.execute(
                "SELECT max(p.range_min), min(p.range_max) FROM leg_lots ll "
                "JOIN lots l ON l.id = ll.lot_id JOIN products p ON p.gtin = l.gtin "
                "WHERE ll.leg_id = %s AND p.temp_class <> 'ambient'",
                (leg.leg_id,),
            ).fetchone()
            excursions = conn.execute(
                "SELECT DISTINCT started_at, ended_at FROM excursions WHERE leg_id = %s "
                "AND kind IN ('high', 'low') ORDER BY 1",
                (leg.leg_id,),
            ).fetchall()
            charts.append((leg, leg_figure(temps, band, excursions) if temps else None))
        return render(
            request,
            "shipment.html",
            user=user,
            reference=reference,
            trace=trace,
            charts=charts,
            carried=set(lot_ids),  # the trace also holds what they were repacked into
        )

    @router.get("/lots/{lot_id}")
    def lot_page(request: Request, lot_id: int, user: ConsoleUser, conn: Conn) -> HTMLResponse:
        try:
            journey = backward_from_lot(conn, lot_id)
        except NotFound as exc:
            return render(request, "not_found.html", 404, user=user, message=str(exc))
        forward = forward_from_lots(conn, [lot_id])
        return render(request, "lot.html", user=user, journey=journey, forward=forward)

    @router.get("/trace")
    def trace_page(
        request: Request,
        user: ConsoleUser,
        conn: Conn,
        receipt: str | None = None,
        code: str | None = None,
        shipment: str | None = None,
    ) -> HTMLResponse:
        error, lot_ids = None, []
        try:
            if receipt:
                lot_ids = lots_of_receipt(conn, receipt.strip()[:100])
            elif code:
                parsed = gs1.parse_element_string(code[:200])
                if parsed.lot is None:
                    raise gs1.InvalidIdentifier("the code names no lot (10)")
                lot_ids = [find_lot(conn, parsed.gtin, parsed.lot)]
            elif shipment:
                lot_ids = lots_of_shipment(conn, shipment.strip()[:100])
        except (NotFound, gs1.InvalidIdentifier) as exc:
            error = str(exc)
        backward = [backward_from_lot(conn, i) for i in lot_ids] if not shipment else []
        forward = forward_from_lots(conn, lot_ids) if lot_ids else None
        return render(
            request,
            "trace.html",
            user=user,
            backward=backward,
            forward=forward,
            receipt=receipt or "",
            code=code or "",
            shipment=shipment or "",
            error=error,
        )

    app.include_router(router)
