"""``/api/v1/dead-letters``: messages ingest refused, and replaying them after a fix."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from careline.api.deps import MAX_BIGINT, Conn, Context, Paging, RequireAdmin, require_unscoped
from careline.api.errors import responses
from crm_core.kernel.read_models import Listing
from ingest.dead_letters import (
    DeadLetterDetail,
    DeadLetterSummary,
    get_dead_letter,
    list_dead_letters,
)
from ingest.replay import replay_dead_letters

# Dead letters belong to no customer: callers limited to some customers may not read them.
router = APIRouter(
    prefix="/dead-letters", tags=["dead letters"], dependencies=[Depends(require_unscoped)]
)

MAX_REPLAY_IDS = 10_000


class ReplayRequest(BaseModel):
    """Either ``ids`` or ``all: true``."""

    model_config = ConfigDict(extra="forbid")

    ids: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_BIGINT)]] | None,
        Field(min_length=1, max_length=MAX_REPLAY_IDS),
    ] = None
    all: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> ReplayRequest:
        if (self.ids is None) == (not self.all):
            raise ValueError('give either "ids" or "all": true, not both')
        return self


class ReplayResult(BaseModel):
    replayed: int
    stored: int
    still_rejected: int


@router.get("", summary="List dead letters, newest first")
def dead_letters_list(
    conn: Conn,
    page: Paging,
    reason: Annotated[str | None, Query(description="Only this reason.")] = None,
) -> Listing[DeadLetterSummary]:
    return Listing.of(list_dead_letters(conn, reason=reason, page=page), page)


@router.get("/{letter_id}", summary="One dead letter with its payload", responses=responses(404))
def dead_letter_detail(
    letter_id: Annotated[int, Path(ge=1, le=MAX_BIGINT)], conn: Conn
) -> DeadLetterDetail:
    return get_dead_letter(conn, letter_id)


@router.post("/replay", summary="Run dead letters through ingest again (admin)")
def dead_letters_replay(
    request: ReplayRequest, context: Context, principal: RequireAdmin
) -> ReplayResult:
    settings = context.settings
    report = replay_dead_letters(
        context.pool,
        context.catalog,
        settings.ingest,
        settings.mqtt.topic_root,
        ids=None if request.all else request.ids,
    )
    return ReplayResult(
        replayed=report.replayed, stored=report.stored, still_rejected=report.still_rejected
    )
