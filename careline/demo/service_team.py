"""The demo's service team and customers, working through the same HTTP API and links a
real team and real customers use, so that the whole loop shows: a dispatcher assigns the
best-suggested technician, books a visit, the technician starts and resolves with a code
that fits the diagnosis; the customer answers the satisfaction survey from the link in
their mail. Half the tickets are left open, so the queue has work to show.

Steps follow the ticket's age in wall-clock seconds (the demo replays days in minutes), one
step per ticket per round; tickets that resolve themselves (a door closed) are left alone.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import random
import re
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from careline.bootstrap import Pool
from crm_core.auth.users import create_api_key

log = logging.getLogger(__name__)

ASSIGN_AFTER_S, SCHEDULE_AFTER_S, START_AFTER_S, RESOLVE_AFTER_S = 20, 35, 50, 65
SURVEY_LINK = re.compile(r"https?://\S+/survey/\S+")


@dataclass
class ServiceTeam:
    pool: Pool
    console_url: str
    seed: int = 7
    _key: str = ""
    _seen: dict[int, float] = field(default_factory=dict)
    _answered: set[int] = field(default_factory=set)
    _booked: int = 0

    def __post_init__(self) -> None:
        with self.pool.connection() as conn:
            self._key = create_api_key(conn, "demo dispatcher", "agent")
        self._random = random.Random(self.seed)

    def _api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - our own API, http by construction
            f"{self.console_url}/api/v1{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self._key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own API
            return json.loads(answer.read())

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(3.0):
            try:
                self.round(datetime.now(UTC).timestamp())
            except Exception as exc:  # the demo's team never takes the demo down
                log.warning("the demo's service team stumbled: %s", exc)

    def round(self, now: float) -> None:
        with self.pool.connection() as conn:
            live = conn.execute(
                "SELECT id, status FROM tickets WHERE kind = 'proactive' "
                "AND status NOT IN ('resolved', 'closed', 'cancelled') ORDER BY id"
            ).fetchall()
            surveys = conn.execute(
                "SELECT (regexp_match(idempotency_key, 'ticket/(\\d+)/survey'))[1]::bigint, body "
                "FROM outbox o WHERE idempotency_key LIKE 'ticket/%%/survey' AND status = 'sent' "
                # answered in an earlier run of the demo: the link would answer 409
                "AND NOT EXISTS (SELECT 1 FROM surveys s WHERE s.answered_at IS NOT NULL "
                "AND o.idempotency_key = 'ticket/' || s.ticket_id || '/survey')"
            ).fetchall()
        for ticket_id, status in live:
            first = self._seen.setdefault(int(ticket_id), now)
            self.step(int(ticket_id), str(status), now - first)
        for ticket_id, body in surveys:
            if int(ticket_id) not in self._answered:
                self._answered.add(int(ticket_id))
                self.answer_survey(int(ticket_id), str(body))

    def step(self, ticket_id: int, status: str, age_s: float) -> None:
        if status == "new" and age_s >= ASSIGN_AFTER_S:
            suggestions = self._api("GET", f"/tickets/{ticket_id}/suggestions")
            if not suggestions:
                return
            best = suggestions[0]
            self._api(
                "POST", f"/tickets/{ticket_id}/assign", {"technician_id": best["technician_id"]}
            )
            typer.echo(f"  ticket #{ticket_id} assigned to {best['name']} ({best['why']})")
        elif status == "assigned" and age_s >= SCHEDULE_AFTER_S:
            self._booked += 1  # one two-hour slot after another, four a day
            slot = self._booked - 1
            day = (datetime.now(UTC) + timedelta(days=1 + slot // 4)).replace(
                hour=8 + 2 * (slot % 4), minute=0, second=0, microsecond=0
            )
            window = {
                "window_start": day.isoformat(),
                "window_end": (day + timedelta(hours=2)).isoformat(),
            }
            self._api("POST", f"/tickets/{ticket_id}/schedule", window)
            typer.echo(
                f"  ticket #{ticket_id} visit booked for {day:%a %d %b} "
                f"{day:%H:%M}-{day.hour + 2:02d}:00 UTC"
            )
        elif status == "scheduled" and age_s >= START_AFTER_S and ticket_id % 2 == 1:
            self._api("PATCH", f"/tickets/{ticket_id}", {"status": "in_progress"})
        elif status == "in_progress" and age_s >= RESOLVE_AFTER_S:
            ticket = self._api("GET", f"/tickets/{ticket_id}")
            parts = [f["diagnosis"]["part"] for f in ticket["faults"] if f.get("diagnosis")]
            part = next((p for p in reversed(parts) if p), "")  # the newest diagnosis
            code = "part_replaced" if part else "repaired"
            note = f"replaced the {part}" if part else "repaired on site"
            self._api("POST", f"/tickets/{ticket_id}/resolve", {"code": code, "comment": note})
            typer.echo(f"  ticket #{ticket_id} resolved: {code} ({note}); survey mailed")

    def answer_survey(self, ticket_id: int, body: str) -> None:
        """Two customers in three answer, as their browser would (with the form's token)."""
        if self._random.random() > 2 / 3:
            return
        link = SURVEY_LINK.search(body)
        if link is None:
            return
        path = urllib.parse.urlsplit(link.group(0)).path
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        url = f"{self.console_url}{path}"
        browser.open(url, timeout=10).read()
        token = next((c.value for c in jar if c.name == "csrftoken"), "")
        csat = self._random.choice([3, 4, 4, 5, 5, 5])
        nps = self._random.choice([6, 8, 9, 9, 10, 10])
        form = urllib.parse.urlencode(
            {"csrftoken": token, "csat": csat, "nps": nps, "comment": "Fixed before we noticed."}
        ).encode()
        answer = urllib.request.Request(url, data=form, method="POST")  # noqa: S310 - ours
        browser.open(answer, timeout=10).read()
        typer.echo(f"  survey for ticket #{ticket_id} answered: CSAT {csat}/5, NPS {nps}/10")
