"""The delivery worker: hands due deliveries to providers, woken when a message is
queued, else every poll interval (scheduled reminders, retries' back-off)."""

from __future__ import annotations

import asyncio
import logging

from services.notify.service_layer.notifier import ROUND, Notifier
from services.runtime.worker import BackgroundLoop

log = logging.getLogger(__name__)


class DeliveryWorker(BackgroundLoop):
    name = "delivery-worker"

    def __init__(self, notifier: Notifier, poll_interval: float = 1.0) -> None:
        super().__init__()
        self.notifier = notifier
        self.poll_interval = poll_interval

    async def stop(self) -> None:
        await super().stop()
        try:
            await self.notifier.release_handed()
        except Exception:  # the stuck-delivery sweep takes them in STUCK_AFTER instead
            log.exception("delivery worker: could not queue the handed deliveries again")

    async def _run(self) -> None:
        while self.running:
            try:
                tried = await self.notifier.deliver_due(ROUND)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery worker: a round failed; trying again")
                tried = 0
            # A round short of full took every delivery due: another claim now would
            # find nothing and cost a write transaction (one a message when they come
            # one at a time). What is queued meanwhile wakes the nap at once.
            if tried < ROUND:
                await self.nap(self.poll_interval)
