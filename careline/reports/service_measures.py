"""Service quality on pandas frames: SLA compliance, first-time fix, CSAT and NPS. Pure.

* **SLA compliance**: each ticket's two clocks (first response, resolution) are computed
  from its history by :func:`crm_core.tickets.sla.sla_status`, the same function the SLA
  job and the ticket page use, in business time, with the policy of the ticket's tier and
  priority. A clock that stopped in time is *met*; one past its target is *missed*, and so
  is one the SLA job recorded as breached (``sla_alerts``: a breach stays a breach); one
  still running or paused is *open*; a cancelled ticket's clock counts for nothing.
  Compliance % = met / (met + missed): open clocks are not decided yet.
* **First-time-fix rate**: resolved tickets whose ``first_time_fix`` is recorded; the
  share of them fixed at the first visit.
* **CSAT % and NPS** follow conventions §4.5 (:mod:`crm_core.surveys.model`), per ISO
  week (Monday to Sunday, UTC) of the answer.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final

import pandas as pd

from crm_core.surveys.model import csat_percent, nps
from crm_core.tickets.model import HistoryEntry
from crm_core.tickets.policies import TIERS
from crm_core.tickets.queries import SlaContext
from crm_core.tickets.sla import SlaMetric, SlaState, sla_status

METRICS: Final[tuple[SlaMetric, ...]] = ("first_response", "resolution")
OUTCOME: Final[dict[SlaState, str]] = {
    "achieved": "met",
    "breached": "missed",
    "running": "open",
    "warning": "open",
    "paused": "open",
    "cancelled": "cancelled",
}
NO_DEVICE: Final = "(no device)"
SLA_COLUMNS: Final = [
    "group",
    "tickets",
    *[f"{m}_{c}" for m in METRICS for c in ("met", "missed", "open", "compliance_pct")],
]
FTF_COLUMNS: Final = ["group", "resolved", "first_time_fixes", "first_time_fix_pct"]
SATISFACTION_COLUMNS: Final = [
    "week",
    "answers",
    "csat_answers",
    "csat_pct",
    "nps_answers",
    "promoters",
    "passives",
    "detractors",
    "nps",
]


def pct(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, one decimal; None when there is no whole.

    >>> pct(2, 3), pct(0, 0)
    (66.7, None)
    """
    return None if whole == 0 else round(100.0 * part / whole, 1)


def sla_outcomes(
    tickets: pd.DataFrame,
    history: pd.DataFrame,
    breaches: pd.DataFrame,
    ctx: SlaContext,
    now: datetime,
) -> pd.DataFrame:
    """Per ticket (indexed by id): ``first_response`` and ``resolution``, each ``met``,
    ``missed``, ``open`` or ``cancelled`` at ``now``.

    ``tickets``: id, priority, sla_tier, created_at; ``history``: ticket_id, at, actor,
    action, old_status, new_status; ``breaches``: ticket_id, metric.
    """
    lines: dict[int, list[HistoryEntry]] = {}
    for row in history.itertuples(index=False):
        lines.setdefault(int(row.ticket_id), []).append(
            HistoryEntry(
                row.at.to_pydatetime(),
                str(row.actor),
                row.action,
                None if pd.isna(row.old_status) else row.old_status,
                None if pd.isna(row.new_status) else row.new_status,
            )
        )
    recorded = {(int(t), str(m)) for t, m in breaches[["ticket_id", "metric"]].itertuples(False)}
    out: dict[int, dict[str, str]] = {}
    for ticket in tickets.itertuples(index=False):
        tid = int(ticket.id)
        target = ctx.levels.target(str(ticket.sla_tier), int(ticket.priority))
        status = sla_status(
            ticket.created_at.to_pydatetime(),
            lines.get(tid, []),
            target,
            ctx.calendar,
            now,
            ctx.warning_share,
        )
        out[tid] = {
            clock.metric: "missed" if (tid, clock.metric) in recorded else OUTCOME[clock.state]
            for clock in status.clocks
        }
    return pd.DataFrame.from_dict(out, orient="index", columns=list(METRICS))


