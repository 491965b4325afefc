"""The Mosquitto ACL lines of the shopper apps' accounts: each reads its customer's pushes."""

from __future__ import annotations

from collections.abc import Iterable


def app_acl(grants: Iterable[tuple[str, int]]) -> str:
    """Mosquitto ACL blocks for live app accounts, from (user name, customer id).

    The ``deny dt/#`` line matters: the shipped ACL's device pattern ``dt/%u/#`` applies to
    every user, so without it an app could publish under ``dt/app-<id>/``. Mosquitto checks
    a user's denials before any pattern.

    >>> print(app_acl([("app-i1", 7)]), end="")
    user app-i1
    topic read app/7/notifications
    topic deny dt/#
    """
    blocks = [
        f"user {user}\ntopic read app/{customer_id}/notifications\ntopic deny dt/#\n"
        for user, customer_id in grants
    ]
    return "\n".join(blocks)
