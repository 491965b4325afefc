"""Excursion -> recall: a leg that broke a product's rule proposes a recall of its lots.

A handler on :class:`devices.coldchain.online.ExcursionFound`, in the readings batch's
transaction. The proposal waits for quality staff (``crm_core.recalls.service.approve``):
nothing goes to stores or customers from here. One proposal per leg (its scope covers every
product the leg broke a rule of), however often the leg is evaluated again.
"""

from __future__ import annotations

import logging
from typing import Any

from crm_core.kernel.clock import Clock
from crm_core.kernel.events import Event
from crm_core.recalls.proposal import propose_for_excursion
from devices.coldchain.online import ExcursionFound

log = logging.getLogger(__name__)


class ProposeRecall:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def __call__(self, event: ExcursionFound, uow: Any) -> list[Event]:
        recall_id = propose_for_excursion(
            uow.connection, event.leg_id, event.gtin, event.rules, self._clock()
        )
        if recall_id is not None:
            log.info(
                "recall %d proposed: leg %d, GTIN %s broke %s",
                recall_id,
                event.leg_id,
                event.gtin,
                ", ".join(event.rules),
            )
        return []
