"""Customer scopes applied to routes: one check per kind of resource, reusable anywhere.

A caller limited to some customers (``api_keys.customer_ids``, ``staff_users.customer_ids``)
sees only their resources. Anything else answers 404 with the very message a missing id
gets, so a scoped caller cannot tell "not yours" from "does not exist" (a 403 would say
that the id exists).

How a route applies it:

* **One resource by id in the path**: add the matching check as a dependency; it declares
  the same path parameter, reads the owner, and raises NotFound when out of scope::

      @router.get("/{ticket_id}", dependencies=[Depends(ticket_in_scope)])
      def ticket_get(ticket_id: PathId, conn: Conn) -> TicketDetail: ...

  For a resource owned through another table, write a four-line check like
  :func:`ticket_in_scope` with :func:`owner_in_scope` (SQL returning the customer id).
* **Lists**: take ``scope: Scope`` and pass ``scope.sql_ids`` to the query, which adds
  ``AND (%(scope)s::bigint[] IS NULL OR x.customer_id = ANY(%(scope)s))``.
* **Data of no customer** (dead letters, fleet-wide scores): ``RequireUnscoped`` (403).
* Outside a route (console pages, actions): call :func:`owner_in_scope` or the
  ``require_*`` functions with the connection and ``CustomerScope(principal.customer_ids)``.
"""

from __future__ import annotations

from typing import Annotated, LiteralString

import psycopg
from fastapi import Path
from psycopg.rows import TupleRow

from careline.api.deps import MAX_BIGINT, Conn, Scope
from crm_core.auth.scopes import CustomerScope

PathId = Annotated[int, Path(ge=1, le=MAX_BIGINT, description="A positive 64-bit id.")]


def owner_in_scope(
    conn: psycopg.Connection[TupleRow],
    scope: CustomerScope,
    owner_sql: LiteralString,
    key: object,
    what: str,
) -> None:
    """NotFound("<what> does not exist") unless ``owner_sql`` (one ``%s``) gives an
    in-scope customer id. Unlimited callers pass without a query."""
    if scope.unlimited:
        return
    row = conn.execute(owner_sql, (key,)).fetchone()
    scope.require(None if row is None or row[0] is None else int(row[0]), what)


def require_customer(conn: psycopg.Connection[TupleRow], scope: CustomerScope, cid: int) -> None:
    scope.require(cid, f"customer {cid}")


def require_device(conn: psycopg.Connection[TupleRow], scope: CustomerScope, serial: str) -> None:
    owner = "SELECT customer_id FROM devices WHERE serial = %s"
    owner_in_scope(conn, scope, owner, serial, f"device {serial!r}")


def require_ticket(conn: psycopg.Connection[TupleRow], scope: CustomerScope, tid: int) -> None:
    owner_in_scope(
        conn, scope, "SELECT customer_id FROM tickets WHERE id = %s", tid, f"ticket {tid}"
    )


def require_fault(conn: psycopg.Connection[TupleRow], scope: CustomerScope, fid: int) -> None:
    owner = (
        "SELECT d.customer_id FROM faults f JOIN devices d ON d.id = f.device_id WHERE f.id = %s"
    )
    owner_in_scope(conn, scope, owner, fid, f"fault {fid}")


# The same checks as route dependencies (they declare the route's path parameter).


def customer_in_scope(customer_id: PathId, conn: Conn, scope: Scope) -> None:
    require_customer(conn, scope, customer_id)


def device_in_scope(serial: str, conn: Conn, scope: Scope) -> None:
    require_device(conn, scope, serial)


def ticket_in_scope(ticket_id: PathId, conn: Conn, scope: Scope) -> None:
    require_ticket(conn, scope, ticket_id)


def fault_in_scope(fault_id: PathId, conn: Conn, scope: Scope) -> None:
    require_fault(conn, scope, fault_id)
