"""The presence settings group: entry debounce and exit hysteresis (conventions §5.2)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from crm_core.kernel.settings import Group
from devices.presence.model import PresenceRules


class PresenceSettings(Group):
    enabled: Annotated[
        bool, Field(description="Subscribe to shoppers' sightings (ps/<installation>/sightings).")
    ] = True
    client_id: Annotated[
        str,
        Field(min_length=1, max_length=64, description="MQTT client id of the presence worker."),
    ] = "careline-presence-1"
    mqtt_username: Annotated[
        str | None,
        Field(
            description="Broker account of the presence worker (the shipped ACL's "
            "careline-presence reads ps/# only). Empty: the ingest account (mqtt.username)."
        ),
    ] = None
    mqtt_password: Annotated[str | None, Field(description="Its broker password.")] = None
    threads: Annotated[
        int,
        Field(ge=1, le=32, description="Threads applying sightings (an installation keeps one)."),
    ] = 4
    rssi_enter_dbm: Annotated[
        float, Field(ge=-127, le=20, description="RSSI at or above which a sighting counts.")
    ] = -75.0
    exit_margin_db: Annotated[
        float,
        Field(ge=0, le=40, description="Once inside, sightings this much weaker still count."),
    ] = 10.0
    enter_sightings: Annotated[
        int, Field(ge=1, le=100, description="Strong sightings that make a zone entry.")
    ] = 3
    enter_seconds: Annotated[
        float, Field(ge=0, le=300, description="...or seconds of strong sightings.")
    ] = 10.0
    exit_seconds: Annotated[
        float,
        Field(ge=5, le=3600, description="Seconds without a sighting before a zone exit."),
    ] = 45.0

    def rules(self) -> PresenceRules:
        return PresenceRules(
            rssi_enter=self.rssi_enter_dbm,
            exit_margin_db=self.exit_margin_db,
            enter_sightings=self.enter_sightings,
            enter_seconds=self.enter_seconds,
            exit_seconds=self.exit_seconds,
        )
