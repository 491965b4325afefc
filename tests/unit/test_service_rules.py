"""The pure rules behind dispatch: priority, assignment ranking, entitlement, and the
service-level data (SLA targets and resolution codes)."""

from __future__ import annotations

import tomllib
from datetime import date
from importlib.resources import files

import pytest

from crm_core.tickets.assignment import Candidate, haversine_km, rank
from crm_core.tickets.entitlement import Contract, entitlement
from crm_core.tickets.policies import TIERS, load_service_levels, parse_service_levels
from crm_core.tickets.priority import MATRIX, assess

LYON = (45.7622, 4.8330)


@pytest.mark.parametrize(
    ("severity", "tier", "hours", "expected"),
    [
        ("high", "none", 6.0, (1, "high", "high")),
        ("high", "basic", 48.0, (2, "high", "medium")),
        ("medium", "standard", 200.0, (4, "medium", "low")),
        ("medium", "premium", 200.0, (3, "high", "low")),  # premium raises impact
        ("low", "none", None, (4, "low", "low")),  # no estimate: urgency from severity
    ],
)
def test_priority_is_the_matrix_of_impact_and_urgency(
    severity: str, tier: str, hours: float | None, expected: tuple[int, str, str]
) -> None:
    a = assess(severity, tier=tier, hours_to_failure=hours)  # type: ignore[arg-type]
    assert (a.priority, a.impact, a.urgency) == expected
    assert MATRIX[(a.impact, a.urgency)] == a.priority


def test_safety_forces_p1_and_the_estimate_beats_the_detector_hint() -> None:
    assert assess("low", safety=True, hours_to_failure=500).priority == 1
    hinted = assess("medium", urgency_hint="high")
    assert (hinted.urgency, hinted.priority) == ("high", 2)
    estimated = assess("medium", urgency_hint="high", hours_to_failure=300)
    assert (estimated.urgency, estimated.priority) == ("low", 4)
    with pytest.raises(ValueError, match="negative"):
        assess("medium", hours_to_failure=-1)


def test_haversine_matches_a_known_distance() -> None:
    paris, london = (48.8566, 2.3522), (51.5074, -0.1278)
    assert haversine_km(paris, london) == pytest.approx(343.5, abs=1.0)


def test_ranking_weighs_skill_then_distance_plus_load_and_explains() -> None:
    candidates = [
        Candidate(1, "Near but busy", frozenset({"refrigerator"}), (45.76, 4.84), 4),
        Candidate(2, "Farther, free", frozenset({"refrigerator"}), (45.90, 4.83), 0),
        Candidate(3, "Next door, wrong skill", frozenset({"washing_machine"}), LYON, 0),
        Candidate(4, "No home base", frozenset({"refrigerator"}), None, 0),
    ]
    ranked = rank(candidates, {"refrigerator"}, LYON, km_per_ticket=25.0)
    assert [s.technician_id for s in ranked] == [2, 1, 4, 3]
    assert ranked[0].why == "skills refrigerator; 15.3 km from the site; 0 live tickets"
    assert ranked[1].why.endswith("4 live tickets")
    assert ranked[2].why.startswith("skills refrigerator; distance unknown")
    assert (ranked[3].qualified, ranked[3].why.split(";")[0]) == (False, "lacks refrigerator")
    # Load does not count at all when it weighs nothing: the nearest wins.
    assert rank(candidates, {"refrigerator"}, LYON, km_per_ticket=0)[0].technician_id == 1


@pytest.mark.parametrize(
    ("warranty_end", "contracts", "expected"),
    [
        (date(2027, 1, 1), [], (True, None, False)),
        (date(2026, 1, 1), [], (False, None, True)),
        (
            None,
            [Contract("C1", "basic", date(2026, 1, 1), date(2026, 12, 31), 5)],
            (False, "basic", False),
        ),
        # expired contract: billable
        (
            None,
            [Contract("C0", "premium", date(2025, 1, 1), date(2025, 12, 31), None)],
            (False, None, True),
        ),
        # both: warranty and the better of two valid contracts
        (
            date(2027, 1, 1),
            [
                Contract("C1", "basic", date(2026, 1, 1), date(2026, 12, 31), None),
                Contract("C2", "premium", date(2026, 6, 1), date(2027, 5, 31), 5),
            ],
            (True, "premium", False),
        ),
    ],
)
def test_entitlement_at_the_tickets_date(
    warranty_end: date | None, contracts: list[Contract], expected: tuple[bool, str | None, bool]
) -> None:
    e = entitlement(date(2026, 12, 1), warranty_end, contracts)
    tier = e.contract.tier if e.contract else None
    assert (e.in_warranty, tier, e.billable) == expected
    assert ("billable" in e.label) == e.billable


def test_the_service_level_data_is_complete_and_checked() -> None:
    levels = load_service_levels()
    for tier in TIERS:
        targets = [levels.target(tier, p) for p in (1, 2, 3, 4)]
        # a higher priority never has a longer target, within every tier
        assert targets == sorted(targets, key=lambda t: (t.first_response_min, t.resolution_min))
    assert {"repaired", "part_replaced", "no_fault_found", "duplicate"} <= set(
        levels.resolution_codes
    )
    with pytest.raises(ValueError, match="one of: repaired"):
        levels.resolution_code("fixed_it")
    raw = tomllib.loads(files("crm_core.tickets").joinpath("service_levels.toml").read_text())
    raw["tiers"]["basic"]["P1"] = {"first_response_min": 90, "resolution_min": 30}
    with pytest.raises(ValueError, match=r"tiers\.basic\.P1"):
        parse_service_levels(raw)
