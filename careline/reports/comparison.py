"""Proactive against reactive tickets, on the same measures. Pure (pandas).

For the tickets created in a period, per kind and for all: median hours to first response
and to resolution (:func:`careline.reports.measures.ticket_times`), SLA compliance of both
clocks (:func:`careline.reports.service_measures.sla_outcomes`), the first-time-fix rate,
and CSAT % and NPS from the surveys of those tickets, whenever they were answered.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from careline.reports.measures import ticket_times
from careline.reports.service_measures import METRICS, pct, satisfaction_row, whole_scores

COMPARISON_COLUMNS: Final = [
    "kind",
    "tickets",
    "first_response_median_h",
    "resolution_median_h",
    "first_response_sla_pct",
    "resolution_sla_pct",
    "first_time_fix_pct",
    "csat_answers",
    "csat_pct",
    "nps_answers",
    "nps",
]
KINDS: Final = ("proactive", "reactive", "all")


def compare_kinds(
    tickets: pd.DataFrame,
    history: pd.DataFrame,
    outcomes: pd.DataFrame,
    answers: pd.DataFrame,
) -> pd.DataFrame:
    """``tickets``: id, kind, created_at, first_time_fix; ``history`` as for
    :func:`ticket_times`; ``outcomes``: per ticket id, the SLA outcome of each clock;
    ``answers``: ticket_id, csat, nps of the surveys about these tickets."""
    times = ticket_times(tickets, history).set_index("kind")
    kind_of = tickets.set_index("id")["kind"]
    rows = []
    for kind in KINDS:
        ids = kind_of.index if kind == "all" else kind_of.index[kind_of == kind]
        row: dict[str, object] = {
            "kind": kind,
            "tickets": len(ids),
            "first_response_median_h": times.at[kind, "first_response_median_h"],
            "resolution_median_h": times.at[kind, "resolution_median_h"],
        }
        mine = outcomes[outcomes.index.isin(ids)]
        for metric in METRICS:
            met = int((mine[metric] == "met").sum())
            missed = int((mine[metric] == "missed").sum())
            row[f"{metric}_sla_pct"] = pct(met, met + missed)
        recorded = tickets[tickets["id"].isin(ids) & tickets["first_time_fix"].notna()]
        row["first_time_fix_pct"] = pct(
            int(recorded["first_time_fix"].astype(bool).sum()), len(recorded)
        )
        said = answers[answers["ticket_id"].isin(ids)]
        csat = [int(v) for v in said["csat"].dropna()]
        scores = [int(v) for v in said["nps"].dropna()]
        summary = satisfaction_row(csat, scores, len(said))
        row.update({c: summary[c] for c in ("csat_answers", "csat_pct", "nps_answers", "nps")})
        rows.append(row)
    return whole_scores(pd.DataFrame(rows, columns=COMPARISON_COLUMNS))
