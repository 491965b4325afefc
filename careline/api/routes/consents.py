"""``/api/v1/customers/{id}/consents``: the consent ledger, its current state, and changes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, model_validator

from careline.api.deps import Conn, Now, RequireAgent
from careline.api.errors import responses
from careline.api.scopes import PathId, customer_in_scope
from crm_core.consent.model import (
    CURRENT_POLICY,
    Action,
    Channel,
    ConsentRecord,
    ConsentState,
    Purpose,
    Source,
)
from crm_core.consent.postgres import PostgresConsentLedger, PostgresConsentUnitOfWork
from crm_core.consent.service import consent_state, record_changes

# Every route names a customer: callers limited to other customers get a 404.
router = APIRouter(prefix="/customers", tags=["consent"], dependencies=[Depends(customer_in_scope)])


class ConsentEntry(BaseModel):
    """One line of the ledger."""

    id: int
    action: Action
    purpose: Purpose | None
    channel: Channel | None
    source: Source
    policy_version: str
    actor: str
    at: datetime
    note: str


class ConsentStatus(BaseModel):
    purpose: Purpose
    channel: Channel
    allowed: bool
    reason: str
    record_id: int | None = Field(description="The ledger record that decided it, if any.")


class Consents(BaseModel):
    customer_id: int
    objection: ConsentEntry | None = Field(
        description="The objection to direct marketing in force (GDPR Art. 21), if any."
    )
    state: list[ConsentStatus]
    history: list[ConsentEntry]


def entry(record: ConsentRecord) -> ConsentEntry:
    assert record.id is not None
    return ConsentEntry(
        id=record.id,
        action=record.action,
        purpose=record.purpose,
        channel=record.channel,
        source=record.source,
        policy_version=record.policy_version,
        actor=record.actor,
        at=record.at,
        note=record.note,
    )


def consents_view(customer_id: int, state: ConsentState, history: list[ConsentRecord]) -> Consents:
    return Consents(
        customer_id=customer_id,
        objection=None if state.objection is None else entry(state.objection),
        state=[
            ConsentStatus(
                purpose=purpose,
                channel=channel,
                allowed=decision.allowed,
                reason=decision.reason,
                record_id=None if decision.record is None else decision.record.id,
            )
            for (purpose, channel), decision in state.decisions.items()
        ],
        history=[entry(r) for r in history],
    )


class ConsentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Purpose
    channel: Channel
    granted: bool


class ConsentChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    changes: Annotated[list[ConsentChange], Field(max_length=64)] = []
    objection: bool | None = Field(
        None,
        description="true: the customer objects to direct marketing (overrides every "
        "marketing grant, at once); false: they lift their objection; absent: unchanged.",
    )
    source: Source = "api"
    policy_version: Annotated[str, Field(min_length=1, max_length=64)] = CURRENT_POLICY
    note: Annotated[str, Field(max_length=1000)] = ""

    @model_validator(mode="after")
    def _something(self) -> ConsentChanges:
        if not self.changes and self.objection is None:
            raise ValueError("give at least one change or an objection")
        return self


def as_records(
    body: ConsentChanges, customer_id: int, actor: str, now: datetime
) -> list[ConsentRecord]:
    def record(action: Action, purpose: Purpose | None, channel: Channel | None) -> ConsentRecord:
        return ConsentRecord(
            None,
            customer_id,
            action,
            purpose,
            channel,
            body.source,
            body.policy_version,
            actor,
            now,
            body.note,
        )

    records = [
        record("grant" if c.granted else "withdraw", c.purpose, c.channel) for c in body.changes
    ]
    if body.objection is not None:
        records.append(record("object" if body.objection else "lift_objection", None, None))
    return records


@router.get(
    "/{customer_id}/consents",
    summary="A customer's consents: current state per purpose and channel, and the ledger",
    responses=responses(404),
)
def consents_get(customer_id: PathId, conn: Conn) -> Consents:
    state, history = consent_state(PostgresConsentLedger(conn), customer_id)
    return consents_view(customer_id, state, history)


@router.post(
    "/{customer_id}/consents",
    summary="Record consent changes or an objection to marketing (agent or admin); audited",
    responses=responses(404),
)
def consents_post(
    customer_id: PathId, body: ConsentChanges, conn: Conn, now: Now, principal: RequireAgent
) -> Consents:
    records = as_records(body, customer_id, principal.name, now)
    record_changes(PostgresConsentUnitOfWork(conn), customer_id, records, now)
    state, history = consent_state(PostgresConsentLedger(conn), customer_id)
    return consents_view(customer_id, state, history)
