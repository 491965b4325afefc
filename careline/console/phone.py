"""The console's shopper's-phone preview: what one app installation receives, live.

The phone shows the pushes the outbox *sent* to the installation's customer topic
(``app/<customer>/notifications``), newest first, greyed once past their expiry as the app
greys them; beside it, what was held back (suppressed, failed, still pending) and why. The
page polls ``/console/phone/feed`` every two seconds (``phone.js``; our CSP allows scripts
from this origin only), so an offer appears on the phone as the shopper enters a zone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRouter
from fastapi.templating import Jinja2Templates

from careline.api.deps import Conn, Now
from careline.console.pages import PREFIX, ConsoleUser, fleet_wide_user
from crm_core.notifications.channels.push import push_topic

SHOWN = 30
Installation = Query(default="", max_length=64, pattern=r"^[A-Za-z0-9._-]*$")


@dataclass(frozen=True, slots=True)
class Push:
    id: int
    status: str
    title: str
    body: str
    discount_percent: float | None
    zone: str | None
    store: str | None
    offer_id: int | None
    created_at: str
    sent_at: str | None
    expires_at: str | None
    expired: bool
    why_not: str | None


def _pushes(conn: Conn, customer_id: int, now: datetime) -> list[Push]:
    rows = conn.execute(
        "SELECT id, status, subject, body, payload, created_at, sent_at, expires_at, last_error "
        "FROM outbox WHERE customer_id = %s AND channel = 'push' AND recipient = %s "
        "ORDER BY id DESC LIMIT %s",
        (customer_id, push_topic(customer_id), SHOWN),
    ).fetchall()
    out = []
    for r in rows:
        data: dict[str, Any] = dict(r[4] or {})
        discount = data.get("discount_percent")
        out.append(
            Push(
                id=int(r[0]),
                status=str(r[1]),
                title=str(r[2]),
                body=str(r[3]),
                discount_percent=float(discount) if discount is not None else None,
                zone=data.get("zone"),
                store=data.get("store"),
                offer_id=data.get("offer_id"),
                created_at=r[5].isoformat(),
                sent_at=None if r[6] is None else r[6].isoformat(),
                expires_at=None if r[7] is None else r[7].isoformat(),
                expired=r[7] is not None and r[7] <= now,
                why_not=None if r[1] == "sent" else (r[8] or r[1]),
            )
        )
    return out


def _installations(conn: Conn) -> list[tuple[str, int, str]]:
    rows = conn.execute(
        "SELECT i.id, c.id, c.name FROM presence_installations i "
        "JOIN customers c ON c.id = i.customer_id ORDER BY c.name, i.id LIMIT 500"
    ).fetchall()
    return [(str(r[0]), int(r[1]), str(r[2])) for r in rows]


def _owner(conn: Conn, installation: str) -> tuple[int, str] | None:
    row = conn.execute(
        "SELECT c.id, c.name FROM presence_installations i "
        "JOIN customers c ON c.id = i.customer_id WHERE i.id = %s",
        (installation,),
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def install_phone_page(app: FastAPI, templates: Jinja2Templates) -> None:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.get("/phone", dependencies=[Depends(fleet_wide_user)])
    def phone_page(
        request: Request, user: ConsoleUser, conn: Conn, now: Now, installation: str = Installation
    ) -> HTMLResponse:
        owner = _owner(conn, installation) if installation else None
        pushes = _pushes(conn, owner[0], now) if owner else []
        return templates.TemplateResponse(
            request,
            "phone.html",
            {
                "user": user,
                "installations": _installations(conn),
                "installation": installation,
                "owner": owner,
                "unknown": bool(installation) and owner is None,
                "received": [p for p in pushes if p.status == "sent"],
                "held": [p for p in pushes if p.status != "sent"],
                "now": now,
            },
            status_code=404 if installation and owner is None else 200,
        )

    @router.get("/phone/feed", dependencies=[Depends(fleet_wide_user)])
    def phone_feed(conn: Conn, now: Now, installation: str = Installation) -> JSONResponse:
        owner = _owner(conn, installation) if installation else None
        if owner is None:
            return JSONResponse({"error": f"no app installation {installation!r}"}, 404)
        pushes = _pushes(conn, owner[0], now)
        return JSONResponse(
            {
                "installation": installation,
                "customer": owner[1],
                "now": now.isoformat(),
                "received": [asdict(p) for p in pushes if p.status == "sent"],
                "held": [asdict(p) for p in pushes if p.status != "sent"],
            },
            headers={"Cache-Control": "no-store"},
        )

    app.include_router(router)
