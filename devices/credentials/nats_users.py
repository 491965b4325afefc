"""The NATS form of the broker's accounts: a ``users = [...]`` list with permissions.

nats-server's configuration includes it inside its ``authorization`` block
(``deploy/nats/nats.conf``). Restart nats-server after a change rather than reload it:
with TLS on its MQTT listener, nats-server 2.9.10 stops delivering to every MQTT session
that existed before a reload (SIGHUP), even once it reconnects, so ingest would hear
nothing more (tests/integration/test_nats_doors.py found it). Sessions and queued messages
live in JetStream and survive a restart. NATS has no ACL patterns, so each account
carries its own permissions, on NATS subjects (an MQTT topic ``dt/FR-1/senml`` is the
subject ``dt.FR-1.senml``). Permissions apply to the subject after the server's mapping,
so a device may publish to ``dt.<serial>.>`` and to its partitioned form
``p.*.dt.<serial>.>`` (seen with nats-server 2.9: the publish of ``dt/FR-1/senml`` was
checked as ``p.3.dt.FR-1.senml``). The MQTT gateway delivers QoS 1 messages to a
subscriber through ``$MQTT.sub.<id>`` subjects, which a subscribing service needs, and
an MQTT filter ``a/#`` is two NATS subscriptions, ``a`` and ``a.>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from devices.credentials.password_file import PasswordFileError

_NOTHING: Final = {"deny": [">"]}
_SERVICE_PERMISSIONS: Final[dict[str, dict[str, dict[str, list[str]]]]] = {
    "careline-ingest": {
        "publish": _NOTHING,
        "subscribe": {"allow": ["dt", "dt.>", "p.*.dt", "p.*.dt.>", "$MQTT.sub.>"]},
    },
    "careline-presence": {
        "publish": _NOTHING,
        "subscribe": {"allow": ["ps", "ps.>", "$MQTT.sub.>"]},
    },
    "careline-push": {"publish": {"allow": ["app.*.notifications"]}, "subscribe": _NOTHING},
    "careline-app-backend": {"publish": {"allow": ["ps.>"]}, "subscribe": _NOTHING},
    "careline-simulator": {
        "publish": {"allow": ["dt.>", "p.*.dt.>", "ps.>"]},
        "subscribe": _NOTHING,
    },
}


@dataclass(frozen=True, slots=True)
class NatsUser:
    username: str
    service: bool
    bcrypt_hash: str
    push_customer: int | None = None
    """An app account's customer, whose push subject it may read; None otherwise."""


def permissions(user: NatsUser) -> dict[str, dict[str, list[str]]]:
    """What the account may publish and subscribe to.

    >>> permissions(NatsUser("FR-1", False, "h"))["publish"]
    {'allow': ['dt.FR-1.>', 'p.*.dt.FR-1.>']}
    >>> permissions(NatsUser("app-i1", False, "h", 7))["subscribe"]
    {'allow': ['app.7.notifications']}
    """
    if user.service:
        return _SERVICE_PERMISSIONS[user.username]
    if user.push_customer is not None:
        # An app: its customer's notifications only, publish nothing. No $MQTT.sub.>: that
        # would let it read every QoS 1 MQTT session's deliveries, so apps subscribe at
        # QoS 0 on NATS (README, "Broker credentials and TLS").
        return {
            "publish": _NOTHING,
            "subscribe": {"allow": [f"app.{user.push_customer}.notifications"]},
        }
    if "." in user.username:
        # A dot separates subject tokens: a serial with one cannot be confined to its own.
        raise PasswordFileError(
            f"{user.username}: a serial with '.' cannot be given NATS permissions of its own"
        )
    own = user.username
    return {"publish": {"allow": [f"dt.{own}.>", f"p.*.dt.{own}.>"]}, "subscribe": _NOTHING}


def render_nats(users: Iterable[NatsUser]) -> str:
    """The included file's text. JSON strings are valid NATS configuration strings, and
    user names are serials or fixed names (no quote or backslash can occur)."""
    lines = ["# Written by careline from its database; edits here are overwritten.", "users = ["]
    for user in sorted(users, key=lambda u: u.username):
        entry = {
            "user": user.username,
            "password": user.bcrypt_hash,
            "permissions": permissions(user),
        }
        lines.append("  " + json.dumps(entry, separators=(", ", ": ")))
    lines.append("]")
    return "\n".join(lines) + "\n"
