"""Technicians: create and list them, the candidates for a ticket, a technician's day.

Technicians are who the tickets context dispatches to, so they live beside it. Creating
one is an admin's change and lands in ``audit_log``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import ReadModel, UtcDateTime, fetch_model, fetch_models
from crm_core.tickets.assignment import KM_PER_LIVE_TICKET, Candidate, Suggestion, rank
from crm_core.tickets.model import TicketInputError, TicketStatus

_LIVE = "t.status NOT IN ('resolved', 'closed', 'cancelled')"


class TechnicianRecord(ReadModel):
    id: int
    name: str
    email: str
    phone: str | None
    skills: list[str]
    region: str
    home_latitude: float | None
    home_longitude: float | None
    active: bool
    live_tickets: int


_SELECT_TECH = f"""
    SELECT tc.id, tc.name, tc.email, tc.phone, tc.skills, tc.region, tc.home_latitude,
           tc.home_longitude, tc.active,
           (SELECT count(*) FROM tickets t WHERE t.technician_id = tc.id AND {_LIVE})
               AS live_tickets
    FROM technicians tc
"""


def list_technicians(
    conn: psycopg.Connection[TupleRow], *, active_only: bool = False
) -> list[TechnicianRecord]:
    where = " WHERE tc.active" if active_only else ""
    return fetch_models(conn, TechnicianRecord, _SELECT_TECH + where + " ORDER BY tc.name")


def get_technician(conn: psycopg.Connection[TupleRow], technician_id: int) -> TechnicianRecord:
    found = fetch_model(
        conn, TechnicianRecord, _SELECT_TECH + " WHERE tc.id = %s", (technician_id,)
    )
    if found is None:
        raise NotFound(f"technician {technician_id} does not exist")
    return found


def create_technician(
    conn: psycopg.Connection[TupleRow],
    *,
    name: str,
    email: str,
    skills: list[str],
    region: str = "",
    phone: str | None = None,
    home: tuple[float, float] | None = None,
    by: str,
    now: datetime,
) -> int:
    """A new technician (or, for an e-mail already known, the existing one's id unchanged:
    creating twice is harmless). Audited."""
    if not name.strip() or "@" not in email:
        raise TicketInputError("a technician needs a name and an e-mail address")
    clean = sorted({s.strip().lower() for s in skills if s.strip()})
    lat, lon = home if home else (None, None)
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO technicians (name, email, phone, skills, region, home_latitude, "
            "home_longitude) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (email) DO NOTHING RETURNING id",
            (name.strip(), email.strip().lower(), phone, clean, region, lat, lon),
        ).fetchone()
        if row is None:
            existing = conn.execute(
                "SELECT id FROM technicians WHERE email = %s", (email.strip().lower(),)
            ).fetchone()
            assert existing is not None
            return int(existing[0])
        technician_id = int(row[0])
        conn.execute(
            "INSERT INTO audit_log (at, actor, entity, entity_id, action, detail) "
            "VALUES (%s, %s, 'technician', %s, 'created', %s)",
            (
                now,
                by,
                str(technician_id),
                Jsonb({"name": name, "email": email, "skills": clean, "region": region}),
            ),
        )
    return technician_id


def suggestions(
    conn: psycopg.Connection[TupleRow],
    ticket_id: int,
    km_per_ticket: float = KM_PER_LIVE_TICKET,
) -> list[Suggestion]:
    """Active technicians ranked for the ticket: the device type is the skill it needs, the
    distance is to the device's install site (or the customer's first site)."""
    # The install site; for a call about no particular device, the customer's first site.
    row = conn.execute(
        """
        SELECT d.device_type, coalesce(s.latitude, cs.latitude),
               coalesce(s.longitude, cs.longitude)
        FROM tickets t
        LEFT JOIN devices d ON d.id = t.device_id
        LEFT JOIN sites s ON s.id = d.site_id
        LEFT JOIN LATERAL (
            SELECT latitude, longitude FROM sites
            WHERE customer_id = t.customer_id AND latitude IS NOT NULL ORDER BY id LIMIT 1
        ) cs ON true
        WHERE t.id = %s
        """,
        (ticket_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    device_type, lat, lon = row
    required = {device_type} if device_type else set()
    site = (lat, lon) if lat is not None and lon is not None else None
    candidates = [
        Candidate(
            t.id,
            t.name,
            frozenset(t.skills),
            (t.home_latitude, t.home_longitude)
            if t.home_latitude is not None and t.home_longitude is not None
            else None,
            t.live_tickets,
        )
        for t in list_technicians(conn, active_only=True)
    ]
    return rank(candidates, required, site, km_per_ticket)


class Visit(ReadModel):
    ticket_id: int
    status: TicketStatus
    priority: int
    subject: str
    customer_name: str
    address: str | None
    device_serial: str | None
    window_start: UtcDateTime | None
    window_end: UtcDateTime | None


def technician_day(
    conn: psycopg.Connection[TupleRow],
    technician_id: int,
    day: date,
    timezone: str,
    customers: list[int] | None = None,
) -> list[Visit]:
    """The technician's visits booked on ``day`` (in the team's time zone), in time order,
    then their other live tickets without a window (only ``customers``' when given)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), zone)
    end = start + timedelta(days=1)
    return fetch_models(
        conn,
        Visit,
        f"""
        SELECT t.id AS ticket_id, t.status, t.priority, t.subject, c.name AS customer_name,
               s.address, d.serial AS device_serial, t.window_start, t.window_end
        FROM tickets t
        JOIN customers c ON c.id = t.customer_id
        LEFT JOIN devices d ON d.id = t.device_id
        LEFT JOIN sites s ON s.id = d.site_id
        WHERE t.technician_id = %(tech)s
          AND ((t.window_start < %(end)s AND t.window_end > %(start)s)
               OR (t.window_start IS NULL AND {_LIVE}))
          AND (%(scope)s::bigint[] IS NULL OR t.customer_id = ANY(%(scope)s))
        ORDER BY t.window_start NULLS LAST, t.priority, t.id
        """,
        {"tech": technician_id, "start": start, "end": end, "scope": customers},
    )
