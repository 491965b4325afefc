"""The data-lifecycle settings group (``CARELINE_LIFECYCLE__*``): how long readings stay."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from crm_core.kernel.settings import Group


class LifecycleSettings(Group):
    readings_retention_days: Annotated[
        int,
        Field(
            ge=1,
            le=36500,
            description="Readings older than this many days are dropped by the scheduler's "
            "daily retention job, except cold-chain logger readings still held for "
            "traceability.",
        ),
    ] = 400
    traceability_retention_days: Annotated[
        int,
        Field(
            ge=1,
            le=36500,
            description="A logger's readings during a shipment leg are kept this many days "
            "after the leg arrived (FSMA 204 asks for 24 months of traceability records), "
            "and as long as a recall or investigation of a lot it carried is open.",
        ),
    ] = 730
    rollup_retention_days: Annotated[
        int,
        Field(
            ge=1,
            le=36500,
            description="Rollups (5-minute and hourly minimum, average, maximum) older than "
            "this many days are deleted; they outlive the readings so that long-range charts "
            "still show them.",
        ),
    ] = 1100
    rollup_every_s: Annotated[
        float,
        Field(
            ge=10,
            le=86400,
            description="How often the rollup job aggregates new readings (plain-table "
            "rollups; continuous aggregates refresh themselves).",
        ),
    ] = 300.0
    rollup_lookback_h: Annotated[
        float,
        Field(
            ge=0,
            le=24 * 7,
            description="Each rollup run aggregates again this many hours before the last "
            "complete bucket, so that readings arriving that late are counted (each run "
            "costs about this much plus the interval's worth of readings).",
        ),
    ] = 0.25
    rollup_late_days: Annotated[
        float,
        Field(
            ge=0,
            le=90,
            description="Once a day the rollup job aggregates again this many days, for "
            "late uploads (loggers that upload at the end of a trip).",
        ),
    ] = 3.0
