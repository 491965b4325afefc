"""The service-level data (``service_levels.toml``): SLA targets per tier and priority,
escalation targets and resolution codes, loaded and checked once.

>>> levels = load_service_levels()
>>> levels.target("premium", 1)
Target(first_response_min=30, resolution_min=240)
>>> levels.resolution_codes["no_fault_found"].effect
'no_fault'
>>> levels.target("gold", 1)
Traceback (most recent call last):
...
ValueError: no SLA policy for tier gold; tiers: premium, standard, basic, none
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Final, Literal, get_args

Tier = Literal["premium", "standard", "basic", "none"]
TIERS: Final[tuple[Tier, ...]] = get_args(Tier)
Effect = Literal["repair", "no_fault", "none"]


@dataclass(frozen=True, slots=True)
class Target:
    first_response_min: int
    resolution_min: int


@dataclass(frozen=True, slots=True)
class Escalation:
    kind: Literal["functional", "hierarchical"]
    to: str


@dataclass(frozen=True, slots=True)
class ResolutionCode:
    code: str
    label: str
    effect: Effect


@dataclass(frozen=True, slots=True)
class ServiceLevels:
    tiers: dict[str, dict[int, Target]]
    tier_labels: dict[str, str]
    warning_share_default: float
    on_warning: Escalation
    on_breach: Escalation
    resolution_codes: dict[str, ResolutionCode]

    def target(self, tier: str, priority: int) -> Target:
        if tier not in self.tiers:
            raise ValueError(f"no SLA policy for tier {tier}; tiers: {', '.join(self.tiers)}")
        return self.tiers[tier][priority]

    def resolution_code(self, code: str) -> ResolutionCode:
        """The code, or ValueError naming the valid ones."""
        found = self.resolution_codes.get(code)
        if found is None:
            raise ValueError(
                f"unknown resolution code {code!r}; one of: {', '.join(self.resolution_codes)}"
            )
        return found


def _target(raw: Any, where: str) -> Target:
    first, resolution = int(raw["first_response_min"]), int(raw["resolution_min"])
    if not 0 < first <= resolution:
        raise ValueError(f"{where}: need 0 < first_response_min <= resolution_min")
    return Target(first, resolution)


def parse_service_levels(raw: dict[str, Any]) -> ServiceLevels:
    tiers: dict[str, dict[int, Target]] = {}
    labels: dict[str, str] = {}
    for tier in TIERS:
        table = raw["tiers"][tier]
        labels[tier] = str(table["label"])
        tiers[tier] = {p: _target(table[f"P{p}"], f"tiers.{tier}.P{p}") for p in (1, 2, 3, 4)}
    codes = {}
    for code, entry in raw["resolution_codes"].items():
        effect = entry["effect"]
        if effect not in get_args(Effect):
            raise ValueError(f"resolution code {code}: effect {effect!r} is not one of {Effect}")
        codes[code] = ResolutionCode(code, str(entry["label"]), effect)
    escalation = raw["escalation"]
    share = float(raw["warning_share_default"])
    if not 0 < share < 1:
        raise ValueError("warning_share_default is a share between 0 and 1")
    return ServiceLevels(
        tiers=tiers,
        tier_labels=labels,
        warning_share_default=share,
        on_warning=Escalation(escalation["warning"]["kind"], str(escalation["warning"]["to"])),
        on_breach=Escalation(escalation["breach"]["kind"], str(escalation["breach"]["to"])),
        resolution_codes=codes,
    )


@cache
def load_service_levels() -> ServiceLevels:
    text = files("crm_core.tickets").joinpath("service_levels.toml").read_text("utf-8")
    return parse_service_levels(tomllib.loads(text))
