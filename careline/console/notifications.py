"""The console's Outbox and Mail pages, and the retry action for a failed message.

Outbox: every customer message with its delivery state (status, attempts, last error); an
agent can send a failed one again (a CSRF-protected form, audited). Mail: what the demo's
embedded SMTP server received, as the customer would read it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRouter
from fastapi.templating import Jinja2Templates

from careline.api.deps import Conn, Context, Now
from careline.console.mailbox import get_mail, list_mail
from careline.console.pages import PAGE_SIZE, PREFIX, ConsoleUser, fleet_wide_user
from careline.embedded.smtp import MAIL_FOLDER
from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import Page
from crm_core.notifications.model import STATUSES, Status
from crm_core.notifications.postgres import NotRetryable, retry_failed
from crm_core.notifications.queries import list_outbox


def install_notification_pages(app: FastAPI, templates: Jinja2Templates) -> None:
    # Every customer's messages: users limited to some customers do not see these pages.
    router = APIRouter(
        prefix=PREFIX, include_in_schema=False, dependencies=[Depends(fleet_wide_user)]
    )

    def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, values, status_code=status_code)

    @router.get("/outbox")
    def outbox_page(
        request: Request,
        user: ConsoleUser,
        conn: Conn,
        status: Status | None = None,
        offset: int = 0,
        error: str | None = None,
        done: str | None = None,
    ) -> HTMLResponse:
        page = Page(limit=PAGE_SIZE, offset=max(offset, 0))
        rows = list_outbox(conn, status=status, page=page)
        return render(
            request,
            "outbox.html",
            user=user,
            rows=rows,
            status=status,
            statuses=STATUSES,
            page=page,
            has_more=len(rows) == PAGE_SIZE,
            error=error[:300] if error else None,
            done=done[:300] if done else None,
        )

    @router.post("/outbox/{outbox_id}/retry")
    def retry_message(outbox_id: int, user: ConsoleUser, conn: Conn, now: Now) -> RedirectResponse:
        back = f"{PREFIX}/outbox?status=failed"
        if not user.allows("agent"):
            return RedirectResponse(
                back + "&error=" + quote("Viewers cannot resend messages."), status_code=303
            )
        try:
            with conn.transaction():
                retry_failed(conn, outbox_id, now, user.name)
        except (NotFound, NotRetryable) as exc:
            return RedirectResponse(back + "&error=" + quote(str(exc)), status_code=303)
        done = f"Message {outbox_id} is queued again."
        return RedirectResponse(f"{PREFIX}/outbox?done={quote(done)}", status_code=303)

    def maildir(context: Any) -> Any:
        settings = context.settings
        if settings.notifications.smtp_host:
            return None
        return settings.data_dir / MAIL_FOLDER

    @router.get("/mail")
    def mail_page(request: Request, user: ConsoleUser, context: Context) -> HTMLResponse:
        folder = maildir(context)
        mails = [] if folder is None else list_mail(folder)
        return render(
            request,
            "mail.html",
            user=user,
            mails=mails,
            external=context.settings.notifications.smtp_host,
        )

    @router.get("/mail/{key}")
    def mail_message(request: Request, key: str, user: ConsoleUser, context: Context) -> Response:
        folder = maildir(context)
        try:
            if folder is None:
                raise NotFound("mail goes to an external server; see it there")
            mail = get_mail(folder, key)
        except NotFound as exc:
            return render(request, "not_found.html", status_code=404, user=user, message=str(exc))
        return render(request, "mail_message.html", user=user, mail=mail)

    app.include_router(router)
