"""The customer's preference page, behind a signed link: no sign-in, no staff account.

``/preferences/{token}``: the customer sees what we may send them, per purpose and channel,
and changes it; an objection to direct marketing is one tick away. Changes land in the
consent ledger with source ``preference_page`` and the notice version shown. A tampered
link gets 400, an expired one 410, each with a page that says so. The form is protected
against cross-site forgery like every console form.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRouter
from fastapi.templating import Jinja2Templates

from careline.api.deps import Conn, Context, Now
from crm_core.consent.links import PreferenceLinks
from crm_core.consent.model import (
    CHANNELS,
    CURRENT_POLICY,
    MARKETING,
    PURPOSES,
    ConsentRecord,
    decide,
)
from crm_core.consent.postgres import PostgresConsentLedger, PostgresConsentUnitOfWork
from crm_core.consent.service import consent_state, record_changes
from crm_core.kernel.errors import NotFound
from crm_core.kernel.links import BadLinkError, LinkExpiredError, LinkSigner

PREFIX = "/preferences"
PURPOSE_LABELS = {
    "service": "About your appliances and service visits",
    "safety": "Safety notices and recalls",
    "marketing": "Offers and news",
    "location_marketing": "Offers in the store, based on where you are",
}
CHANNEL_LABELS = {"email": "E-mail", "sms": "SMS", "push": "App"}
PAGE_CHANNELS = ("email", "sms", "push")
"""The channels a person chooses between; webhooks (a business's own systems) are set
through the API."""
CUSTOMER_ACTOR = "customer (preference link)"


def install_preferences(app: FastAPI, templates: Jinja2Templates, signer: LinkSigner) -> None:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        return templates.TemplateResponse(
            request, name, {"user": None, **values}, status_code=status_code
        )

    def customer_of(token: str, context: Any) -> int:
        days = context.settings.notifications.link_max_age_days
        return PreferenceLinks(signer, max_age_s=days * 86400).customer(token)

    def refused(request: Request, exc: BadLinkError) -> HTMLResponse:
        expired = isinstance(exc, LinkExpiredError)
        return render(
            request, "link_refused.html", status_code=410 if expired else 400, message=str(exc)
        )

    @router.get("/{token}")
    def preferences_page(
        request: Request, token: str, context: Context, conn: Conn, saved: int = 0
    ) -> Response:
        try:
            customer_id = customer_of(token, context)
            state, history = consent_state(PostgresConsentLedger(conn), customer_id)
        except BadLinkError as exc:
            return refused(request, exc)
        except NotFound:
            return render(
                request, "link_refused.html", status_code=404, message="We hold no record for you."
            )
        choices = [r for r in history if r.action in ("grant", "withdraw")]
        ticked = {(p, c): decide(choices, p, c).allowed for p in PURPOSES for c in CHANNELS}
        return render(
            request,
            "preferences.html",
            token=token,
            purposes=PURPOSES,
            channels=PAGE_CHANNELS,
            purpose_labels=PURPOSE_LABELS,
            channel_labels=CHANNEL_LABELS,
            ticked=ticked,
            objection=state.objection,
            marketing=MARKETING,
            policy=CURRENT_POLICY,
            saved=saved,
        )

    @router.post("/{token}")
    async def preferences_save(
        request: Request, token: str, context: Context, conn: Conn, now: Now
    ) -> Response:
        try:
            customer_id = customer_of(token, context)
        except BadLinkError as exc:
            return refused(request, exc)
        form = await request.form()
        records: list[ConsentRecord] = []

        def record(action: Any, purpose: Any = None, channel: Any = None) -> None:
            records.append(
                ConsentRecord(
                    None,
                    customer_id,
                    action,
                    purpose,
                    channel,
                    "preference_page",
                    CURRENT_POLICY,
                    CUSTOMER_ACTOR,
                    now,
                )
            )

        for purpose in PURPOSES:
            if purpose == "safety":
                continue
            for channel in PAGE_CHANNELS:
                record(
                    "grant" if form.get(f"{purpose}:{channel}") else "withdraw", purpose, channel
                )
        record("object" if form.get("objection") else "lift_objection")
        try:
            stored = record_changes(PostgresConsentUnitOfWork(conn), customer_id, records, now)
        except NotFound:
            return render(
                request, "link_refused.html", status_code=404, message="We hold no record for you."
            )
        return RedirectResponse(f"{PREFIX}/{token}?saved={len(stored) + 1}", status_code=303)

    app.include_router(router)
