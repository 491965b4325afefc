"""Who is calling and what their role allows.

Roles are ordered ``viewer < agent < admin``: a viewer reads, an agent also works tickets,
an admin does everything. ``quality`` staff rank with agents and, like admins, may approve
and close recalls (an agent may not). ``device`` keys (for publishers) sit below them all and read
nothing through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from crm_core.auth.errors import InvalidRoleError

Role = Literal["device", "viewer", "agent", "quality", "admin"]
PrincipalKind = Literal["api_key", "user"]

RANKS: dict[str, int] = {"device": 0, "viewer": 1, "agent": 2, "quality": 2, "admin": 3}
STAFF_ROLES: tuple[Role, ...] = ("viewer", "agent", "quality", "admin")
# Quality staff work like agents and, with admins alone, may approve and close recalls.
RECALL_APPROVERS: frozenset[str] = frozenset({"quality", "admin"})


def parse_role(value: str, *, allowed: tuple[str, ...] = tuple(RANKS)) -> Role:
    """``value`` as a :data:`Role`, or :class:`InvalidRoleError` naming the known ones."""
    if value not in allowed:
        raise InvalidRoleError(f"unknown role {value!r}: expected one of {', '.join(allowed)}")
    return cast(Role, value)


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: a staff user signed in to the console, or an API key.

    ``customer_ids`` is the caller's scope (see :mod:`crm_core.auth.scopes`).
    """

    kind: PrincipalKind
    name: str
    role: Role
    customer_ids: frozenset[int] | None = None  # None: every customer; else only these

    def allows(self, role_needed: Role) -> bool:
        """Whether this caller's role is at least ``role_needed``."""
        if role_needed == "quality":
            return self.role in RECALL_APPROVERS
        return RANKS[self.role] >= RANKS[role_needed]
