"""The booking service's housekeeping loop: waitlist holds that ran out pass to
the next citizen in line, and idempotency keys older than their keeping time go."""

from __future__ import annotations

import datetime as dt
import logging

from services.booking.service_layer import bookings
from services.booking.service_layer.unit_of_work import UnitOfWork
from services.runtime.clock import Clock
from services.runtime.worker import BackgroundLoop

log = logging.getLogger(__name__)


class HoldKeeper(BackgroundLoop):
    name = "booking-holds"

    def __init__(self, uow: UnitOfWork, clock: Clock, *, every: float, keep_keys: dt.timedelta) -> None:
        super().__init__()
        self.uow = uow
        self.clock = clock
        self.every = every
        self.keep_keys = keep_keys

    async def _run(self) -> None:
        while self.running:
            try:
                await bookings.expire_holds(self.uow, self.clock)
            except Exception:  # a database hiccup must not end the loop
                log.exception("expiring waitlist holds failed")
            await self.now_and_then(
                lambda: bookings.prune_idempotency_keys(self.uow, self.clock, self.keep_keys)
            )
            await self.nap(self.every)
