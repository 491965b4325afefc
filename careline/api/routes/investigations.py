"""``/api/v1/investigations``: what quality staff do with an investigation the complaints
rule opened: notes, a linked recall or one opened from it, close with an outcome, reopen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from careline.api.deps import Conn, Now, RequireQuality, require_unscoped
from careline.api.errors import responses
from careline.api.scopes import PathId
from crm_core.recalls import investigations as actions
from crm_core.recalls.complaints import (
    Investigation,
    InvestigationRow,
    investigation,
    list_investigations,
)

router = APIRouter(
    prefix="/investigations", tags=["recalls"], dependencies=[Depends(require_unscoped)]
)


def _text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    if not value.strip():
        raise ValueError("say something: the text is blank")
    return value.strip()


Text = Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(_text)]


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Text


class RecallLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recall_id: Annotated[int, Field(ge=1, le=2**62)]


class Closing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: actions.Outcome
    conclusion: Text


class Reopening(BaseModel):
    model_config = ConfigDict(extra="forbid")
    why: Text


@router.get("", summary="Investigations, open ones first")
def investigations_list(conn: Conn) -> list[InvestigationRow]:
    return list_investigations(conn)


@router.get(
    "/{investigation_id}",
    summary="An investigation: its complaints, their lots' backward traces side by side, "
    "its timeline and outcome",
    responses=responses(404),
)
def investigation_get(investigation_id: PathId, conn: Conn) -> Investigation:
    return investigation(conn, investigation_id)


@router.post(
    "/{investigation_id}/notes",
    summary="Add a note to the investigation's timeline (quality role)",
    responses=responses(404),
)
def investigation_note(
    investigation_id: PathId, body: NoteIn, conn: Conn, now: Now, who: RequireQuality
) -> Investigation:
    with conn.transaction():  # committed before the answer goes out
        actions.add_note(conn, investigation_id, body.text, who.name, now)
    return investigation(conn, investigation_id)


@router.put(
    "/{investigation_id}/recall",
    summary="Link the investigation to an existing recall (quality role)",
    responses=responses(404, 409),
)
def investigation_link(
    investigation_id: PathId, body: RecallLink, conn: Conn, now: Now, who: RequireQuality
) -> Investigation:
    with conn.transaction():  # committed before the answer goes out
        actions.link_recall(conn, investigation_id, body.recall_id, who.name, now)
    return investigation(conn, investigation_id)


@router.post(
    "/{investigation_id}/recall",
    summary="Open a recall of the investigation's lots and those repacked from them "
    "(quality role); it is proposed, and waits for approval like any recall",
    status_code=201,
    responses=responses(404, 409),
)
def investigation_recall(
    investigation_id: PathId, conn: Conn, now: Now, who: RequireQuality
) -> Investigation:
    with conn.transaction():  # committed before the answer goes out
        actions.open_recall(conn, investigation_id, who.name, now)
    return investigation(conn, investigation_id)


@router.post(
    "/{investigation_id}/close",
    summary="Close with an outcome and a conclusion (quality role)",
    responses=responses(404, 409),
)
def investigation_close(
    investigation_id: PathId, body: Closing, conn: Conn, now: Now, who: RequireQuality
) -> Investigation:
    with conn.transaction():  # committed before the answer goes out
        actions.close(conn, investigation_id, body.outcome, body.conclusion, who.name, now)
    return investigation(conn, investigation_id)


@router.post(
    "/{investigation_id}/reopen",
    summary="Reopen a closed investigation, saying why (quality role)",
    responses=responses(404, 409),
)
def investigation_reopen(
    investigation_id: PathId, body: Reopening, conn: Conn, now: Now, who: RequireQuality
) -> Investigation:
    with conn.transaction():  # committed before the answer goes out
        actions.reopen(conn, investigation_id, body.why, who.name, now)
    return investigation(conn, investigation_id)
