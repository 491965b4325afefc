"""Cold-chain measures: the conventions' MKT vectors, GS1 check digits, single and
cumulative rules, and late or out-of-order readings judged as if on time."""

from __future__ import annotations

import random

import pytest

from crm_core.traceability import gs1
from crm_core.traceability.mkt import MktTerms, mkt
from devices.coldchain.evaluation import ProductRange, evaluate

CHILLED = ProductRange(2.0, 8.0, single_limit_min=30, budget_min=60)


@pytest.mark.parametrize(
    ("readings", "expected", "mean"),
    [
        ([25.0], 25.00, 25.0),
        ([4, 4, 4, 4, 16], 8.11, 6.4),
        ([20, 30], 26.26, 25.0),
        ([2, 8], 5.54, 5.0),
    ],
)
def test_mkt_vectors(readings: list[float], expected: float, mean: float) -> None:
    assert round(mkt(readings), 2) == expected
    assert mkt(readings) >= mean - 1e-9


def test_mkt_of_legs_adds_up_to_the_mkt_of_the_whole_journey() -> None:
    legs = [[4.0, 5.0, 12.0], [3.0, 3.5], [6.0, 15.0, 4.0, 4.0]]
    whole = mkt([t for leg in legs for t in leg])
    summed = sum((MktTerms.of(leg) for leg in legs), MktTerms())
    assert summed.celsius() == pytest.approx(whole)


@pytest.mark.parametrize(("payload", "check"), [("629104150021", 3), ("123456789012", 8)])
def test_gs1_check_digits(payload: str, check: int) -> None:
    assert gs1.gtin(payload + str(check)) == "0" + payload + str(check)
    with pytest.raises(gs1.InvalidIdentifier):
        gs1.gtin(payload + str((check + 1) % 10))


def test_gln_and_sscc_are_checked() -> None:
    assert gs1.gln("7038010000003") == "7038010000003"
    with pytest.raises(gs1.InvalidIdentifier):
        gs1.gln("7038010000004")
    assert gs1.sscc("376130321109103420") == "376130321109103420"
    with pytest.raises(gs1.InvalidIdentifier):
        gs1.sscc("376130321109103421")
    with pytest.raises(gs1.InvalidIdentifier):
        gs1.parse_element_string("(10)LOT42")


def series(values: list[float], step: float = 300.0) -> list[tuple[float, float]]:
    return [(i * step, v) for i, v in enumerate(values)]


def test_a_short_run_out_of_range_breaks_no_single_event_rule() -> None:
    ev = evaluate(CHILLED, series([5.0] * 10 + [9.0] * 4 + [5.0] * 10), [], interval_s=300)
    assert ev.tor_min == 20.0
    assert ev.breached == ()
    assert [(x.kind, x.minutes) for x in ev.excursions] == [("high", 20.0)]


def test_short_runs_add_up_to_a_cumulative_breach() -> None:
    values = ([5.0] * 6 + [9.0] * 5) * 3 + [5.0] * 6  # three runs of 25 min
    ev = evaluate(CHILLED, series(values), [], interval_s=300)
    assert ev.tor_min == 75.0
    assert ev.longest_min == 25.0
    assert "cumulative" in ev.breached
    assert "single" not in ev.breached


def test_cold_runs_count_as_low_excursions() -> None:
    ev = evaluate(CHILLED, series([5.0] * 4 + [0.5] * 8 + [5.0] * 4), [], interval_s=300)
    assert [(x.kind, x.minutes, x.peak) for x in ev.excursions] == [("low", 40.0, 0.5)]
    assert "single" in ev.breached


def test_late_and_out_of_order_readings_give_the_same_verdict() -> None:
    values = [5.0] * 10 + [12.0] * 9 + [5.0] * 10
    on_time = evaluate(CHILLED, series(values), [], interval_s=300)
    shuffled = series(values)
    random.Random(3).shuffle(shuffled)
    late = evaluate(CHILLED, shuffled + series(values)[:5], [], interval_s=300)  # duplicates too
    assert late == on_time
    assert on_time.breached[0] == "single"


def test_a_silent_logger_is_a_gap_not_time_in_range_and_doors_are_timed() -> None:
    temps = series([5.0] * 4) + [(3600.0 + i * 300, 5.0) for i in range(4)]
    doors = [(0.0, 0.0), (300.0, 1.0), (600.0, 1.0), (900.0, 0.0)]
    ev = evaluate(CHILLED, temps, doors, interval_s=300)
    kinds = [x.kind for x in ev.excursions]
    assert "logger_gap" in kinds
    assert "door_open" in kinds
    assert ev.door_open_min == 10.0
    assert ev.mkt.weight == 7 * 300.0  # the gap stands for nothing
