"""``/api/v1/product-issues``: faults alike across a batch, firmware or model, grouped."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from careline.api.deps import Conn, Context, Now, Paging, RequireAgent, require_unscoped
from careline.api.errors import responses
from careline.api.scopes import PathId
from crm_core.kernel.read_models import Listing
from devices.product_issues.model import IssueStatus
from devices.product_issues.postgres import PostgresProductIssuesUnitOfWork
from devices.product_issues.queries import (
    ProductIssueDetail,
    ProductIssueSummary,
    get_product_issue,
    list_product_issues,
)
from devices.product_issues.service import add_note, change_status

# A product issue spans customers (its detail lists them): callers limited to some
# customers may not read it (403).
router = APIRouter(
    prefix="/product-issues",
    tags=["product issues"],
    dependencies=[Depends(require_unscoped)],
)


class IssuePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: IssueStatus
    comment: Annotated[str, Field(max_length=4000, description="Why, for the history.")] = ""


class IssueNoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


@router.get("", summary="List product issues, the most recently updated first")
def issues_list(
    conn: Conn, page: Paging, status: Annotated[IssueStatus | None, Query()] = None
) -> Listing[ProductIssueSummary]:
    return Listing.of(list_product_issues(conn, status=status, page=page), page)


@router.get(
    "/{issue_id}",
    summary="One product issue: its devices, faults, tickets, customers, history, and its "
    "fault rate against the rest of the fleet",
    responses=responses(404),
)
def issue_get(issue_id: PathId, conn: Conn, now: Now, context: Context) -> ProductIssueDetail:
    return get_product_issue(conn, issue_id, now, context.settings.fleet.rate_days)


@router.patch(
    "/{issue_id}",
    summary="Move a product issue: open -> investigating -> resolved (agent or admin)",
    responses=responses(404, 409),
)
def issue_update(
    issue_id: PathId,
    patch: IssuePatch,
    conn: Conn,
    now: Now,
    context: Context,
    principal: RequireAgent,
) -> ProductIssueDetail:
    uow = PostgresProductIssuesUnitOfWork(conn)
    change_status(uow, issue_id, patch.status, now, principal.name, patch.comment.strip())
    return get_product_issue(conn, issue_id, now, context.settings.fleet.rate_days)


@router.post(
    "/{issue_id}/notes",
    summary="Add a note to a product issue's history (agent or admin)",
    responses=responses(404),
)
def issue_note(
    issue_id: PathId,
    body: IssueNoteBody,
    conn: Conn,
    now: Now,
    context: Context,
    principal: RequireAgent,
) -> ProductIssueDetail:
    add_note(PostgresProductIssuesUnitOfWork(conn), issue_id, principal.name, body.comment, now)
    return get_product_issue(conn, issue_id, now, context.settings.fleet.rate_days)
