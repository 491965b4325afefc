"""Chart ranges without a database: how many points a range may give, which source serves
it, the window a device page draws, and where a fault's marks go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from careline.console.device_charts import SPANS, metric_figure, window_for
from devices.faults.queries import FaultSummary
from devices.ranges import BucketPoint, RangeSeries, plan

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def fault(
    opened: datetime, cleared: datetime | None = None, ticket: int | None = 7
) -> FaultSummary:
    return FaultSummary(
        id=3,
        device_id=1,
        device_serial="RF-1",
        metric="cabinet_temp",
        detector="zscore",
        score=6.0,
        threshold=4.0,
        status="cleared" if cleared else "open",
        opened_at=opened,
        cleared_at=cleared,
        acknowledged_at=None,
        acknowledged_by=None,
        ticket_id=ticket,
        diagnosis=None,
        hours_to_failure=None,
        reminders=0,
        last_reminder_at=None,
    )


@pytest.mark.parametrize(
    ("span", "source"),
    [
        (timedelta(hours=6), "readings"),
        (timedelta(days=1), "readings"),
        (timedelta(hours=6, microseconds=1), "readings"),
        (timedelta(seconds=1234567, microseconds=89), "readings_5m"),
        (timedelta(days=7), "readings_5m"),
        (timedelta(days=30), "readings_5m"),
        (timedelta(days=90), "readings_1h"),
        (timedelta(days=3650), "readings_1h"),
    ],
)
def test_a_range_never_gives_more_buckets_than_asked(span: timedelta, source: str) -> None:
    chosen, step = plan(span, 800)
    assert chosen == source
    # buckets aligned to a fixed origin: a range touches at most ceil(span / step) + 1
    assert -(-span // step) + 1 <= 800
    if chosen != "readings":
        width = timedelta(minutes=5) if chosen == "readings_5m" else timedelta(hours=1)
        assert step % width == timedelta(0)  # whole rollup buckets only


def test_a_chart_needs_two_points() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        plan(timedelta(hours=1), 1)


def test_around_a_ticket_the_window_starts_well_before_the_onset() -> None:
    opened = NOW - timedelta(hours=2)
    window = window_for(NOW, [fault(opened)], NOW, ticket=7)
    assert window.span is None
    assert window.since == opened - timedelta(hours=3)  # a baseline before the onset
    assert window.until == NOW


def test_a_long_fault_is_padded_by_half_its_length_within_90_days() -> None:
    window = window_for(
        NOW, [fault(NOW - timedelta(days=10), NOW - timedelta(days=4))], NOW, ticket=7
    )
    assert window.since == NOW - timedelta(days=13)
    assert window.until == NOW - timedelta(days=1)
    old = window_for(NOW, [fault(NOW - timedelta(days=200))], NOW, ticket=7)
    assert old.since == NOW - SPANS["90d"]


def test_a_span_or_the_default_ends_now_or_at_a_silent_devices_last_reading() -> None:
    assert window_for(NOW, [], NOW, span="7d").since == NOW - timedelta(days=7)
    assert window_for(NOW, [], NOW, span="bogus").span == "24h"
    silent = window_for(NOW, [], NOW - timedelta(days=3))
    assert silent.until == NOW - timedelta(days=3) + timedelta(minutes=5)
    assert "silent" in silent.note


def series(kind: str, metric: str) -> RangeSeries:
    points = [
        BucketPoint(ts=NOW - timedelta(hours=h), n=1, low=v, mean=v, high=v)
        for h, v in ((5, 0.0), (4, 1.0), (3, 0.0))
    ]
    return RangeSeries(
        metric=metric,
        label=metric,
        unit="/",
        kind=kind,
        source="readings",
        step_s=60,
        points=points,
    )


def test_a_fault_before_the_window_is_labelled_at_the_left_edge_without_an_onset_mark() -> None:
    window = window_for(NOW, [], NOW, span="6h")
    figure = metric_figure(
        series("number", "cabinet_temp"), [fault(NOW - timedelta(hours=30))], window
    )
    layout = figure["layout"]
    assert isinstance(layout, dict)
    (shade,) = layout["shapes"]  # no dotted onset line: the onset is outside the range
    assert shade["x0"] == "2026-12-06 06:00:00"
    (note,) = layout["annotations"]
    assert note["text"].startswith("◀ fault #3")
    assert "began 2026-12-05 06:00:00" in note["text"]
    assert "title" not in layout


def test_the_door_switch_is_drawn_as_steps_between_named_states() -> None:
    window = window_for(NOW, [], NOW, span="6h")
    figure = metric_figure(series("boolean", "door_open"), [], window)
    data = figure["data"]
    assert isinstance(data, list)
    (trace,) = data
    assert trace["line"]["shape"] == "hv"
    assert trace["y"] == [0, 1, 0]
    yaxis = figure["layout"]["yaxis"]  # type: ignore[index]
    assert yaxis["tickvals"] == [0, 1]
    assert yaxis["ticktext"] == ["closed", "open"]
