"""Campaigns, offer decisions with their reasons, receipts, uplift, replay; a customer's
presence and offer data exported (GDPR Art. 15/20) or erased (Art. 17)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator

from careline.api.deps import (
    Conn,
    Context,
    Now,
    RequireAdmin,
    RequireAgent,
    Scope,
    require_unscoped,
)
from careline.api.errors import responses
from careline.api.routes.broker_files import revoke_in_broker
from careline.api.scopes import customer_in_scope, owner_in_scope
from crm_core.campaigns import postgres as campaigns
from crm_core.campaigns.model import Campaign
from crm_core.campaigns.policy_report import PolicyComparison, compare_policies
from crm_core.campaigns.queries import (
    ReplayResult,
    Uplift,
    offer_history,
    replay_evaluation,
    uplift_report,
)
from crm_core.kernel.audit import record_audit
from crm_core.kernel.errors import NotFound
from devices.presence.directory import erase_presence
from devices.presence.queries import customer_visits

router = APIRouter(tags=["offers"])
# Campaigns and reports are of no one customer: only unscoped callers see them.
Unscoped = [Depends(require_unscoped)]
InScope = [Depends(customer_in_scope)]
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


INT4 = 2**31 - 1  # the columns are PostgreSQL integers


class CampaignIn(BaseModel):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["promotion", "service"] = "promotion"
    message: Annotated[str, Field(min_length=1, max_length=500)]
    starts_at: datetime
    ends_at: datetime
    zone_ids: list[int] = []
    categories: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    device_types: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default=[], description="service campaigns: the appliances whose failure they help with"
    )
    # stored to the hundredth: 0.001 would be stored as 0 and break the database's check
    discount_percent: Annotated[float, Field(ge=0.01, le=100)]
    value_cents: Annotated[int, Field(ge=0, le=INT4, description="Margin a redemption brings.")]
    cost_cents: Annotated[
        int, Field(ge=0, le=INT4, description="What one offer costs (the discount).")
    ]
    budget_cents: Annotated[int, Field(ge=0, le=INT4)]
    stock: Annotated[int, Field(ge=0, le=INT4)]
    min_dwell_s: Annotated[int, Field(ge=0, le=86400)] = 0
    days_apart: Annotated[
        int, Field(ge=0, le=3660, description="Days between two offers of it.")
    ] = 7
    max_per_customer: Annotated[int, Field(ge=1, le=INT4)] = 3
    offer_ttl_s: Annotated[int, Field(gt=0, le=7 * 86400, description="Offer expiry.")] = 1800

    @model_validator(mode="after")
    def _valid_period(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at and ends_at need a UTC offset")
        return self


class CampaignOut(CampaignIn):
    id: int
    spent_cents: int


class ReceiptIn(BaseModel):
    receipt_id: Annotated[str, Field(min_length=1, max_length=100)]
    amount_cents: Annotated[int, Field(ge=0)]
    at: datetime


class Recorded(BaseModel):
    recorded: bool = Field(description="False: this receipt was recorded already.")


class OfferLine(BaseModel):
    id: int
    at: datetime
    outcome: str
    rule: str
    reason: str
    campaign: str | None
    consent_record_id: int | None
    zone_event: dict[str, Any]
    expires_at: datetime | None
    redeemed_at: datetime | None
    delivery: str | None


def _out(c: Campaign) -> CampaignOut:
    return CampaignOut(
        id=c.id, code=c.code, name=c.name, kind=c.kind, message=c.message,
        starts_at=c.starts_at, ends_at=c.ends_at, zone_ids=list(c.zone_ids),
        categories=list(c.categories), device_types=list(c.device_types),
        discount_percent=c.discount_percent, value_cents=c.value_cents,
        cost_cents=c.cost_cents, budget_cents=c.budget_cents, stock=c.stock,
        min_dwell_s=c.min_dwell_s, days_apart=c.days_apart,
        max_per_customer=c.max_per_customer, offer_ttl_s=c.offer_ttl_s,
        spent_cents=c.spent_cents,
    )  # fmt: skip


@router.post(
    "/campaigns",
    status_code=201,
    summary="Add a campaign",
    responses=responses(409),
    dependencies=Unscoped,
)
def campaign_add(body: CampaignIn, conn: Conn, now: Now, principal: RequireAgent) -> CampaignOut:
    fields = body.model_dump()
    fields["categories"] = sorted({c.strip().lower() for c in body.categories})
    with conn.transaction():  # committed before the answer leaves
        campaign = campaigns.add_campaign(conn, fields, now, principal.name)
    return _out(campaign)


@router.get("/campaigns", summary="Every campaign, newest first", dependencies=Unscoped)
def campaign_list(conn: Conn) -> list[CampaignOut]:
    return [_out(c) for c in campaigns.list_campaigns(conn)]


@router.get(
    "/campaigns/{campaign_id}",
    summary="A campaign",
    responses=responses(404),
    dependencies=Unscoped,
)
def campaign_get(campaign_id: int, conn: Conn) -> CampaignOut:
    return _out(campaigns.get_campaign(conn, campaign_id))


@router.get(
    "/customers/{customer_id}/offers",
    summary="Every offer decision for the customer, sent or not, with its rule, consent "
    "record and zone event",
    dependencies=InScope,
)
def offers_of(customer_id: int, conn: Conn) -> list[OfferLine]:
    return [OfferLine(**vars_of(line)) for line in offer_history(conn, customer_id)]


def vars_of(line: object) -> dict[str, Any]:
    return {name: getattr(line, name) for name in OfferLine.model_fields}


@router.post(
    "/offers/{offer_id}/receipts",
    summary="A purchase receipt after a zone entry: redeems a sent offer (or counts a "
    "holdout conversion)",
    responses=responses(404, 409),
)
def receipt_add(
    offer_id: int, body: ReceiptIn, conn: Conn, now: Now, principal: RequireAgent, scope: Scope
) -> Recorded:
    owner = "SELECT customer_id FROM offer_decisions WHERE id = %s"
    owner_in_scope(conn, scope, owner, offer_id, f"offer {offer_id}")
    with conn.transaction():
        recorded = campaigns.redeem(
            conn, offer_id, body.receipt_id, body.amount_cents, body.at, principal.name, now
        )
    return Recorded(recorded=recorded)


@router.get(
    "/reports/uplift",
    summary="Per campaign: conversion against the holdout (95 % CI)",
    dependencies=Unscoped,
)
def uplift(conn: Conn, now: Now) -> list[Uplift]:
    return uplift_report(conn, now)


@router.get(
    "/reports/uplift/policies",
    summary="The learner against its holdout and against the random policy (the exploration "
    "share), on entries with more than one candidate (95 % CI), and the offline replay",
    dependencies=Unscoped,
)
def uplift_policies(conn: Conn, now: Now) -> PolicyComparison:
    return compare_policies(conn, now)


@router.get(
    "/reports/offer-replay",
    summary="Offline replay of the learner and a random policy on the logged random offers",
    dependencies=Unscoped,
)
def offer_replay(conn: Conn, now: Now) -> ReplayResult:
    return replay_evaluation(conn, now)


def _customer(conn: Conn, customer_id: int) -> dict[str, Any]:
    cur = conn.execute("SELECT * FROM customers WHERE id = %s", (customer_id,))
    row = cur.fetchone()
    if row is None or cur.description is None:
        raise NotFound(f"no customer {customer_id}")
    return {col.name: value for col, value in zip(cur.description, row, strict=True)}


def _rows(conn: Conn, sql: str, customer_id: int) -> list[dict[str, Any]]:
    cur = conn.execute(sql, (customer_id,))
    names = [col.name for col in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@router.get(
    "/customers/{customer_id}/export",
    summary="Everything held about the customer, as JSON (GDPR Art. 15 and 20)",
    responses=responses(404),
    dependencies=InScope,
)
def export(customer_id: int, conn: Conn, now: Now, principal: RequireAgent) -> dict[str, Any]:
    data = {
        "exported_at": now,
        "customer": _customer(conn, customer_id),
        "consent_ledger": _rows(
            conn,
            "SELECT * FROM consent_records WHERE customer_id = %s ORDER BY at, id",
            customer_id,
        ),
        "app_installations": _rows(
            conn, "SELECT * FROM presence_installations WHERE customer_id = %s", customer_id
        ),
        "zone_visits": [asdict(v) for v in customer_visits(conn, customer_id, limit=100_000)],
        "offers": [vars_of(line) for line in offer_history(conn, customer_id, limit=100_000)],
        "messages": _rows(
            conn,
            "SELECT id, channel, purpose, subject, body, status, created_at, sent_at "
            "FROM outbox WHERE customer_id = %s ORDER BY id",
            customer_id,
        ),
        "receipts": _rows(
            conn,
            "SELECT store_code, receipt_id, at, received_at, total_cents, lines, outcomes "
            "FROM pos_receipts WHERE customer_id = %s ORDER BY at, id",
            customer_id,
        ),
        "purchase_profile": _rows(
            conn,
            "SELECT category, month, spend_cents, lines FROM customer_category_spend "
            "WHERE customer_id = %s ORDER BY month, category",
            customer_id,
        ),
        "devices": _rows(conn, "SELECT * FROM devices WHERE customer_id = %s", customer_id),
        "tickets": _rows(conn, "SELECT * FROM tickets WHERE customer_id = %s", customer_id),
        "surveys": _rows(conn, "SELECT * FROM surveys WHERE customer_id = %s", customer_id),
    }
    record_audit(
        conn, at=now, actor=principal.name, entity="customer", entity_id=customer_id,
        action="data_exported", detail={"sections": sorted(data)},
    )  # fmt: skip
    return data


class Erased(BaseModel):
    customer_id: int
    removed: dict[str, int]


@router.post(
    "/customers/{customer_id}/erase-presence",
    summary="Erase the customer's presence history, derived profile and offer history "
    "(GDPR Art. 17); anonymous zone counts stay (admin)",
    responses=responses(404),
    dependencies=InScope,
)
def erase(
    customer_id: int, conn: Conn, now: Now, principal: RequireAdmin, context: Context
) -> Erased:
    with conn.transaction():
        _customer(conn, customer_id)
        removed = {
            **campaigns.erase_offers(conn, customer_id),
            **erase_presence(conn, customer_id),
        }
        record_audit(
            conn, at=now, actor=principal.name, entity="customer", entity_id=customer_id,
            action="presence_erased", detail=removed,
        )  # fmt: skip
    if removed["app_accounts"]:
        revoke_in_broker(conn, context.settings.broker)
    return Erased(customer_id=customer_id, removed=removed)
