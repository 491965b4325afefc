"""``/api/v1/technicians``: who can be sent (admins add them), a technician's day; and
``/api/v1/service-levels``: the SLA policies and resolution codes in force."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from careline.api.deps import Conn, Context, Now, RequireAdmin, Scope
from careline.api.errors import responses
from crm_core.tickets.policies import load_service_levels
from crm_core.tickets.technicians import (
    TechnicianRecord,
    Visit,
    create_technician,
    get_technician,
    list_technicians,
    technician_day,
)

router = APIRouter(tags=["technicians"])


class NewTechnician(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
    phone: Annotated[str | None, Field(max_length=50)] = None
    skills: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=60)]],
        Field(max_length=50, description="Device types (refrigerator, ...) and parts."),
    ] = []
    region: Annotated[str, Field(max_length=100)] = ""
    home_latitude: Annotated[float | None, Field(ge=-90, le=90)] = None
    home_longitude: Annotated[float | None, Field(ge=-180, le=180)] = None


class ServiceLevelsOut(BaseModel):
    targets: dict[str, dict[str, dict[str, int]]]
    resolution_codes: dict[str, dict[str, str]]
    warning_share: float
    timezone: str
    holidays: str


@router.get("/technicians", summary="Technicians, by name, with their live tickets")
def technicians_list(
    conn: Conn, active_only: Annotated[bool, Query()] = False
) -> list[TechnicianRecord]:
    return list_technicians(conn, active_only=active_only)


@router.post(
    "/technicians",
    summary="Add a technician (admin); the same e-mail again returns the existing one",
    status_code=201,
    responses=responses(422),
)
def technicians_create(
    body: NewTechnician, conn: Conn, now: Now, principal: RequireAdmin
) -> TechnicianRecord:
    home = (
        (body.home_latitude, body.home_longitude)
        if body.home_latitude is not None and body.home_longitude is not None
        else None
    )
    technician_id = create_technician(
        conn,
        name=body.name,
        email=body.email,
        phone=body.phone,
        skills=body.skills,
        region=body.region,
        home=home,
        by=principal.name,
        now=now,
    )
    return get_technician(conn, technician_id)


@router.get(
    "/technicians/{technician_id}/day",
    summary="A technician's visits on a date (the team's time zone), then unscheduled work",
    responses=responses(404),
)
def technician_visits(
    technician_id: int,
    conn: Conn,
    context: Context,
    now: Now,
    scope: Scope,
    day: Annotated[date | None, Query(alias="date")] = None,
) -> list[Visit]:
    get_technician(conn, technician_id)
    tz = context.settings.service.timezone
    return technician_day(conn, technician_id, day or now.date(), tz, scope.sql_ids)


@router.get("/service-levels", summary="SLA targets (business minutes) and resolution codes")
def service_levels(context: Context) -> ServiceLevelsOut:
    levels = load_service_levels()
    service = context.settings.service
    return ServiceLevelsOut(
        targets={
            tier: {
                f"P{p}": {
                    "first_response_min": t.first_response_min,
                    "resolution_min": t.resolution_min,
                }
                for p, t in targets.items()
            }
            for tier, targets in levels.tiers.items()
        },
        resolution_codes={
            c.code: {"label": c.label, "effect": c.effect} for c in levels.resolution_codes.values()
        },
        warning_share=service.sla_warning_share,
        timezone=service.timezone,
        holidays=f"{service.holidays_country or '-'}/{service.holidays_subdivision or '-'}",
    )
