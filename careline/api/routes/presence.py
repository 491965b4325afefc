"""Stores, their zones and beacons, shoppers' app installations, and presence read models."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Self

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, model_validator

from careline.api.deps import Conn, Now, RequireAgent, Scope, require_unscoped
from careline.api.errors import responses
from careline.api.scopes import customer_in_scope, require_customer
from devices.presence import directory
from devices.presence.model import OpeningHours, eddystone_identifier, ibeacon_identifier
from devices.presence.queries import customer_visits, zone_heat

router = APIRouter(tags=["presence"])
# Stores, zones and beacons belong to no customer: only unscoped callers manage or read them.
Unscoped = [Depends(require_unscoped)]
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Hours = dict[str, list[list[str]]]


class StoreIn(BaseModel):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    timezone: str = "UTC"
    opening_hours: Hours = Field(
        default_factory=dict,
        description='Per weekday, [open, close] local times: {"mon": [["08:00", "20:00"]]}. '
        "A day not listed is closed.",
    )

    @model_validator(mode="after")
    def _hours(self) -> Self:
        OpeningHours.parse(self.opening_hours, self.timezone)  # ValueError -> 422
        return self


class StoreOut(BaseModel):
    id: int
    code: str
    name: str
    timezone: str
    opening_hours: Hours


class ZoneIn(BaseModel):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=200)]
    categories: list[Annotated[str, Field(min_length=1, max_length=64)]] = []


class ZoneOut(BaseModel):
    id: int
    store_id: int
    code: str
    name: str
    categories: list[str]


class IBeaconIn(BaseModel):
    uuid: str
    major: Annotated[int, Field(ge=0, le=0xFFFF)]
    minor: Annotated[int, Field(ge=0, le=0xFFFF)]


class EddystoneIn(BaseModel):
    namespace: str
    instance: str


class BeaconIn(BaseModel):
    """Exactly one of ``ibeacon`` or ``eddystone``."""

    ibeacon: IBeaconIn | None = None
    eddystone: EddystoneIn | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.ibeacon is None) == (self.eddystone is None):
            raise ValueError("give exactly one of ibeacon or eddystone")
        self.identifier()  # ValueError -> 422
        return self

    def identifier(self) -> str:
        if self.ibeacon is not None:
            return ibeacon_identifier(self.ibeacon.uuid, self.ibeacon.major, self.ibeacon.minor)
        assert self.eddystone is not None
        return eddystone_identifier(self.eddystone.namespace, self.eddystone.instance)


class BeaconOut(BaseModel):
    id: int
    zone_id: int
    identifier: str
    kind: str


class ZoneDetail(ZoneOut):
    beacons: list[BeaconOut]
    visits: int = Field(description="Zone entries over the period (anonymous counts).")
    mean_dwell_seconds: float | None


class StoreDetail(StoreOut):
    open_now: bool
    zones: list[ZoneDetail]


class InstallationIn(BaseModel):
    installation_id: Code
    customer_id: int


class VisitOut(BaseModel):
    id: int
    zone_id: int
    zone: str
    store: str
    entered_at: datetime
    exited_at: datetime | None
    dwell_seconds: float | None


def _store_out(store: directory.Store) -> StoreOut:
    return StoreOut(
        id=store.id,
        code=store.code,
        name=store.name,
        timezone=store.hours.timezone,
        opening_hours=store.hours.as_json(),
    )


def _zone_out(zone: directory.Zone) -> ZoneOut:
    return ZoneOut(
        id=zone.id,
        store_id=zone.store_id,
        code=zone.code,
        name=zone.name,
        categories=list(zone.categories),
    )


@router.post(
    "/stores",
    status_code=201,
    summary="Add a store",
    responses=responses(409, 422),
    dependencies=Unscoped,
)
def store_add(body: StoreIn, conn: Conn, now: Now, principal: RequireAgent) -> StoreOut:
    hours = OpeningHours.parse(body.opening_hours, body.timezone)
    with conn.transaction():  # committed before the answer leaves
        store = directory.add_store(conn, body.code, body.name, hours, now, principal.name)
    return _store_out(store)


@router.get("/stores", summary="Every store", dependencies=Unscoped)
def store_list(conn: Conn) -> list[StoreOut]:
    return [_store_out(store) for store in directory.list_stores(conn)]


@router.get(
    "/stores/{store_id}",
    summary="A store, its zones and beacons, and each zone's visits and dwell (heat map)",
    responses=responses(404),
    dependencies=Unscoped,
)
def store_get(
    store_id: int,
    conn: Conn,
    now: Now,
    days: Annotated[int, Query(ge=1, le=366, description="Period of the counts.")] = 7,
) -> StoreDetail:
    store = directory.get_store(conn, store_id)
    heat = {h.zone_id: h for h in zone_heat(conn, store_id, now.date() - timedelta(days=days - 1))}
    zones = []
    for zone in directory.list_zones(conn, store_id):
        beacons = [_beacon_out(b) for b in directory.list_beacons(conn, zone.id)]
        counted = heat.get(zone.id)
        zones.append(
            ZoneDetail(
                **_zone_out(zone).model_dump(),
                beacons=beacons,
                visits=counted.visits if counted else 0,
                mean_dwell_seconds=counted.mean_dwell_seconds if counted else None,
            )
        )
    return StoreDetail(
        **_store_out(store).model_dump(), open_now=store.hours.is_open(now), zones=zones
    )


def _beacon_out(beacon: directory.Beacon) -> BeaconOut:
    return BeaconOut(
        id=beacon.id, zone_id=beacon.zone_id, identifier=beacon.identifier, kind=beacon.kind
    )


@router.post(
    "/stores/{store_id}/zones",
    status_code=201,
    summary="Add a zone with its product categories",
    responses=responses(404, 409, 422),
    dependencies=Unscoped,
)
def zone_add(store_id: int, body: ZoneIn, conn: Conn, now: Now, principal: RequireAgent) -> ZoneOut:
    with conn.transaction():
        zone = directory.add_zone(
            conn, store_id, body.code, body.name, body.categories, now, principal.name
        )
    return _zone_out(zone)


@router.post(
    "/zones/{zone_id}/beacons",
    status_code=201,
    summary="Map an iBeacon (UUID, major, minor) or Eddystone-UID (namespace, instance) to a zone",
    responses=responses(404, 409, 422),
    dependencies=Unscoped,
)
def beacon_add(
    zone_id: int, body: BeaconIn, conn: Conn, now: Now, principal: RequireAgent
) -> BeaconOut:
    with conn.transaction():
        beacon = directory.add_beacon(conn, zone_id, body.identifier(), now, principal.name)
    return _beacon_out(beacon)


@router.post(
    "/app-installations",
    status_code=201,
    summary="Link a shopper app installation to its customer (its sightings topic is "
    "ps/<installation_id>/sightings)",
    responses=responses(404, 409, 422),
)
def installation_add(
    body: InstallationIn, conn: Conn, now: Now, principal: RequireAgent, scope: Scope
) -> InstallationIn:
    require_customer(conn, scope, body.customer_id)
    with conn.transaction():
        directory.register_installation(
            conn, body.installation_id, body.customer_id, now, principal.name
        )
    return body


@router.get(
    "/customers/{customer_id}/visits",
    summary="The customer's zone visits, newest first",
    dependencies=[Depends(customer_in_scope)],
)
def visits_get(customer_id: int, conn: Conn) -> list[VisitOut]:
    return [
        VisitOut(
            id=v.id,
            zone_id=v.zone_id,
            zone=v.zone,
            store=v.store,
            entered_at=v.entered_at,
            exited_at=v.exited_at,
            dwell_seconds=v.dwell_seconds,
        )
        for v in customer_visits(conn, customer_id)
    ]
