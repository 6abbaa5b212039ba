"""Pruning what sign-in leaves behind, so that it does not pile up: rate-limit
events once the limits no longer count them, one-time-code and device challenges
once they have expired, citizens' and staff sessions once they have expired or been
signed out (with their links to the binding that opened them), and face comparisons
once the daily failure limit no longer counts them; and finished register imports
(their counters, rejection lists and any sealed chunks) once the retention
(MINTONG_IMPORT_RETENTION_DAYS) has passed.

Challenges and sessions are kept a day past their end (:data:`GRACE`), so that
whoever looks into a citizen's "my code did not work" or "I was signed out" the
same day still finds the rows. Nothing is lost by deleting them afterwards: an
expired or revoked session and a missing one get the same answer (sign in again).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from services.identity.service_layer.ports import Pruned, UnitOfWork
from services.runtime.clock import Clock
from services.runtime.worker import BackgroundLoop

log = logging.getLogger(__name__)

#: The longest span the one-time-code limits count back (Auth.request_code: an hour).
RATE_WINDOW = dt.timedelta(hours=1)
GRACE = dt.timedelta(days=1)
#: Rows of each kind per transaction: sign-ins wait for at most one batch.
BATCH = 1000


#: How long a finished register import stays readable (its status and rejections).
IMPORT_RETENTION = dt.timedelta(days=30)


async def prune(
    uow: UnitOfWork,
    now: dt.datetime,
    *,
    batch: int = BATCH,
    import_retention: dt.timedelta = IMPORT_RETENTION,
) -> Pruned:
    """Delete everything due, one transaction per batch; returns the totals."""
    total = Pruned()
    while True:
        async with uow.write() as store:
            done = await store.prune(
                rates_before=now - RATE_WINDOW,
                challenges_before=now - GRACE,
                sessions_before=now - GRACE,
                imports_before=now - import_retention,
                limit=batch,
            )
        total += done
        if done.largest < batch:
            return total


class PruneWorker(BackgroundLoop):
    """Runs :func:`prune` at start and then every ``interval`` seconds."""

    name = "identity-prune"

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        interval: float,
        import_retention: dt.timedelta = IMPORT_RETENTION,
    ) -> None:
        super().__init__()
        self.uow = uow
        self.clock = clock
        self.interval = interval
        self.import_retention = import_retention

    async def _run(self) -> None:
        while self.running:
            try:
                pruned = await prune(self.uow, self.clock(), import_retention=self.import_retention)
                if pruned != Pruned():
                    log.info(
                        "pruned %d rate events, %d challenges, %d sessions, %d import jobs",
                        pruned.rate_events,
                        pruned.challenges,
                        pruned.sessions,
                        pruned.import_jobs,
                    )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("identity prune: a round failed; trying again next time")
            await self.nap(self.interval)
