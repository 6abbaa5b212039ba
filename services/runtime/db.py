"""Async SQLAlchemy engine and transactions for SQLite and PostgreSQL.

SQLite: WAL journal, and every write transaction starts with ``BEGIN IMMEDIATE``
so that two writers never both read and then both try to upgrade their lock (the
classic ``database is locked`` deadlock); writers of one process also queue on an
asyncio lock instead of spinning on busy_timeout.
PostgreSQL (asyncpg): each service keeps its tables in its own schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import sqlalchemy.ext.asyncio as sa_asyncio
from sqlalchemy import ColumnElement, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random

log = logging.getLogger(__name__)
_WRITE = "mintong_write"
#: The isolation level of a connection outside any transaction (PostgreSQL).
AUTOCOMMIT = "AUTOCOMMIT"
T = TypeVar("T")

#: Constraint and index names every service's metadata uses, so that migrations
#: name them the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def normalise_url(url: str) -> str:
    """Accept the plain ``postgresql://`` / ``sqlite://`` spellings people type."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


class Database:
    """One service's database: an engine plus read and write transactions."""

    def __init__(
        self, url: str, *, schema: str, pool_size: int = 10, max_overflow: int | None = None
    ) -> None:
        self.url = normalise_url(url)
        self.schema = schema
        self.is_sqlite = self.url.startswith("sqlite")
        # Looked up at call time, not imported: the OpenTelemetry instrumentation
        # patches sqlalchemy's factory when tracing is set up, after this import.
        create_async_engine = sa_asyncio.create_async_engine
        #: The most connections the pool opens at once (PostgreSQL; the metrics' limit).
        self.pool_limit: int | None = None
        if self.is_sqlite:
            if database := make_url(self.url).database:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(self.url)
            _configure_sqlite(self.engine)
        else:
            overflow = pool_size if max_overflow is None else max_overflow
            self.pool_limit = pool_size + overflow
            self.engine = create_async_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=overflow,
                # application_name: pg_stat_activity tells each service's connections
                # apart (several processes of a service share it, and so its name).
                connect_args={"server_settings": {"search_path": schema, "application_name": schema[:63]}},
            )
        # Only SQLite needs writers of one process queued: it has one writer at a time.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        #: The same pool, its connections outside any transaction while checked out.
        self._autocommit = (
            None if self.is_sqlite else self.engine.execution_options(isolation_level=AUTOCOMMIT)
        )

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: commits when the block ends, rolls back on error."""
        if self._write_lock is None:
            # PostgreSQL: no option to set (BEGIN IMMEDIATE is SQLite's); setting one
            # anyway costs a greenlet round per transaction on the request path.
            async with self.engine.connect() as conn, conn.begin():
                yield conn
            return
        async with self._write_lock, self.engine.connect() as conn:
            await conn.execution_options(**{_WRITE: True})
            async with conn.begin():
                yield conn

    @contextlib.asynccontextmanager
    async def write_one(self) -> AsyncIterator[AsyncConnection]:
        """A write of one statement, atomic by itself: on PostgreSQL a connection
        outside any transaction, the statement committing by itself, with no BEGIN
        or COMMIT round trip (two of a lone statement's three); a failure writes
        nothing, as a rollback. On SQLite a write transaction (:meth:`write`), where
        the caller may run several statements."""
        if self._autocommit is None:
            async with self.write() as conn:
                yield conn
            return
        async with self._autocommit.connect() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def read(self, *, snapshot: bool = True) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (a consistent snapshot on both databases). Without
        ``snapshot``, on PostgreSQL, a connection outside any transaction instead:
        each statement sees what committed before it and commits by itself, with no
        BEGIN or ROLLBACK round trip (a read of one statement; a write that is one
        statement, atomic by itself). SQLite reads in a transaction either way."""
        # The connection begins on first use and rolls back when closed.
        async with (
            self.engine if snapshot or self._autocommit is None else self._autocommit
        ).connect() as conn:
            yield conn

    async def warm(self, connections: int, ready: Callable[[AsyncConnection], Awaitable[None]]) -> int:
        """Open up to ``connections`` of the pool's connections now, each made ready
        by ``ready`` (its statements prepared and planned), and leave them in the pool.
        A pool kept open (decision 123) otherwise opens them on the first burst of
        requests, each a PostgreSQL backend forked and its catalog caches filled while
        requests wait (decision 127). PostgreSQL only; how many were opened."""
        if self._autocommit is None or connections <= 0:
            return 0
        async with contextlib.AsyncExitStack() as opened:
            conns = [
                await opened.enter_async_context(self._autocommit.connect())
                for _ in range(min(connections, self.pool_limit or connections))
            ]
            await asyncio.gather(*(ready(conn) for conn in conns))
        return len(conns)

    async def dispose(self) -> None:
        await self.engine.dispose()


class PoolWarmer:
    """A service's worker that warms its database's pool (``Database.warm``) when the
    service starts, before it serves. A failure is logged, not raised: the pool then
    opens its connections on demand, as it would have."""

    def __init__(
        self, db: Database, connections: int, ready: Callable[[AsyncConnection], Awaitable[None]]
    ) -> None:
        self.db = db
        self.connections = connections
        self.ready = ready

    async def start(self) -> None:
        try:
            opened = await self.db.warm(self.connections, self.ready)
        except Exception:  # the database may come later; requests open what they need
            log.warning("could not warm the database pool", exc_info=True)
            return
        if opened:
            log.info("database pool warmed: %d connections", opened)

    async def stop(self) -> None:
        pass


class TransactionFactory(Generic[T]):
    """A unit of work that hands each transaction's connection to ``make`` (e.g. a
    store class), for services whose writes need nothing more than the transaction."""

    def __init__(self, db: Database, make: Callable[[AsyncConnection], T]) -> None:
        self.db = db
        self.make = make
        #: Called after a commit whose store says ``wrote_outbox`` (the relay's
        #: wake-up: what was written leaves now rather than at the next poll).
        self.on_commit: Callable[[], None] = lambda: None

    def write(self) -> contextlib.AbstractAsyncContextManager[T]:
        return self._writing(self.db.write())

    def write_one(self) -> contextlib.AbstractAsyncContextManager[T]:
        """A write of one statement (Database.write_one); the same ``on_commit``."""
        return self._writing(self.db.write_one())

    @contextlib.asynccontextmanager
    async def _writing(
        self, connecting: contextlib.AbstractAsyncContextManager[AsyncConnection]
    ) -> AsyncIterator[T]:
        async with connecting as conn:
            store = self.make(conn)
            yield store
        if getattr(store, "wrote_outbox", False):
            self.on_commit()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[T]:
        async with self.db.read() as conn:
            yield self.make(conn)


#: PostgreSQL's deadlock_detected and serialization_failure: the transaction was
#: rolled back whole, and running it again may well succeed.
_TRANSIENT_SQLSTATES = {"40P01", "40001"}


def is_transient(error: BaseException) -> bool:
    """A failure that says "try the same transaction again": a deadlock or a
    serialization failure on PostgreSQL, a lock wait that ran out on SQLite."""
    if not isinstance(error, DBAPIError):
        return False
    if getattr(error.orig, "sqlstate", None) in _TRANSIENT_SQLSTATES:
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


def lost_connection(error: BaseException) -> bool:
    """The database connection broke under a statement (PostgreSQL restarted or
    failed over, the connection terminated by an operator, the network cut) or could
    not be made: nothing the request did wrong, and asking again will reach a new
    connection. Whether a COMMIT in flight took effect is unknown, so only callers
    may repeat (a booking's Idempotency-Key makes that safe), never the service."""
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig or error
        cause = error.__cause__  # SQLAlchemy's asyncpg adapter wraps asyncpg's own
        if cause is not None:
            error = cause
    # ConnectionError, not OSError: a missing file (an attachment) is no lost database.
    return isinstance(error, (ConnectionError, *_asyncpg_connection_errors()))


def _asyncpg_connection_errors() -> tuple[type[BaseException], ...]:
    try:
        import asyncpg
    except ImportError:  # SQLite only
        return ()
    # 08xxx connection exceptions, the 57xxx operator interventions that end the
    # connection (not 57014, a cancelled query), a closed connection, and asyncpg's
    # protocol state left behind by an operation the lost connection interrupted.
    return (
        asyncpg.PostgresConnectionError,
        asyncpg.exceptions.AdminShutdownError,
        asyncpg.exceptions.CrashShutdownError,
        asyncpg.exceptions.CannotConnectNowError,
        asyncpg.exceptions.IdleSessionTimeoutError,
        asyncpg.exceptions.ConnectionDoesNotExistError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.InternalClientError,
    )


async def retry_transient(work: Callable[[], Awaitable[T]], *, attempts: int = 3) -> T:
    """Run ``work`` (whole use cases, each opening its own transactions) again
    after a transient failure, so that a rare deadlock between two requests is a
    short delay for one of them rather than an error. Only for work that is safe
    to repeat once rolled back: all of ours is, its transactions being atomic."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(attempts),
        wait=wait_random(0.01, 0.1),
        reraise=True,
    ):
        with attempt:
            return await work()
    raise AssertionError("unreachable: tenacity re-raises the last failure")


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from the driver so "begin" below decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a booking acknowledged to a citizen survives a power cut too.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def dialect_insert(dialect: str) -> Any:
    """The ``insert`` of ``dialect`` ("postgresql" or "sqlite"), whose statements
    speak ``ON CONFLICT``; both dialects we run on have one."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def insert_built_once(table: Table, dialect: str) -> Any:
    """``INSERT`` into ``table`` in ``dialect`` ("sqlite" or "postgresql") for one
    statement with an ``on_conflict_*`` clause, built once (a module's or an object's
    constant), which SQLAlchemy then compiles once. Its dialect's own statement is
    compiled again at every execution, its on-conflict clause having no cache key (a
    fifth of a lone event's CPU in notify, decision 99). Here each call has a class of
    its own: SQLAlchemy's cache key holds the class, which tells the statement apart,
    and leaves out the on-conflict clause. One call, one statement: two clauses put on
    one call's insert would share a key."""
    base = postgresql.Insert if dialect == "postgresql" else sqlite.Insert
    built_once = type(
        f"{table.name}_{base.__name__}_built_once",
        (base,),
        {
            "inherit_cache": True,
            "_cache_key_traversal": [
                (name, kind) for name, kind in base._traverse_internals if name != "_post_values_clause"
            ],
            "__module__": __name__,
        },
    )
    return built_once(table)


@functools.cache
def insert_or_nothing(table: Table, dialect: str) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` into ``table`` in ``dialect``, made once per
    table and dialect with :func:`insert_built_once`, so SQLAlchemy compiles it once:
    the statement of every claim that a collision answers rather than fails."""
    return insert_built_once(table, dialect).on_conflict_do_nothing()


async def upsert(
    conn: AsyncConnection,
    table: Table,
    values: dict[str, Any],
    keys: list[str],
    where: ColumnElement[bool] | None = None,
    insert_only: tuple[str, ...] = (),
) -> int:
    """INSERT … ON CONFLICT DO UPDATE in the dialect at hand (both speak it): one
    statement, so two writers of a new row cannot both insert it (an UPDATE then an
    INSERT can). ``where`` limits which existing rows are updated; ``insert_only``
    columns are written to a new row only. Returns the rows written (0: the row
    exists and ``where`` kept it)."""
    insert = dialect_insert(conn.dialect.name)(table)
    statement = insert.values(**values)
    changes = {k: statement.excluded[k] for k in values if k not in keys and k not in insert_only}
    result = await conn.execute(
        statement.on_conflict_do_update(index_elements=keys, set_=changes, where=where)
        if changes
        else statement.on_conflict_do_nothing(index_elements=keys)
    )
    return result.rowcount
