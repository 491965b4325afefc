"""Campaigns and offer decisions on PostgreSQL; the customer history that caps and suppresses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from crm_core.campaigns.model import Campaign, FailingAppliance, History, Limits, Outcome
from crm_core.campaigns.spend import erase_spend, spend_profiles
from crm_core.campaigns.stock import BALANCE_SQL, SPENT_SQL, STOCK_SQL
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


def _select(where: str = "", order: str = "") -> str:
    """Campaign rows with stock and spend as the read models show them (reservations'
    unused units counted back, see :mod:`crm_core.campaigns.stock`)."""
    columns = ", ".join(
        STOCK_SQL if c == "stock" else SPENT_SQL if c == "spent_cents" else f"campaigns.{c}"
        for c in (c.strip() for c in _COLUMNS.split(","))
    )
    return f"SELECT {columns} FROM campaigns {BALANCE_SQL} {where} {order}"


def list_campaigns(conn: Connection) -> list[Campaign]:
    rows = conn.execute(_select(order="ORDER BY starts_at DESC, id")).fetchall()
    return [_campaign(r) for r in rows]


def get_campaign(conn: Connection, campaign_id: int) -> Campaign:
    row = conn.execute(_select("WHERE campaigns.id = %s"), (campaign_id,)).fetchone()
    if row is None:
        raise NotFound(f"no campaign {campaign_id}")
    return _campaign(row)


def unended_campaigns(conn: Connection, at: datetime) -> list[Campaign]:
    """Campaigns not ended at ``at``, running or still to start (definitions: whether units
    are left is the allocator's business, :mod:`crm_core.campaigns.stock`)."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM campaigns WHERE ends_at > %s", (at,)).fetchall()
    return [_campaign(r) for r in rows]


def customer_histories(
    conn: Connection, since: dict[int, datetime], limits: Limits
) -> dict[int, History]:
    """What caps or suppresses offers to these customers, as it stands now (a few queries
    for the lot); ``since`` maps each customer to the moment of their zone entry."""
    ids = sorted(since)
    if not ids:
        return {}
    ats = [since[c] for c in ids]
    counts = conn.execute(
        """
        SELECT v.c,
          (SELECT count(*) FROM outbox o WHERE o.customer_id = v.c AND o.purpose = ANY(%(p)s)
             AND o.created_at > v.at - interval '1 day' AND o.status <> 'suppressed'),
          (SELECT count(*) FROM tickets t WHERE t.customer_id = v.c
             AND t.status NOT IN ('resolved', 'closed', 'cancelled')),
          (SELECT max(s.answered_at) FROM surveys s WHERE s.customer_id = v.c
             AND s.answered_at > v.at - %(days)s * interval '1 day'
             AND (s.csat <= 2 OR s.nps <= 6))
        FROM unnest(%(ids)s::bigint[], %(ats)s::timestamptz[]) AS v(c, at)
        """,
        {"p": MARKETING_PURPOSES, "ids": ids, "ats": ats, "days": limits.bad_survey_days},
    ).fetchall()
    sent = conn.execute(
        "SELECT customer_id, campaign_id, max(at), count(*) FROM offer_decisions "
        "WHERE customer_id = ANY(%s) AND outcome = 'sent' AND campaign_id IS NOT NULL "
        "GROUP BY customer_id, campaign_id",
        (ids,),
    ).fetchall()
    failing = conn.execute(
        "SELECT DISTINCT d.customer_id, d.device_type, d.model, f.diagnosis->>'part' "
        "FROM faults f JOIN devices d ON d.id = f.device_id WHERE d.customer_id = ANY(%s) "
        "AND f.status <> 'cleared' AND coalesce(f.diagnosis->>'part', '') <> ''",
        (ids,),
    ).fetchall()
    last_sent: dict[int, dict[int, datetime]] = {c: {} for c in ids}
    times_sent: dict[int, dict[int, int]] = {c: {} for c in ids}
    for customer, campaign, last, n in sent:
        last_sent[int(customer)][int(campaign)] = last
        times_sent[int(customer)][int(campaign)] = int(n)
    spend = spend_profiles(conn, ids, max(ats))
    broken: dict[int, list[FailingAppliance]] = {c: [] for c in ids}
    for customer, device_type, model, part in failing:
        broken[int(customer)].append(FailingAppliance(device_type, model, part))
    return {
        int(c): History(
            marketing_today=int(today),
            open_tickets=int(tickets),
            bad_survey_at=survey,
            last_sent=last_sent[int(c)],
            times_sent=times_sent[int(c)],
            failing=tuple(broken[int(c)]),
            purchases=spend.get(int(c), {}),
        )
        for c, today, tickets, survey in counts
    }


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
    trigger: str = "entry"


def record_decisions(conn: Connection, decisions: list[DecisionRow]) -> dict[tuple[int, str], int]:
    """Store the decisions in one statement: (visit id, trigger) -> decision id, for those stored
    (a zone entry decided already, a redelivery, is left out)."""
    if not decisions:
        return {}
    columns = (
        "at, customer_id, visit_id, zone_id, campaign_id, outcome, reason, rule, "
        "consent_record_id, outbox_key, expires_at, detail, trigger"
    )
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(decisions))
    params: list[Any] = []
    for d in decisions:
        params.extend((
            d.at, d.customer_id, d.visit_id, d.zone_id, d.campaign_id, d.outcome, d.reason,
            d.rule, d.consent_record_id, d.outbox_key, d.expires_at, Jsonb(d.detail or {}),
            d.trigger,
        ))  # fmt: skip
    rows = conn.execute(
        f"INSERT INTO offer_decisions ({columns}) VALUES {values} "
        "ON CONFLICT (visit_id, trigger) DO NOTHING RETURNING visit_id, trigger, id",
        params,
    ).fetchall()
    return {(int(r[0]), r[1]): int(r[2]) for r in rows}


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

    The purchase profile derived from receipts for the learner goes too. Campaign spend and
    stock stay (they hold no personal data); the learner's model holds no identity (sums
    over coarse context features only).
    """
    decisions = conn.execute(
        "DELETE FROM offer_decisions WHERE customer_id = %s", (customer_id,)
    ).rowcount
    pushes = conn.execute(
        "DELETE FROM outbox WHERE customer_id = %s AND purpose = ANY(%s)",
        (customer_id, MARKETING_PURPOSES),
    ).rowcount
    profile = erase_spend(conn, customer_id)
    return {"offer_decisions": decisions, "marketing_messages": pushes, "purchase_profile": profile}
