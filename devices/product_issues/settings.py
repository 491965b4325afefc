"""The product-issue settings group (``CARELINE_FLEET__*``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from crm_core.kernel.settings import Group


class FleetSettings(Group):
    window_hours: Annotated[
        float,
        Field(
            gt=0,
            le=24 * 90,
            description="Faults alike whose onsets lie within this many hours of each other "
            "count towards one product issue.",
        ),
    ] = 72.0
    min_devices: Annotated[
        int,
        Field(ge=2, le=1000, description="Devices of one group that must fault alike."),
    ] = 3
    min_ratio: Annotated[
        float,
        Field(
            ge=1,
            le=1000,
            description="A group's share of faulting devices must be this many times the "
            "rest of the fleet's (so that a common model is not an issue by its size).",
        ),
    ] = 2.0
    rate_days: Annotated[
        int,
        Field(
            ge=1,
            le=3650,
            description="Days over which a product issue's fault rate is compared with the "
            "rest of the fleet's.",
        ),
    ] = 30
