"""When a household is away: public holidays of its country and trips of its own.

Pure and deterministic per serial. A household is away on a day when that day is a public
holiday in its country (``holidays``, the package the SLA calendar uses) and it took the
day off (half of them do: a bridge day, a visit to family), or when it is on one of its own
trips (a week starts one with probability :data:`TRIP_PER_WEEK`, 2-4 days long). While it is
away nobody opens the fridge door and nobody washes (:mod:`simulators.signals`,
:mod:`simulators.delivery`).

>>> from simulators.fleet import make_device
>>> fridge = make_device(1, "refrigerator", 1)
>>> home_country(fridge)
'PT'
>>> days = range(20_422, 20_436)  # 30 Nov-13 Dec 2025
>>> away_days = [d for d in days if away_on(fridge.serial, d)]
>>> [str(date.fromordinal(EPOCH_ORDINAL + d)) for d in away_days]
['2025-12-01']
"""

from __future__ import annotations

import random
import zlib
from datetime import date
from functools import cache, lru_cache
from typing import Final

import holidays

from simulators.fleet import DAY_S, SimDevice

COUNTRIES: Final = ("DE", "AT", "ES", "PT", "IT", "FI", "IE", "FR")
"""Where the simulated households live (several have public holidays in early December)."""
AWAY_ON_HOLIDAY: Final = 0.5
"""Share of households away on a public holiday of their country."""
TRIP_PER_WEEK: Final = 0.1
"""Chance that a household leaves on a trip of its own in a given week."""
TRIP_DAYS: Final = (2, 4)
EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


def home_country(device: SimDevice) -> str:
    """The household's country (ISO 3166-1 alpha-2), fixed by the serial."""
    return _country(device.serial)


def _country(serial: str) -> str:
    return COUNTRIES[zlib.crc32(f"country:{serial}".encode()) % len(COUNTRIES)]


@cache
def _public_holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year))


def _on_trip(serial: str, day: int) -> bool:
    week = day // 7
    for start_week in (week - 1, week):  # a trip started late last week may still go on
        rng = random.Random(f"careline-trip:{serial}:{start_week}")
        if rng.random() >= TRIP_PER_WEEK:
            continue
        first = start_week * 7 + rng.randrange(7)
        if first <= day < first + rng.randint(*TRIP_DAYS):
            return True
    return False


@lru_cache(maxsize=65_536)
def away_on(serial: str, day: int) -> bool:
    """Whether the household of ``serial`` is away on UTC day ``day`` (days since 1970)."""
    when = date.fromordinal(EPOCH_ORDINAL + day)
    holiday = when in _public_holidays(_country(serial), when.year)
    if holiday and random.Random(f"careline-away:{serial}:{day}").random() < AWAY_ON_HOLIDAY:
        return True
    return _on_trip(serial, day)


def away(device: SimDevice, t: float) -> bool:
    """Whether the household of ``device`` is away at UTC epoch second ``t``."""
    return away_on(device.serial, int(t // DAY_S))
