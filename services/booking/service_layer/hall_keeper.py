"""The hall's housekeeping loop: called tickets whose citizen did not come within
the city's grace period become no-shows (decision 49)."""

from __future__ import annotations

import logging

from services.booking.service_layer import hall
from services.booking.service_layer.unit_of_work import UnitOfWork
from services.runtime.clock import Clock
from services.runtime.worker import BackgroundLoop

log = logging.getLogger(__name__)


class HallKeeper(BackgroundLoop):
    name = "booking-hall"

    def __init__(self, uow: UnitOfWork, clock: Clock, *, every: float) -> None:
        super().__init__()
        self.uow = uow
        self.clock = clock
        self.every = every

    async def _run(self) -> None:
        while self.running:
            try:
                await hall.sweep_no_shows(self.uow, self.clock)
            except Exception:  # a database hiccup must not end the loop
                log.exception("sweeping the hall's no-shows failed")
            await self.nap(self.every)
