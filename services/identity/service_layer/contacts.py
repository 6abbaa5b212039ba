"""Telling notify how each citizen can be reached.

Whenever a citizen's contacts change (the register's phone imported or changed by a
re-import, a WeChat openid or APP device bound or removed) the use case making the
change also calls ``store.contacts_changed`` in its transaction: the whole current
set goes to the outbox, sealed, and notify keeps the newest it has seen
(docs/decisions.md, "Notify learns contacts from identity's events").

Residents imported before identity told notify are covered by a backfill that walks
the register once, in batches, from a cursor kept in the database: it runs when the
identity process starts until it is done (so an existing data dir catches up by
itself), resumes where it stopped after a restart, and runs again from the start
after ``python -m services.identity republish-contacts`` (e.g. when notify's database
was restored from an older backup).
"""

from __future__ import annotations

import asyncio
import logging

from services.identity.service_layer.ports import UnitOfWork
from services.runtime.worker import BackgroundLoop

log = logging.getLogger(__name__)

BACKFILL = "contacts-to-notify"
#: Citizens per transaction: an import or a sign-in waits for at most one batch.
BATCH = 500


async def publish_all(uow: UnitOfWork, *, batch: int = BATCH, restart: bool = False) -> int:
    """Publish the contacts of every resident not published by this backfill yet;
    returns how many were published now. ``restart``: from the first citizen again."""
    if restart:
        async with uow.write() as store:
            await store.set_backfill(BACKFILL, "", done=False)
    published = 0
    while True:
        async with uow.write() as store:
            cursor, done = await store.backfill(BACKFILL) or ("", False)
            if done:
                return published
            citizens = await store.citizens_after(cursor, batch)
            await store.contacts_changed(citizens)
            await store.set_backfill(
                BACKFILL, citizens[-1] if citizens else cursor, done=len(citizens) < batch
            )
        published += len(citizens)
        if len(citizens) < batch:
            return published


class ContactsBackfill(BackgroundLoop):
    """Runs :func:`publish_all` once at start, retrying a failed pass after ``retry`` s."""

    name = "identity-contacts-backfill"

    def __init__(self, uow: UnitOfWork, retry: float = 30.0) -> None:
        super().__init__()
        self.uow = uow
        self.retry = retry

    async def _run(self) -> None:
        while self.running:
            try:
                if published := await publish_all(self.uow):
                    log.info("published the contacts of %d citizens to notify", published)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("contacts backfill: a batch failed; resuming from its cursor later")
            await self.nap(self.retry)
