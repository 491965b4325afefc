"""Who a notification goes to: the customer's name, address and preferred channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import psycopg
from psycopg.rows import TupleRow


@dataclass(frozen=True, slots=True)
class Contact:
    customer_id: int
    name: str
    email: str | None
    preferred_channel: str


class Recipients(Protocol):
    def contact(self, customer_id: int) -> Contact | None: ...


class PostgresRecipients:
    def __init__(self, conn: psycopg.Connection[TupleRow]) -> None:
        self._conn = conn

    def contact(self, customer_id: int) -> Contact | None:
        row = self._conn.execute(
            "SELECT id, name, email, preferred_channel FROM customers WHERE id = %s",
            (customer_id,),
        ).fetchone()
        if row is None:
            return None
        return Contact(int(row[0]), str(row[1]), row[2], str(row[3]))
