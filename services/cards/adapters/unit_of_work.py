"""The SQL unit of work: one transaction for the state change and its events."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncConnection

from services.cards.adapters import event_mapper, orm
from services.cards.adapters.repository import SqlApplicationRepository
from services.cards.domain.events import Event
from services.runtime import audit as audit_log
from services.runtime.db import Database
from services.runtime.outbox import add_events
from services.runtime.pii import PiiCipher


class SqlTransaction:
    def __init__(self, conn: AsyncConnection, cipher: PiiCipher) -> None:
        self.conn = conn
        self.applications = SqlApplicationRepository(conn, cipher)
        self.events: list[Event] = []
        self.carriers: list[Mapping[str, str] | None] = []

    def emit(self, event: Event, carrier: Mapping[str, str] | None = None) -> None:
        self.events.append(event)
        self.carriers.append(carrier)

    async def audit(self, action: str, subject: str, detail: dict[str, object]) -> None:
        await audit_log.record(self.conn, orm.audit, action, subject, detail)


class SqlUnitOfWork:
    def __init__(self, db: Database, cipher: PiiCipher, on_commit: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.cipher = cipher
        self.on_commit = on_commit  # the relay's wake-up: publish without waiting to poll

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[SqlTransaction]:
        async with self.db.write() as conn:
            tx = SqlTransaction(conn, self.cipher)
            yield tx
            now = dt.datetime.now(dt.UTC)
            events = [event_mapper.to_proto(e, now) for e in tx.events]
            await add_events(conn, orm.outbox, events, carriers=tx.carriers)
        if tx.events:
            self.on_commit()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[SqlTransaction]:
        async with self.db.read() as conn:
            yield SqlTransaction(conn, self.cipher)
