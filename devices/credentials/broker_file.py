"""Which file careline writes the broker's accounts to, and in which broker's form."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

BrokerKind = Literal["mosquitto", "nats"]


@dataclass(frozen=True, slots=True)
class BrokerFile:
    """Mosquitto: a ``password_file`` (its ACL is static, deploy/mosquitto/acl). NATS: a
    ``users`` list with permissions, included in the ``authorization`` block."""

    path: Path
    broker: BrokerKind = "mosquitto"
