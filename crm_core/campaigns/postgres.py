"""Campaigns and offer decisions on PostgreSQL; the customer history that caps and suppresses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from crm_core.campaigns.model import Campaign, FailingAppliance, History, Limits, Outcome
from crm_core.kernel.audit import record_audit
from crm_core.kernel.errors import NotFound

Connection = psycopg.Connection[TupleRow]
_COLUMNS = (
    "id, code, name, kind, message, starts_at, ends_at, zone_ids, categories, device_types, "
    "discount_percent, value_cents, cost_cents, budget_cents, spent_cents, stock, min_dwell_s, "
    "days_apart, max_per_customer, offer_ttl_s"
)
MARKETING_PURPOSES = ["marketing", "location_marketing"]


class CampaignConflict(ValueError):
    """A campaign code in use, or a receipt for an offer that cannot be redeemed."""


def _campaign(row: tuple[Any, ...]) -> Campaign:
    return Campaign(
        int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6],
        tuple(int(z) for z in row[7]), tuple(row[8]), tuple(row[9]), float(row[10]),
        int(row[11]), int(row[12]), int(row[13]), int(row[14]), int(row[15]), int(row[16]),
        int(row[17]), int(row[18]), int(row[19]),
    )  # fmt: skip


def add_campaign(conn: Connection, fields: dict[str, Any], now: datetime, actor: str) -> Campaign:
    names = [c.strip() for c in _COLUMNS.split(",")[1:] if c.strip() != "spent_cents"]
    row = conn.execute(
        f"INSERT INTO campaigns ({', '.join(names)}, created_at) "
        f"VALUES ({', '.join(f'%({n})s' for n in names)}, %(created_at)s) "
        f"ON CONFLICT (code) DO NOTHING RETURNING {_COLUMNS}",
        {**fields, "created_at": now},
    ).fetchone()
    if row is None:
        raise CampaignConflict(f"campaign {fields['code']!r} exists already")
    campaign = _campaign(row)
    detail = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields.items()}
    record_audit(
        conn, at=now, actor=actor, entity="campaign", entity_id=campaign.id,
        action="created", detail=detail,
    )  # fmt: skip
    return campaign


def list_campaigns(conn: Connection) -> list[Campaign]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM campaigns ORDER BY starts_at DESC, id").fetchall()
    return [_campaign(r) for r in rows]


def get_campaign(conn: Connection, campaign_id: int) -> Campaign:
    row = conn.execute(f"SELECT {_COLUMNS} FROM campaigns WHERE id = %s", (campaign_id,)).fetchone()
    if row is None:
        raise NotFound(f"no campaign {campaign_id}")
    return _campaign(row)


def live_campaigns(conn: Connection, at: datetime) -> list[Campaign]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM campaigns WHERE starts_at <= %s AND ends_at > %s "
        "AND stock > 0 AND spent_cents + cost_cents <= budget_cents",
        (at, at),
    ).fetchall()
    return [_campaign(r) for r in rows]


def customer_history(conn: Connection, customer_id: int, at: datetime, limits: Limits) -> History:
    """What caps or suppresses offers to this customer, as it stands now."""
    row = conn.execute(
        """
        SELECT
          (SELECT count(*) FROM outbox WHERE customer_id = %(c)s AND purpose = ANY(%(p)s)
             AND created_at > %(day)s AND status <> 'suppressed'),
          (SELECT count(*) FROM tickets WHERE customer_id = %(c)s
             AND status NOT IN ('resolved', 'closed', 'cancelled')),
          (SELECT max(answered_at) FROM surveys WHERE customer_id = %(c)s
             AND answered_at > %(since)s AND (csat <= 2 OR nps <= 6))
        """,
        {
            "c": customer_id,
            "p": MARKETING_PURPOSES,
            "day": at - timedelta(days=1),
            "since": at - timedelta(days=limits.bad_survey_days),
        },
    ).fetchone()
    assert row is not None
    sent = conn.execute(
        "SELECT campaign_id, max(at), count(*) FROM offer_decisions WHERE customer_id = %s "
        "AND outcome = 'sent' AND campaign_id IS NOT NULL GROUP BY campaign_id",
        (customer_id,),
    ).fetchall()
    failing = conn.execute(
        "SELECT DISTINCT d.device_type, d.model, f.diagnosis->>'part' FROM faults f "
        "JOIN devices d ON d.id = f.device_id WHERE d.customer_id = %s "
        "AND f.status <> 'cleared' AND coalesce(f.diagnosis->>'part', '') <> ''",
        (customer_id,),
    ).fetchall()
    return History(
        marketing_today=int(row[0]),
        open_tickets=int(row[1]),
        bad_survey_at=row[2],
        last_sent={int(r[0]): r[1] for r in sent},
        times_sent={int(r[0]): int(r[2]) for r in sent},
        failing=tuple(FailingAppliance(r[0], r[1], r[2]) for r in failing),
    )


@dataclass(frozen=True, slots=True)
class DecisionRow:
    at: datetime
    customer_id: int
    visit_id: int
    zone_id: int
    campaign_id: int | None
    outcome: Outcome
    reason: str
    rule: str
    consent_record_id: int | None
    outbox_key: str | None = None
    expires_at: datetime | None = None
    detail: dict[str, Any] | None = None


def record_decision(conn: Connection, decision: DecisionRow) -> int | None:
    """Store the decision; None when this zone entry was decided already (a redelivery)."""
    row = conn.execute(
        "INSERT INTO offer_decisions (at, customer_id, visit_id, zone_id, campaign_id, outcome, "
        "reason, rule, consent_record_id, outbox_key, expires_at, detail) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (visit_id) DO NOTHING RETURNING id",
        (
            decision.at, decision.customer_id, decision.visit_id, decision.zone_id,
            decision.campaign_id, decision.outcome, decision.reason, decision.rule,
            decision.consent_record_id, decision.outbox_key, decision.expires_at,
            Jsonb(decision.detail or {}),
        ),
    ).fetchone()  # fmt: skip
    return None if row is None else int(row[0])


def spend(conn: Connection, campaign_id: int) -> None:
    """One offer's cost against the budget and one unit of stock (never below zero)."""
    conn.execute(
        "UPDATE campaigns SET spent_cents = spent_cents + cost_cents, stock = stock - 1 "
        "WHERE id = %s AND stock > 0",
        (campaign_id,),
    )