def _sla_row(group: str, outcomes: pd.DataFrame) -> dict[str, object]:
    row: dict[str, object] = {"group": group, "tickets": len(outcomes)}
    for metric in METRICS:
        counts = outcomes[metric].value_counts() if len(outcomes) else pd.Series(dtype=int)
        met, missed = int(counts.get("met", 0)), int(counts.get("missed", 0))
        row[f"{metric}_met"] = met
        row[f"{metric}_missed"] = missed
        row[f"{metric}_open"] = int(counts.get("open", 0))
        row[f"{metric}_compliance_pct"] = pct(met, met + missed)
    return row


def sla_compliance(
    tickets: pd.DataFrame, outcomes: pd.DataFrame, labels: dict[str, str]
) -> pd.DataFrame:
    """One row per contract tier that has tickets (labelled), and one for all."""
    tiers = tickets.set_index("id")["sla_tier"]
    rows = [
        _sla_row(labels.get(tier, tier), outcomes[tiers.reindex(outcomes.index) == tier])
        for tier in TIERS
        if (tiers == tier).any()
    ]
    rows.append(_sla_row("all", outcomes))
    return pd.DataFrame(rows, columns=SLA_COLUMNS)


def _ftf_row(group: str, recorded: pd.Series) -> dict[str, object]:
    fixes = int(recorded.sum())
    return {
        "group": group,
        "resolved": len(recorded),
        "first_time_fixes": fixes,
        "first_time_fix_pct": pct(fixes, len(recorded)),
    }


def first_time_fix(tickets: pd.DataFrame) -> pd.DataFrame:
    """Per device model (tickets about no device together), and for all: resolved tickets
    with a first-time-fix record, how many were fixed at the first visit, and the rate."""
    done = tickets[tickets["first_time_fix"].notna()].copy()
    done["group"] = done["model"].fillna(NO_DEVICE).replace("", NO_DEVICE)
    done["fixed"] = done["first_time_fix"].astype(bool)
    rows = [_ftf_row(str(g), part["fixed"]) for g, part in done.groupby("group", sort=True)]
    rows.append(_ftf_row("all", done["fixed"]))
    return pd.DataFrame(rows, columns=FTF_COLUMNS)


def week_of(moment: pd.Timestamp) -> str:
    """The Monday (UTC) that starts the ISO week of ``moment``, as YYYY-MM-DD."""
    day: date = moment.tz_convert("UTC").date()
    return (day - timedelta(days=day.weekday())).isoformat()


def satisfaction_row(csat: list[int], scores: list[int], answers: int) -> dict[str, object]:
    """Counts, CSAT % and NPS of a set of answers (each question may have been skipped)."""
    return {
        "answers": answers,
        "csat_answers": len(csat),
        "csat_pct": csat_percent(csat),
        "nps_answers": len(scores),
        "promoters": sum(1 for s in scores if s >= 9),
        "passives": sum(1 for s in scores if 7 <= s <= 8),
        "detractors": sum(1 for s in scores if s <= 6),
        "nps": nps(scores),
    }


def _scores(part: pd.DataFrame, column: str) -> list[int]:
    return [int(v) for v in part[column].dropna()]


def satisfaction_by_week(answers: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """One row per ISO week touching [start, end), empty weeks included, oldest first.
    ``answers``: answered_at, csat, nps (answers given in the period)."""
    weeks: list[str] = []
    day = pd.Timestamp(start)
    while day < pd.Timestamp(end):
        week = week_of(day)
        if week not in weeks:
            weeks.append(week)
        day += pd.Timedelta(days=1)
    keyed = answers.assign(week=answers["answered_at"].map(week_of)) if len(answers) else None
    rows = []
    for week in weeks:
        part = answers.iloc[0:0] if keyed is None else keyed[keyed["week"] == week]
        summary = satisfaction_row(_scores(part, "csat"), _scores(part, "nps"), len(part))
        rows.append({"week": week, **summary})
    return whole_scores(pd.DataFrame(rows, columns=SATISFACTION_COLUMNS))


def whole_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """CSAT % and NPS are whole numbers (§4.5), missing where there were no answers."""
    for column in ("csat_pct", "nps"):
        frame[column] = frame[column].astype("Int64")
    return frame
