"""After an erasure revoked app accounts: the broker's files follow, when this process
writes them.

The revocation itself is in the database, committed with the erasure. If this process is
configured with the broker's files (``CARELINE_BROKER__PASSWORD_FILE``) it rewrites them
and reloads Mosquitto, so the erased customer's apps are refused at once; otherwise the
next ``careline broker sync`` (or any provisioning) drops them, which is logged here.
"""

from __future__ import annotations

import logging

from devices.credentials.accounts import Connection, sync_password_file
from devices.credentials.reload import reload_broker
from devices.credentials.settings import BrokerSettings
from devices.errors import DeviceError

log = logging.getLogger(__name__)


def revoke_in_broker(conn: Connection, broker: BrokerSettings) -> None:
    """Rewrite the broker's files from the live accounts and reload it; never raises (the
    erasure is committed either way), says what is left to do."""
    target = broker.file()
    if target is None:
        log.warning(
            "app accounts revoked by an erasure: run `careline broker sync` where the "
            "broker's files are, so the broker refuses them"
        )
        return
    try:
        sync_password_file(conn, target)
        if target.broker == "mosquitto" and broker.pid_file is not None:
            reload_broker(broker.pid_file)
        else:
            how = "restart nats-server" if target.broker == "nats" else "SIGHUP Mosquitto"
            log.warning("app accounts revoked: %s rewritten; %s to apply it", target.path, how)
    except DeviceError as exc:
        log.error("app accounts revoked but the broker's files were not rewritten: %s", exc)
