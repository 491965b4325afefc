"""Customer scopes: an API key or a staff user limited to some customers.

A scope of ``None`` sees every customer. A scoped caller sees only its customers and
what belongs to them (sites, devices, faults, tickets, surveys); anything else answers
exactly as if it did not exist (404, never 403), so a scoped caller cannot learn which
ids exist. Unowned devices belong to no customer and are outside every limited scope.

>>> everyone = CustomerScope(None)
>>> everyone.allows(7), everyone.allows(None), everyone.sql_ids
(True, True, None)
>>> two = CustomerScope(frozenset({3, 1}))
>>> two.allows(1), two.allows(2), two.allows(None), two.sql_ids
(True, False, False, [1, 3])
>>> two.require(2, "ticket 9")
Traceback (most recent call last):
...
crm_core.kernel.errors.NotFound: ticket 9 does not exist
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from crm_core.kernel.errors import NotFound


@dataclass(frozen=True, slots=True)
class CustomerScope:
    """Which customers a caller may see; ``None`` means all of them."""

    customer_ids: frozenset[int] | None

    @property
    def unlimited(self) -> bool:
        return self.customer_ids is None

    @property
    def sql_ids(self) -> list[int] | None:
        """For ``(%(scope)s::bigint[] IS NULL OR x.customer_id = ANY(%(scope)s))``."""
        return None if self.customer_ids is None else sorted(self.customer_ids)

    def allows(self, customer_id: int | None) -> bool:
        if self.customer_ids is None:
            return True
        return customer_id is not None and customer_id in self.customer_ids

    def require(self, customer_id: int | None, what: str) -> None:
        """Raise NotFound("<what> does not exist") unless the customer is in scope."""
        if not self.allows(customer_id):
            raise NotFound(f"{what} does not exist")


UNLIMITED = CustomerScope(None)


def parse_customer_ids(values: Iterable[int] | None) -> frozenset[int] | None:
    """A stored ``bigint[]`` (or CLI list) as a scope set; None or empty-None stays None.

    >>> parse_customer_ids(None) is None
    True
    >>> sorted(parse_customer_ids([4, 2, 4]) or [])
    [2, 4]
    """
    if values is None:
        return None
    ids = frozenset(int(v) for v in values)
    if any(v < 1 for v in ids):
        raise ValueError("customer ids are positive integers")
    return ids
