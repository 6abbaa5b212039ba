"""The journey worker: runs the journey's steps (service_layer/journey.py) every
few seconds beside the gRPC server.

It naps before its first pass rather than after: a pass at start-up raced whatever
else began at start-up (the tests drive the steps themselves and once found an
application shipped under them), and work left by a crash waits only one period."""

from __future__ import annotations

import asyncio
import logging

from services.cards.service_layer.journey import Journey
from services.runtime.worker import BackgroundLoop

log = logging.getLogger(__name__)


class JourneyWorker(BackgroundLoop):
    name = "cards-journey"

    def __init__(self, journey: Journey, every: float) -> None:
        super().__init__()
        self.journey = journey
        self.every = every

    async def _run(self) -> None:
        moved = 0
        while self.running:
            if not moved:
                await self.nap(self.every)
            try:
                moved = await self.journey.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup: the next pass tries again
                log.warning("cards journey pass failed: %s", type(exc).__name__)
                moved = 0
