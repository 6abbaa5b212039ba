"""The SQL unit of work: one transaction for the state change and its events."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.booking.adapters import event_mapper, orm
from services.booking.adapters.bookings_repository import KnownCatalogue, SqlBookingRepository
from services.booking.adapters.hall_repository import KnownOffices, SqlHallRepository
from services.booking.adapters.policies_repository import SqlPolicyRepository
from services.booking.adapters.preapplications_repository import SqlPreApplicationRepository
from services.booking.adapters.repository import SqlCatalogueRepository
from services.booking.adapters.vacancy import Touched, entries_to_read
from services.booking.domain.events import Event
from services.runtime import audit as audit_log
from services.runtime.db import Database
from services.runtime.outbox import add_events
from services.runtime.pii import PiiCipher


class SqlTransaction:
    def __init__(
        self,
        conn: AsyncConnection,
        cipher: PiiCipher | None = None,
        offices: KnownOffices | None = None,
        catalogue: KnownCatalogue | None = None,
    ) -> None:
        self.conn = conn
        #: Slots whose count changed: their vacancy is told to the gateways.
        self.touched_slots: Touched = set()
        self.catalogue = SqlCatalogueRepository(conn, self.touched_slots)
        self.bookings = SqlBookingRepository(conn, self.touched_slots, catalogue)
        self.pre_applications = SqlPreApplicationRepository(conn, cipher)
        self.hall = SqlHallRepository(conn, offices)
        self.policies = SqlPolicyRepository(conn)
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    async def audit(self, action: str, subject: str, detail: dict[str, object]) -> None:
        await audit_log.record(self.conn, orm.audit, action, subject, detail)


class SqlUnitOfWork:
    def __init__(
        self, db: Database, on_commit: Callable[[], None] = lambda: None, cipher: PiiCipher | None = None
    ) -> None:
        self.db = db
        self.on_commit = on_commit  # the relay's wake-up: publish without waiting to poll
        #: Seals pre-applications' answers (personal data) at rest.
        self.cipher = cipher
        #: The hall's offices as this process last read them, each checked by its
        #: version when used (SqlHallRepository, decision 120).
        self.offices: KnownOffices = {}
        #: The offices, cities and businesses bookings were last checked against,
        #: each used while its version is the one a booking's read finds (decision 133).
        self.catalogue: KnownCatalogue = {}

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[SqlTransaction]:
        async with self.db.write() as conn:
            tx = SqlTransaction(conn, self.cipher, self.offices, self.catalogue)
            yield tx
            now = dt.datetime.now(dt.UTC)
            # The events, then the slots whose vacancy changed (read when published),
            # in one statement.
            await add_events(
                conn,
                orm.outbox,
                [event_mapper.to_proto(e, now) for e in tx.events],
                entries_to_read(tx.touched_slots),
            )
        if tx.events or tx.touched_slots:
            self.on_commit()

    @contextlib.asynccontextmanager
    async def read(self, *, snapshot: bool = True) -> AsyncIterator[SqlTransaction]:
        """``snapshot``: see Database.read. A statement that wrote by itself outside a
        transaction (SqlBookingRepository.book_at_once, the hall's ``announce``)
        recorded its outbox rows with its change: the relay is woken up here, as
        after a commit."""
        async with self.db.read(snapshot=snapshot) as conn:
            tx = SqlTransaction(conn, self.cipher, self.offices, self.catalogue)
            yield tx
        if tx.touched_slots or tx.hall.announced:
            self.on_commit()

    @contextlib.asynccontextmanager
    async def read_then_write(self) -> AsyncIterator[_ReadThenWrite]:
        async with contextlib.AsyncExitStack() as stack:
            stages = _ReadThenWrite(self, stack)
            # Registered first, so it runs last: a read still open ends with the block.
            stack.push_async_exit(stages.end_read)
            yield stages


class _ReadThenWrite:
    """The read, then (if the use case decides to write) the write transaction, on
    both databases. On PostgreSQL the read is outside any transaction: its
    statements need no BEGIN or ROLLBACK round trips, and a write of one statement,
    atomic by itself, may follow on its connection (decision 113); a write of
    several statements is a transaction of its own. On SQLite the read's transaction
    ends before the write's BEGIN IMMEDIATE (a deferred transaction that later
    writes can deadlock with another writer)."""

    def __init__(self, uow: SqlUnitOfWork, stack: contextlib.AsyncExitStack) -> None:
        self._uow = uow
        self._stack = stack
        self._reading: contextlib.AbstractAsyncContextManager[SqlTransaction] | None = None
        self._tx: SqlTransaction | None = None

    async def read(self) -> SqlTransaction:
        assert self._tx is None, "read() comes first, once"
        self._reading = self._uow.read(snapshot=False)
        self._tx = await self._reading.__aenter__()
        return self._tx

    async def write(self) -> SqlTransaction:
        assert self._tx is not None, "write() after read()"
        await self.end_read(None, None, None)
        self._tx = await self._stack.enter_async_context(self._uow.write())
        return self._tx

    async def end_read(self, *exc_info: Any) -> bool:
        reading, self._reading = self._reading, None
        if reading is not None:
            await reading.__aexit__(*exc_info)
        return False
