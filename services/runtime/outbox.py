"""The transactional outbox and its relay to JetStream.

A service writes its state change and the event in one transaction
(:func:`add_event`); :class:`OutboxRelay` publishes unsent rows in order with
``Nats-Msg-Id`` = the row's id, so JetStream drops a re-publication inside its
duplicate window, and a row's mark as sent is committed only after its publish
is acknowledged (on PostgreSQL the batch is marked as it is claimed, in the
transaction that publishes it, and what was not acknowledged unmarked before the
commit, decision 122).
The trace context of the writer is stored with the row so the publish, and the
consumer after it, continue the citizen's trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import json
import logging
import time
import types
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from google.protobuf.message import Message
from nats.js.errors import NoStreamResponseError
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    any_,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert, Update

from services.runtime import telemetry
from services.runtime.db import Database, as_utc
from services.runtime.events import EVENT_TYPE, EXPECTED_LAST_MSG_ID, MSG_ID, EventBus, Pipeline, subject_of
from services.runtime.worker import BackgroundLoop

log = logging.getLogger(__name__)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")


def outbox_table(metadata: MetaData) -> Table:
    """Attach the outbox table to a service's metadata (its migrations create it)."""
    return Table(
        "outbox",
        metadata,
        Column("seq", _SEQ, primary_key=True, autoincrement=True),
        Column("id", String(36), nullable=False, unique=True),
        Column("subject", String(200), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Index(
            "ix_outbox_unpublished",
            "seq",
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )


#: Events in one call from which PostgreSQL gets them by COPY.
COPY_FROM = 100
_COLUMNS = ("id", "subject", "event_type", "payload", "headers", "created_at")


async def add_event(conn: AsyncConnection, outbox: Table, event: Message) -> str:
    """Write ``event`` to the outbox inside the caller's transaction; returns its id."""
    [event_id] = await add_events(conn, outbox, [event])
    return event_id


async def add_events(
    conn: AsyncConnection,
    outbox: Table,
    events: Sequence[Message],
    messages: Sequence[tuple[str, str, bytes]] = (),
    carriers: Sequence[Mapping[str, str] | None] = (),
) -> list[str]:
    """Write ``events``, in order, then raw ``messages`` (see :func:`add_messages`), in
    one statement (a suspension told to thousands of citizens, a backfill of a
    register, a booking and its slot's vacancy: one round trip, not one per row).
    Each row continues the current trace, or the one ``carriers`` gives for the
    event at its place (several requests' changes written in one transaction)."""
    if not events and not messages:
        return []
    records = outbox_records(events, messages, carriers)
    if conn.dialect.name == "postgresql" and len(records) >= COPY_FROM:
        # A register import tells notify of thousands of residents per batch: COPY
        # sends the rows as they are, where bound parameters built row by row cost
        # more CPU than making the events. ``seq`` follows the rows' order either way.
        await conn.exec_driver_sql("SELECT 1")  # SQLAlchemy's BEGIN goes first
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.copy_records_to_table(
            outbox.name, records=records, columns=list(_COLUMNS), schema_name=outbox.schema
        )
    else:
        await conn.execute(_insert(outbox), [dict(zip(_COLUMNS, r, strict=True)) for r in records])
    return [r[0] for r in records]


def outbox_records(
    events: Sequence[Message],
    messages: Sequence[tuple[str, str, bytes]] = (),
    carriers: Sequence[Mapping[str, str] | None] = (),
) -> list[tuple[str, str, str, bytes, str, dt.datetime]]:
    """The rows (in ``_COLUMNS``' order) :func:`add_events` writes."""
    current = json.dumps(telemetry.current_carrier())
    encoded: dict[int, str] = {}  # a request's several events share its carrier

    def headers(n: int) -> str:
        carrier = carriers[n] if n < len(carriers) else None
        if carrier is None:
            return current
        if id(carrier) not in encoded:
            encoded[id(carrier)] = json.dumps(carrier)
        return encoded[id(carrier)]

    now = dt.datetime.now(dt.UTC)
    rows = [(subject_of(e), e.DESCRIPTOR.full_name, e.SerializeToString()) for e in events]
    return [(str(uuid.uuid4()), *row, headers(n), now) for n, row in enumerate([*rows, *messages])]


#: PostgreSQL's type of each column's array in :func:`insert_from_arrays`.
_ARRAYS = {"payload": "bytea[]", "created_at": "timestamptz[]"}


def insert_from_arrays(outbox: Table, prefix: str) -> str:
    """PostgreSQL's ``INSERT INTO <outbox> … SELECT … FROM unnest(…)``, each column an
    array parameter (``<prefix><column>``): a statement's rows of the outbox, written
    by the statement that makes its change (a booking's, decision 113), whatever
    their number. :func:`from_arrays` gives the parameters; append a ``WHERE`` to
    write them only with the change."""
    arrays = ", ".join(f"CAST(:{prefix}{c} AS {_ARRAYS.get(c, 'text[]')})" for c in _COLUMNS)
    return f"INSERT INTO {outbox.name} ({', '.join(_COLUMNS)}) SELECT * FROM unnest({arrays}) AS rows"


def from_arrays(records: Sequence[tuple[Any, ...]], prefix: str) -> dict[str, list[Any]]:
    """The parameters of :func:`insert_from_arrays` for ``records`` (:func:`outbox_records`)."""
    return {f"{prefix}{column}": [r[n] for r in records] for n, column in enumerate(_COLUMNS)}


@functools.cache
def _insert(outbox: Table) -> Insert:
    """The outbox's INSERT, built once per table: every write transaction with an
    event runs it, and building it (and its cache key) anew each time showed in the
    hall's profile (decision 64's reason, for the outbox)."""
    return outbox.insert()


async def add_messages(
    conn: AsyncConnection, outbox: Table, messages: Sequence[tuple[str, str, bytes]]
) -> None:
    """Write raw ``(subject, type, payload)`` messages that are no proto event (a
    key-value bucket's entries: services/runtime/revocations.py), published by the
    relay as reliably and in the same order as events."""
    await add_events(conn, outbox, (), messages)


#: Reads, when they are published, the payloads of a batch's rows of one event type
#: that tell an aggregate's current state (written with an empty payload): given the
#: rows' subjects, each subject's payload now (none: the row's own is sent; for a
#: slot's vacancy entry, an empty value is a slot the gateways leave to booking).
CurrentPayloads = Callable[[AsyncConnection, list[str]], Awaitable[Mapping[str, bytes]]]


class OutboxRelay(BackgroundLoop):
    """Publishes a service's outbox in ``seq`` order; a failed publish stops the
    batch so that no later event overtakes it. Events of one aggregate keep their
    order because their transactions serialise on the aggregate's row and write
    the outbox last, so ``seq`` follows their commits. Several relays on one
    PostgreSQL database (replicas of a service) take turns, one batch at a time
    under a lock (:meth:`publish_pending`), so each row is published once; a row
    published again after a crash is dropped by JetStream inside the duplicate
    window."""

    name = "outbox-relay"

    def __init__(
        self,
        db: Database,
        outbox: Table,
        bus: EventBus,
        *,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        publish_timeout: float = 2.0,
        keep_published: dt.timedelta = dt.timedelta(days=7),
        linger: float = 0.0,
        linger_within: float = 0.05,
    ) -> None:
        super().__init__()
        self.db = db
        self.outbox = outbox
        self.bus = bus
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.publish_timeout = publish_timeout
        #: Published rows are kept this long (to see what was sent), then deleted.
        self.keep_published = keep_published
        self._tracer = telemetry.CurrentTracer(__name__)
        self._streams: dict[str, str | None] = {}
        #: Event types whose rows say an aggregate's state, read when they are
        #: published rather than when they were written (booking's slot vacancy,
        #: decision 112): the state is then never older than the row's commit, and
        #: the writer needs to know nothing more than which aggregate it changed.
        self.current: dict[str, CurrentPayloads] = {}
        #: Woken within ``linger_within`` seconds of the last batch's start, the relay
        #: waits ``linger`` seconds for the writes right behind (0: publish at once):
        #: a batch's fixed cost (its transaction, the lock, the claim) is then shared by
        #: a burst's writes; a write that comes alone is published at once.
        self.linger = linger
        self.linger_within = linger_within

    async def _run(self) -> None:
        backoff = 0.0
        loop = asyncio.get_running_loop()
        while self.running:
            try:
                started = loop.time()
                published = await self.publish_pending()
                backoff = 0.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS down, timeouts, DB busy: try again later
                backoff = min(max(backoff * 2, 0.1), 5.0)
                log.warning("outbox relay: %s; retrying in %.1fs", exc or type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                if isinstance(exc, NoStreamResponseError):  # NATS lost its store
                    with contextlib.suppress(Exception):
                        await self.bus.ensure_streams()
                continue
            if published < self.batch_size:
                await self.now_and_then(lambda: self.prune(dt.datetime.now(dt.UTC) - self.keep_published))
                await self.nap(self.poll_interval)
                if self.linger and loop.time() - started < self.linger_within:
                    await asyncio.sleep(self.linger)  # woken soon after: a burst, let it gather

    async def prune(self, published_before: dt.datetime) -> int:
        """Delete rows published before the given time; returns how many."""
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(self.outbox).where(self.outbox.c.published_at < published_before)
            )
        return int(result.rowcount or 0)

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows in order; returns how many were sent.
        Raises when a publish fails, after marking the ones before it.

        On PostgreSQL the batch runs in one transaction holding a lock on this
        service's outbox (``pg_advisory_xact_lock``), so that of several processes of
        a service (replicas) one relay publishes at a time: the others wait, then
        find the rows marked and go on from there. Without it every relay would
        publish every row, doubling the load on NATS and leaving the ordering to
        the duplicate window. The lock goes with the transaction, so a relay that
        dies or loses its connection frees it; a row it published but could not
        mark goes out again and JetStream drops it (Nats-Msg-Id). SQLite needs no
        lock: its file has one process."""
        pipeline = await self.bus.pipeline()
        if self.db.is_sqlite:
            async with self.db.read() as conn:
                rows = await self._with_current(
                    conn,
                    (
                        await conn.execute(
                            select(self.outbox)
                            .where(self.outbox.c.published_at.is_(None))
                            .order_by(self.outbox.c.seq)
                            .limit(self.batch_size)
                        )
                    ).all(),
                )
            return await self._publish_rows(pipeline, rows, self._mark_apart)
        failure: Exception | None = None
        async with self.db.write() as conn:
            await conn.execute(_LOCK, {"name": self.outbox.name})
            # The batch is claimed and marked by one statement: a publish that fails
            # unmarks what it did not send before the commit, and a relay that dies
            # rolls its marks back with its transaction.
            claimed = (
                await conn.execute(
                    _claim(self.outbox), {"batch": self.batch_size, "now": dt.datetime.now(dt.UTC)}
                )
            ).all()
            rows = await self._with_current(conn, sorted(claimed, key=lambda row: row.seq))
            sent: list[int] = []

            async def mark(acked: list[int]) -> None:
                sent.extend(acked)

            try:
                await self._publish_rows(pipeline, rows, mark)
            except Exception as exc:  # commit the marks of the rows before it first
                failure = exc
            if len(sent) < len(rows):
                acked = set(sent)
                await conn.execute(
                    _unmark(self.outbox), {"seqs": [row.seq for row in rows if row.seq not in acked]}
                )
        if failure is not None:
            raise failure
        return len(sent)

    async def _with_current(self, conn: AsyncConnection, rows: Sequence[Any]) -> Sequence[Any]:
        """The rows, those of an event type in ``current`` with their payload as it is now."""
        for event_type, read in self.current.items():
            if subjects := [row.subject for row in rows if row.event_type == event_type]:
                payloads = await read(conn, subjects)
                rows = [
                    # A subject the reader has no payload for goes as it was written.
                    types.SimpleNamespace(
                        **{**row._mapping, "payload": payloads.get(row.subject, row.payload)}
                    )
                    if row.event_type == event_type
                    else row
                    for row in rows
                ]
        return rows

    async def _publish_rows(
        self, pipeline: Pipeline, rows: Sequence[Any], mark: Callable[[list[int]], Awaitable[None]]
    ) -> int:
        """Send the rows back to back and gather their acks, then mark the rows up to
        the first one not acknowledged. Sending on without waiting for an ack cannot
        let a later row overtake a failed one: each row names its stream's previous
        row of the batch as ``Nats-Expected-Last-Msg-Id``, and JetStream stores it only
        if that one is the stream's last message, so a row whose predecessor was not
        stored is refused too (decision 102). A re-publication is checked against the
        duplicate window first, so rows published before a crash still pass."""
        sent: list[int] = []
        try:
            await self._send_and_settle(pipeline, rows, sent)
        finally:
            if sent:
                await mark(sent)
        return len(sent)

    async def _send_and_settle(self, pipeline: Pipeline, rows: Sequence[Any], sent: list[int]) -> None:
        last_of_stream: dict[str, str] = {}
        parents: dict[str, Context] = {}  # the writers' trace contexts, parsed once each
        pending: list[tuple[Any, _Publication, asyncio.Future[dict[str, Any]]]] = []
        failure: BaseException | None = None
        try:
            for row in rows:
                stream = self._stream_of(row.subject)
                if stream is None and pending:  # a stream we cannot chain in: settle first
                    settling, pending = pending, []
                    await self._settle(pipeline, settling, sent)
                headers = {MSG_ID: row.id, EVENT_TYPE: row.event_type}
                if stream is not None:
                    if stream in last_of_stream:
                        headers[EXPECTED_LAST_MSG_ID] = last_of_stream[stream]
                    last_of_stream[stream] = row.id
                if row.headers not in parents:  # a request's or a journey step's rows share one
                    parents[row.headers] = telemetry.extract(json.loads(row.headers))
                span = _Publication(self._tracer(), row, parents[row.headers])
                span.inject(headers)
                try:
                    future = await pipeline.publish(row.subject, row.payload, headers)
                except BaseException:
                    span.end()
                    raise
                pending.append((row, span, future))
                if stream is None:
                    settling, pending = pending, []
                    await self._settle(pipeline, settling, sent)
        except BaseException as exc:  # a refusal, or the connection went: what was sent may be acked
            failure = exc
        if pending:  # the acks of what was sent; on a cancellation only those already in
            wait = not isinstance(failure, asyncio.CancelledError)
            await self._settle(pipeline, pending, sent, failed=failure is not None, wait=wait)
        if failure is not None:
            raise failure

    async def _settle(
        self,
        pipeline: Pipeline,
        pending: list[tuple[Any, _Publication, asyncio.Future[dict[str, Any]]]],
        sent: list[int],
        *,
        failed: bool = False,
        wait: bool = True,
    ) -> None:
        """Wait (up to ``publish_timeout``) for the acks of ``pending``, in order;
        the acknowledged rows up to the first that is not go into ``sent``. Raises the
        first failure (a refusal, or a timeout) unless the batch ``failed`` already,
        after ending every span."""
        futures = [future for _, _, future in pending]
        if wait:
            await asyncio.wait(futures, timeout=self.publish_timeout)
        pipeline.forget([f for f in futures if not f.done()])
        error: BaseException | None = None
        for row, span, future in pending:
            problem: BaseException | None
            if future.cancelled():
                problem = TimeoutError(f"no ack for outbox {row.id} in {self.publish_timeout}s")
            else:
                problem = future.exception()
            if problem is None:
                ack = future.result()
                if ack.get("duplicate"):
                    log.info(
                        "outbox %s was already in stream %s (duplicate dropped)", row.id, ack.get("stream")
                    )
                if error is None:
                    sent.append(row.seq)
            elif error is None:
                error = problem
            span.end(problem)
        if error is not None and not failed:
            raise error

    def _stream_of(self, subject: str) -> str | None:
        """The stream that stores ``subject``: a stream of deploy/nats/streams.yaml,
        or a key-value bucket's (``$KV.<bucket>.<key>`` is in ``KV_<bucket>``, as
        NATS names it); None for any other, whose rows are published one at a time."""
        if subject not in self._streams:
            stream = next((s.name for s in self.bus.streams if s.covers(subject)), None)
            if stream is None and subject.startswith("$KV."):
                stream = "KV_" + subject.split(".")[1]
            if len(self._streams) < 10_000:  # key-value subjects are many: a bound
                self._streams[subject] = stream
            return stream
        return self._streams[subject]

    async def _mark_apart(self, sent: list[int]) -> None:
        async with self.db.write() as conn:
            await self._mark(conn, sent)

    async def _mark(self, conn: AsyncConnection, sent: list[int]) -> None:
        await conn.execute(
            update(self.outbox)
            .where(self.outbox.c.seq.in_(sent))
            .values(published_at=dt.datetime.now(dt.UTC))
        )


class _Publication:
    """A row's producer span, a child of the writer's span (``parent``, from the trace
    context stored with the row); the consumer's span will be its child. Within the
    writer's trace (every row a request wrote) it is made when the publish has been
    acknowledged or has failed (decision 132, as decision 128's client spans): until
    then only its context exists, carried in the message's headers. A row written
    outside any trace, or without the SDK, gets the tracer's own span, live (a root,
    which the sampler decides)."""

    __slots__ = ("_attributes", "_carried", "_context", "_live", "_name", "_parent", "_started", "_tracer")

    def __init__(self, tracer: trace.Tracer, row: Any, parent: Context) -> None:
        self._tracer = tracer
        self._name = f"{row.subject} publish"
        self._attributes = {
            "messaging.system": "nats",
            "messaging.destination.name": row.subject,
            "messaging.message.id": row.id,
        }
        self._parent = trace.get_current_span(parent).get_span_context()
        self._context = telemetry.child_context(tracer, self._parent)
        self._live: trace.Span | None = None
        if self._context is None:
            self._live = self._carried = tracer.start_span(
                self._name, context=parent, kind=trace.SpanKind.PRODUCER, attributes=self._attributes
            )
        else:
            self._carried = trace.NonRecordingSpan(self._context)
        self._started = time.time_ns()

    def inject(self, headers: dict[str, str]) -> None:
        """The span's context into the message's headers, for the consumer."""
        propagate.inject(headers, context=trace.set_span_in_context(self._carried))

    def end(self, problem: BaseException | None = None) -> None:
        """Ended: published (``problem`` None), or not, in error with the problem."""
        status = telemetry.UNSET if problem is None else trace.Status(trace.StatusCode.ERROR, str(problem))
        if self._live is not None:
            if problem is not None:
                self._live.set_status(status)
            self._live.end()
            return
        assert self._context is not None
        telemetry.hand_ended(
            self._tracer,
            self._context,
            self._parent,
            self._name,
            trace.SpanKind.PRODUCER,
            self._attributes,
            self._started,
            time.time_ns(),
            status,
        )


#: The relays of one service's outbox take turns (OutboxRelay.publish_pending).
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.' || :name))")


@functools.cache
def _claim(outbox: Table) -> Update:
    """PostgreSQL's claim of a batch: the first unsent rows, marked sent, returned
    (in no particular order). One text whatever the batch's size, so it is prepared
    once per pooled connection (an ``IN`` list's text changes with its length). Run
    under the relays' lock, whose holder before has committed its marks: the
    statement's snapshot, taken after the lock, sees them."""
    first_unsent = (
        select(outbox.c.seq)
        .where(outbox.c.published_at.is_(None))
        .order_by(outbox.c.seq)
        .limit(bindparam("batch", type_=Integer()))
    )
    return (
        update(outbox)
        .where(outbox.c.seq.in_(first_unsent.scalar_subquery()))
        .values(published_at=bindparam("now", type_=outbox.c.published_at.type))
        .returning(*(c for c in outbox.c if c.name != "published_at"))
    )


@functools.cache
def _unmark(outbox: Table) -> Update:
    """The claimed rows a failed publish did not send, unsent again (PostgreSQL)."""
    return (
        update(outbox)
        .where(outbox.c.seq == any_(bindparam("seqs", type_=postgresql.ARRAY(BigInteger()))))
        .values(published_at=None)
    )


class OutboxBacklog:
    """The outbox's unpublished rows and the age of the oldest, for the metrics:
    ``sample`` counts them (one query on the partial index of unsent rows, run by the
    metrics sampler every few seconds), ``readings`` reports them at scrape time,
    the age counted up to that moment (a relay stuck since the last sample shows an
    age that keeps growing)."""

    def __init__(self, service: str, db: Database, outbox: Table) -> None:
        self.service = service
        self.db = db
        self.outbox = outbox
        self.unpublished: int | None = None
        self.oldest: dt.datetime | None = None

    async def sample(self) -> None:
        async with self.db.read() as conn:
            count, oldest = (
                await conn.execute(
                    select(func.count(), func.min(self.outbox.c.created_at)).where(
                        self.outbox.c.published_at.is_(None)
                    )
                )
            ).one()
        self.unpublished, self.oldest = int(count), as_utc(oldest)

    def readings(self) -> list[tuple[str, str, dict[str, str], float]]:
        if self.unpublished is None:
            return []
        labels = {"service": self.service}
        age = (dt.datetime.now(dt.UTC) - self.oldest).total_seconds() if self.oldest is not None else 0.0
        return [
            (
                "mintong_outbox_unpublished_rows",
                "Outbox rows not yet published to NATS.",
                labels,
                float(self.unpublished),
            ),
            (
                "mintong_outbox_oldest_unpublished_age_seconds",
                "Age of the oldest outbox row not yet published (0 when none waits).",
                labels,
                max(age, 0.0),
            ),
        ]
