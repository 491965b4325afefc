"""``/api/v1/outbox``: customer messages with their delivery state; resend a failed one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from careline.api.deps import Conn, Now, Paging, RequireAgent, require_unscoped
from careline.api.errors import responses
from crm_core.kernel.read_models import Listing
from crm_core.notifications.model import Status
from crm_core.notifications.postgres import retry_failed
from crm_core.notifications.queries import OutboxSummary, list_outbox, outbox_message

# Messages to every customer: limited (scoped) callers are refused, as for dead letters.
router = APIRouter(
    prefix="/outbox", tags=["notifications"], dependencies=[Depends(require_unscoped)]
)


@router.get("", summary="Customer messages, newest first")
def outbox_list(
    conn: Conn,
    page: Paging,
    status: Annotated[Status | None, Query()] = None,
    customer_id: Annotated[int | None, Query()] = None,
) -> Listing[OutboxSummary]:
    return Listing.of(list_outbox(conn, status=status, customer_id=customer_id, page=page), page)


@router.post(
    "/{outbox_id}/retry",
    summary="Queue a failed message again with fresh attempts (agent or admin); audited",
    responses=responses(404, 409),
)
def outbox_retry(outbox_id: int, conn: Conn, now: Now, principal: RequireAgent) -> OutboxSummary:
    with conn.transaction():
        retry_failed(conn, outbox_id, now, principal.name)
    return outbox_message(conn, outbox_id)
