"""The policies' loop (decision 59): policies whose effective_from has come come into
force, those past their effective_until lapse, and office closures' cancellations
left unfinished (a crash between batches) go on."""

from __future__ import annotations

import logging

from services.booking.service_layer import policies
from services.booking.service_layer.unit_of_work import UnitOfWork
from services.runtime.clock import Clock
from services.runtime.worker import BackgroundLoop

log = logging.getLogger(__name__)


class PolicyKeeper(BackgroundLoop):
    name = "booking-policies"

    def __init__(self, uow: UnitOfWork, clock: Clock, *, every: float) -> None:
        super().__init__()
        self.uow = uow
        self.clock = clock
        self.every = every

    async def _run(self) -> None:
        while self.running:
            try:
                await policies.keep(self.uow, self.clock)
            except Exception:  # a database hiccup must not end the loop
                log.exception("keeping the policies failed")
            await self.nap(self.every)
