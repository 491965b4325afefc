"""A named lease in PostgreSQL: at most one holder at a time, lost by not renewing.

Two processes that must not both do a thing (two schedulers running the same job) take
the lease of that name; one gets it, the other waits in standby and takes it over once
the holder has let it run out (a crash, a lost network). Time is the database's
``now()``, so the holders' clocks do not matter. The *token* grows by one every time the
lease changes hands: work that carries the token it started with can be fenced off once
someone else holds the lease.

Holders renew well before ``ttl`` runs out (a third of it is usual); a holder that cannot
renew must stop the work at once, because another may take over after ``ttl``.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow

Connection = psycopg.Connection[TupleRow]

_TAKE = """
    INSERT INTO leases AS l (name, holder, token, expires_at)
    VALUES (%(name)s, %(holder)s, 1, now() + %(ttl)s * interval '1 second')
    ON CONFLICT (name) DO UPDATE
        SET holder = EXCLUDED.holder,
            expires_at = EXCLUDED.expires_at,
            token = l.token + CASE WHEN l.holder = EXCLUDED.holder THEN 0 ELSE 1 END
        WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now()
    RETURNING token
"""


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease held: its name, its holder and the token it was taken with."""

    name: str
    holder: str
    token: int


def take(conn: Connection, name: str, holder: str, ttl_s: float) -> Lease | None:
    """Take or renew the lease ``name`` for ``ttl_s`` seconds; ``None`` if another holds it.

    Commits on its own: a lease must be visible to the others at once.
    """
    if ttl_s <= 0:
        raise ValueError(f"a lease needs a positive time to live, not {ttl_s}")
    with conn.transaction():
        row = conn.execute(_TAKE, {"name": name, "holder": holder, "ttl": ttl_s}).fetchone()
    return None if row is None else Lease(name, holder, int(row[0]))


def still_held(conn: Connection, lease: Lease) -> bool:
    """Whether ``lease`` is still this holder's, with the same token, and not run out."""
    row = conn.execute(
        "SELECT holder = %s AND token = %s AND expires_at > now() FROM leases WHERE name = %s",
        (lease.holder, lease.token, lease.name),
    ).fetchone()
    return bool(row and row[0])


def release(conn: Connection, lease: Lease) -> None:
    """Give the lease up now, so that a standby need not wait for it to run out."""
    with conn.transaction():
        conn.execute(
            "UPDATE leases SET expires_at = now() WHERE name = %s AND holder = %s AND token = %s",
            (lease.name, lease.holder, lease.token),
        )
