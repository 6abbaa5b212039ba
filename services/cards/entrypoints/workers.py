"""The journey worker: runs the journey's steps (service_layer/journey.py) every
few seconds beside the gRPC server."""

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
        while self.running:
            try:
                moved = await self.journey.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup: the next pass tries again
                log.warning("cards journey pass failed: %s", type(exc).__name__)
                moved = 0
            if not moved:
                await self.nap(self.every)