def redeem(
    conn: Connection,
    decision_id: int,
    receipt_id: str,
    amount_cents: int,
    at: datetime,
    actor: str,
    recorded_at: datetime | None = None,
) -> bool:
    """Record the receipt of a purchase of the campaign's product after a zone entry: the
    redemption of a sent offer (``decision_id`` is the push's ``data.offer_id``), or a
    conversion in the holdout (for uplift). False if this receipt was recorded already.

    :class:`NotFound` for an unknown offer; :class:`CampaignConflict` if it was not sent,
    expired before the purchase, or was redeemed by another receipt.
    """
    row = conn.execute(
        "SELECT outcome, expires_at, receipt_id, customer_id FROM offer_decisions "
        "WHERE id = %s FOR UPDATE",
        (decision_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no offer {decision_id}")
    outcome, expires_at, existing, customer_id = row
    if existing == receipt_id:
        return False
    if outcome == "suppressed":
        raise CampaignConflict(f"offer {decision_id} was suppressed: nothing to redeem")
    if existing is not None:
        raise CampaignConflict(f"offer {decision_id} was redeemed by receipt {existing!r}")
    recorded_at = recorded_at or at
    if expires_at is not None and at > expires_at:
        raise CampaignConflict(f"offer {decision_id} expired at {expires_at.isoformat()}")
    conn.execute(
        "UPDATE offer_decisions SET redeemed_at = %s, receipt_id = %s, amount_cents = %s "
        "WHERE id = %s",
        (recorded_at, receipt_id, amount_cents, decision_id),
    )
    record_audit(
        conn, at=recorded_at, actor=actor, entity="customer", entity_id=customer_id,
        action="offer_redeemed",
        detail={"offer": decision_id, "receipt": receipt_id, "amount_cents": amount_cents},
    )  # fmt: skip
    return True


def erase_offers(conn: Connection, customer_id: int) -> dict[str, int]:
    """Delete the customer's offer history and the pushes that carried it (GDPR Art. 17).

    Campaign spend and stock stay (they hold no personal data); the learner's model holds
    no identity (coarse context features only).
    """
    decisions = conn.execute(
        "DELETE FROM offer_decisions WHERE customer_id = %s", (customer_id,)
    ).rowcount
    pushes = conn.execute(
        "DELETE FROM outbox WHERE customer_id = %s AND purpose = ANY(%s)",
        (customer_id, MARKETING_PURPOSES),
    ).rowcount
    return {"offer_decisions": decisions, "marketing_messages": pushes}
