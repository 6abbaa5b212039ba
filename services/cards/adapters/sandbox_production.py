"""SANDBOX card production centre (a minimal stand-in; the full sandbox lands with
the partner adapters): remembers the batches handed over and reports their cards
made ``delay`` seconds later, so one machine shows the journey. Refused in
production unless MINTONG_ALLOW_SANDBOX names card_production."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from services.cards.service_layer.ports import ProducedCard, ProductionOrder
from services.runtime.clock import Clock


class SandboxProductionCentre:
    def __init__(self, clock: Clock, delay: float = 5.0) -> None:
        self.clock = clock
        self.delay = dt.timedelta(seconds=delay)
        #: What it would have made: batch id → (when handed over, orders).
        self.batches: dict[str, tuple[dt.datetime, list[ProductionOrder]]] = {}

    async def submit(self, batch_id: str, orders: Sequence[ProductionOrder]) -> None:
        self.batches.setdefault(batch_id, (self.clock(), list(orders)))

    async def produced(self, batch_id: str) -> Sequence[ProducedCard]:
        if batch_id not in self.batches:
            return []
        at, orders = self.batches[batch_id]
        if self.clock() - at < self.delay:
            return []
        today = self.clock().date()
        return [
            ProducedCard(
                application_id=o.application_id,
                card_number="SB" + str(int(hashlib.sha256(o.application_id.encode()).hexdigest(), 16))[:10],
                issued_on=today,
                expires_on=today.replace(year=today.year + 10),
            )
            for o in orders
        ]
