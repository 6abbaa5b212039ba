"""Durable JetStream consumers that handle each event once.

Every message is handled inside one write transaction that also records its
event id in ``processed_events``; a redelivery, or a re-publication after the
stream's duplicate window, finds the id there and is only acknowledged. The
message is acknowledged after the commit, so a consumer that dies first gets it
again. The consumer's span continues the trace carried in the headers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import api
from opentelemetry import trace
from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    bindparam,
    delete,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from services.runtime import metrics, telemetry
from services.runtime.db import Database, insert_built_once
from services.runtime.events import EVENT_TYPE, MSG_ID, EventBus
from services.runtime.worker import BackgroundLoop

log = logging.getLogger(__name__)


def processed_events_table(metadata: MetaData) -> Table:
    return Table(
        "processed_events",
        metadata,
        Column("consumer", String(100), nullable=False),
        Column("event_id", String(64), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("consumer", "event_id"),
    )


@dataclass(frozen=True)
class Event:
    id: str
    subject: str
    type: str
    data: bytes


Handler = Callable[[AsyncConnection, Event], Awaitable[None]]


class EventConsumer(BackgroundLoop):
    """A durable pull consumer on ``stream`` for ``subjects``, handled by ``handler``."""

    def __init__(
        self,
        db: Database,
        processed: Table,
        bus: EventBus,
        *,
        stream: str,
        durable: str,
        subjects: list[str],
        handler: Handler,
        batch_size: int = 50,
        ack_wait: float = 30.0,
        retry_delay: float = 2.0,
        keep_processed: dt.timedelta = dt.timedelta(days=31),
        batched: bool = False,
        after_commit: Callable[[AsyncConnection], None] = lambda conn: None,
        before_commit: Callable[[AsyncConnection], Awaitable[None]] | None = None,
        stall_check: float = 15.0,
        linger: float = 0.0,
        linger_within: float | None = None,
    ) -> None:
        super().__init__()
        self.db = db
        self.processed = processed
        self.bus = bus
        self.stream = stream
        self.durable = durable
        self.subjects = subjects
        self.handler = handler
        self.batch_size = batch_size
        self.ack_wait = ack_wait
        self.retry_delay = retry_delay
        #: Longer than the streams' max_age: older events cannot be delivered again.
        self.keep_processed = keep_processed
        self.batched = batched
        #: Called with the transaction's connection once a transaction that handled
        #: new events has committed (e.g. to wake a worker that reads what they wrote:
        #: woken before the commit, it would not see it yet on PostgreSQL and sleep
        #: until its next poll; or to hand it what the handler staged on that
        #: connection, which a rolled-back transaction never hands over).
        self.after_commit = after_commit
        #: Called in the transaction once its events are handled, before it commits:
        #: for a handler that gathers what its events write and writes it together
        #: (notify: one INSERT of a fetch's messages, not one an event). In a batch it
        #: runs under a span of its own linked to each event's.
        self.before_commit = before_commit
        #: After this long with nothing fetched, JetStream is asked whether events
        #: wait for this consumer: if they do, the subscription is stale and is made
        #: again. A pull subscription can stop receiving while its consumer still
        #: has pending messages, after the consumer's leader moves in a cluster
        #: (nats-io/nats.go#2063 describes the same in Go; seen once in bench/scale_out.py).
        self.stall_check = stall_check
        #: A batched consumer whose fetch brought one event, stored by JetStream within
        #: ``linger_within`` (default: ``linger``) of the event before it, waits up to
        #: ``linger`` for the events that follow and takes them in the same batch: when
        #: events come faster than one by one costs (a booking's confirmations at
        #: 100/s, one every 10 ms), a transaction of a few is cheaper than a few of
        #: one. The events' own times, not the fetches': a consumer slowed down (a busy
        #: machine) fetches events that came 50 ms apart one right after the other.
        #: An event coming alone is handled at once. 0: never.
        self.linger = linger
        self.linger_within = dt.timedelta(seconds=linger if linger_within is None else linger_within)
        self._last_stored: dt.datetime | None = None
        self.name = f"consumer-{durable}"
        # Built once, and compiled once (insert_built_once): a fifth of a lone event's cost each.
        dialect = "sqlite" if db.is_sqlite else "postgresql"
        self._record = insert_built_once(processed, dialect).on_conflict_do_nothing(
            index_elements=["consumer", "event_id"]
        )
        self._record_all = _record_all(processed, dialect)
        self._tracer = telemetry.tracer(__name__)
        # Children looked up once: a settled event costs an add, not a label look-up.
        self._handled = metrics.EVENTS_HANDLED.labels(durable, "handled")
        self._duplicate = metrics.EVENTS_HANDLED.labels(durable, "duplicate")
        self._failed = metrics.EVENTS_HANDLED.labels(durable, "failed")
        self._delay = metrics.EVENT_DELAY.labels(durable)
        #: JetStream's view of this consumer, as last sampled (None: not yet).
        self.info: api.ConsumerInfo | None = None

    async def sample(self) -> None:
        """Read the consumer's pending and redelivered counts from JetStream
        (the metrics sampler calls this every few seconds)."""
        js = await asyncio.wait_for(self.bus.jetstream(), 2.0)
        self.info = await js.consumer_info(self.stream, self.durable, timeout=2.0)

    def readings(self) -> list[metrics.Readings.Row]:
        info = self.info
        if info is None:
            return []
        labels = {"stream": self.stream, "consumer": self.durable}
        return [
            (
                "mintong_consumer_pending_messages",
                "Messages of the stream a durable consumer has not been given yet.",
                labels,
                float(info.num_pending or 0),
            ),
            (
                "mintong_consumer_ack_pending_messages",
                "Messages given to a durable consumer and not acknowledged yet.",
                labels,
                float(info.num_ack_pending or 0),
            ),
            (
                "mintong_consumer_redelivered_messages",
                "Messages a durable consumer was given more than once and has not acknowledged yet.",
                labels,
                float(info.num_redelivered or 0),
            ),
        ]

    async def _subscribe(self):
        js = await self.bus.jetstream()
        config = api.ConsumerConfig(
            durable_name=self.durable,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            deliver_policy=api.DeliverPolicy.ALL,
            filter_subjects=self.subjects,
            max_ack_pending=1000,
        )
        try:
            await js.add_consumer(self.stream, config)
        except Exception as exc:  # already there with other settings: keep it
            log.debug("consumer %s exists: %s", self.durable, exc)
        return await js.pull_subscribe_bind(self.durable, stream=self.stream)

    async def _run(self) -> None:
        subscription = None
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        while self.running:
            try:
                if subscription is None:
                    subscription = await self._subscribe()
                messages = await subscription.fetch(self.batch_size, timeout=1.0)
            except (NatsTimeout, TimeoutError):  # nothing new: a quiet moment for housekeeping
                await self.now_and_then(lambda: self.forget(dt.datetime.now(dt.UTC) - self.keep_processed))
                if loop.time() - quiet_since >= self.stall_check:
                    quiet_since = loop.time()
                    if await self._waiting() > 0:
                        log.warning("consumer %s: events wait but none came; subscribing again", self.durable)
                        subscription = None
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer %s: %s; retrying", self.durable, exc)
                subscription = None
                await asyncio.sleep(self.retry_delay)
                continue
            quiet_since = now = loop.time()
            if self.batched and self.linger and len(messages) == 1 and self._follows_closely(messages[0]):
                messages += await self._following(subscription, now + self.linger, self.batch_size - 1)
            if messages:  # nats-py's fetch may give back none (a status came instead)
                self._last_stored = _stored(messages[-1])
            if self.batched and len(messages) > 1 and await self.process_batch(messages):
                continue
            for msg in messages:
                try:
                    await self.process(msg)
                except Exception:  # e.g. the ack was lost: redelivery is harmless
                    log.exception("consumer %s: could not settle a message", self.durable)

    def _follows_closely(self, msg: Msg) -> bool:
        """Whether JetStream stored ``msg`` within linger_within of the event fetched before it."""
        stored = _stored(msg)
        return (
            stored is not None
            and self._last_stored is not None
            and stored - self._last_stored < self.linger_within
        )

    async def _following(self, subscription, until: float, room: int) -> list[Msg]:
        """The events fetched until ``until`` (loop time), at most ``room``: the linger."""
        loop = asyncio.get_running_loop()
        more: list[Msg] = []
        while len(more) < room and (left := until - loop.time()) > 0.001:
            try:
                more += await subscription.fetch(room - len(more), timeout=left)
            except (NatsTimeout, TimeoutError):
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # what was fetched goes on; the loop's next fetch retries
                log.debug("consumer %s: lingering: %s", self.durable, exc)
                break
        return more

    async def _waiting(self) -> int:
        """How many events JetStream holds for this consumer and has not given it;
        0 when it cannot tell (NATS away: the loop's own retries deal with that)."""
        try:
            await self.sample()
        except Exception as exc:
            log.debug("consumer %s: no consumer info: %s", self.durable, exc)
            return 0
        return int(self.info.num_pending or 0) if self.info else 0

    async def process_batch(self, messages: list[Msg]) -> bool:
        """Handle ``messages`` in one transaction and acknowledge them; False (and
        nothing written) if any of them failed, for the caller to take them one by one."""
        events = [_event(msg) for msg in messages]
        try:
            async with self.db.write() as conn:
                # The records of the events not handled before, in one statement that
                # names them (see _record_all); an id twice in one fetch is handled once.
                fresh: dict[str, Event] = {}
                for e in events:
                    fresh.setdefault(e.id, e)
                new = await self._record_all(conn, self.durable, list(fresh), dt.datetime.now(dt.UTC))
                fresh = {i: e for i, e in fresh.items() if i in new}
                outcomes = []
                links = []
                for msg, event in zip(messages, events, strict=True):
                    with self._span(msg, event) as span:
                        handled = fresh.pop(event.id, None) is not None
                        span.set_attribute("mintong.duplicate", not handled)
                        if handled:
                            await self.handler(conn, event)
                            links.append(trace.Link(span.get_span_context()))
                    outcomes.append(handled)
                handled_any = bool(new)
                if handled_any and self.before_commit is not None:
                    with self._tracer.start_as_current_span(
                        f"{self.durable} batch", links=links, attributes={"mintong.batch.events": len(links)}
                    ):
                        await self.before_commit(conn)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                "consumer %s: a batch of %d failed (%s); handling its events one by one",
                self.durable,
                len(messages),
                type(exc).__name__,
            )
            return False
        if handled_any:
            self.after_commit(conn)
        for msg, handled in zip(messages, outcomes, strict=True):
            try:
                await msg.ack()
            except Exception:  # redelivery finds the records: harmless
                log.exception("consumer %s: could not settle a message", self.durable)
            self._count(msg, handled)
        return True

    def _span(self, msg: Msg, event: Event):
        return self._tracer.start_as_current_span(
            f"{msg.subject} process",
            context=telemetry.extract(msg.headers or {}),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": msg.subject,
                "messaging.message.id": event.id,
                "messaging.consumer.group.name": self.durable,
            },
        )

    async def process(self, msg: Msg) -> None:
        event = _event(msg)
        with self._span(msg, event) as span:
            try:
                handled = await self._handle_once(event)
            except Exception as exc:
                span.record_exception(exc)
                log.exception("consumer %s failed on event %s; will be redelivered", self.durable, event.id)
                self._failed.inc()
                await msg.nak(delay=self.retry_delay)
                return
            span.set_attribute("mintong.duplicate", not handled)
            await msg.ack()
        self._count(msg, handled)

    def _count(self, msg: Msg, handled: bool) -> None:
        """An event settled: handled (and how long after JetStream stored it) or a duplicate."""
        if handled:
            self._handled.inc()
            if (stored := _stored(msg)) is not None:
                self._delay.observe(max((dt.datetime.now(dt.UTC) - stored).total_seconds(), 0.0))
        else:
            self._duplicate.inc()

    async def forget(self, processed_before: dt.datetime) -> int:
        """Delete the records of events handled before the given time: once the
        stream itself no longer holds them (max_age), they cannot come back."""
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(self.processed).where(
                    (self.processed.c.consumer == self.durable)
                    & (self.processed.c.processed_at < processed_before)
                )
            )
        return int(result.rowcount or 0)

    async def _handle_once(self, event: Event) -> bool:
        """Handle and record ``event`` in one transaction; False if it was done before.
        The record is written first, by INSERT … ON CONFLICT DO NOTHING (one statement,
        not a look then an insert): a delivery racing another one's uncommitted
        transaction waits for it, then finds the record and only acknowledges, or
        (the other rolled back) handles the event itself."""
        async with self.db.write() as conn:
            recorded = await conn.execute(
                self._record,
                {"consumer": self.durable, "event_id": event.id, "processed_at": dt.datetime.now(dt.UTC)},
            )
            if recorded.rowcount != 1:
                return False
            await self.handler(conn, event)
            if self.before_commit is not None:
                await self.before_commit(conn)
        self.after_commit(conn)
        return True


RecordAll = Callable[[AsyncConnection, str, list[str], dt.datetime], Awaitable[set[str]]]


def _record_all(processed: Table, dialect: str) -> RecordAll:
    """How a batch records its events as processed: one ``INSERT … ON CONFLICT DO
    NOTHING RETURNING event_id``, which gives back the ids it wrote, those of the
    events not handled before. A look-up of the ids, then an insert of the new ones
    (two statements, the look-up an expanding ``IN`` whose text, and so its prepared
    statement, changed with the fetch's size) was a quarter of a batch's statements;
    and a twin's uncommitted record now makes this one wait and find it, as in the
    one-by-one path (:meth:`EventConsumer._handle_once`), where the insert used to
    fail and send the batch one by one. On PostgreSQL the ids travel as one array
    spread by ``unnest``: one text, prepared once whatever the batch's size."""
    if dialect == "postgresql":
        statement = text(
            f"INSERT INTO {processed.name} (consumer, event_id, processed_at) "
            "SELECT :consumer, e, :at FROM unnest(CAST(:ids AS text[])) AS e "
            "ON CONFLICT DO NOTHING RETURNING event_id"
        ).bindparams(bindparam("at", type_=DateTime(timezone=True)))

        async def record_pg(
            conn: AsyncConnection, consumer: str, ids: list[str], at: dt.datetime
        ) -> set[str]:
            done = await conn.execute(statement, {"consumer": consumer, "ids": ids, "at": at})
            return set(done.scalars())

        return record_pg
    # SQLAlchemy's insertmanyvalues: one INSERT … VALUES (…), (…) … RETURNING.
    insert = (
        insert_built_once(processed, dialect)
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(processed.c.event_id)
    )

    async def record(conn: AsyncConnection, consumer: str, ids: list[str], at: dt.datetime) -> set[str]:
        rows = [{"consumer": consumer, "event_id": i, "processed_at": at} for i in ids]
        return set((await conn.execute(insert, rows)).scalars())

    return record


def _stored(msg: Msg) -> dt.datetime | None:
    """When JetStream stored the event; None for a message not from a JetStream consumer (tests)."""
    try:
        stored = msg.metadata.timestamp
    except Exception:
        return None
    return stored if isinstance(stored, dt.datetime) else None


def _event(msg: Msg) -> Event:
    headers = msg.headers or {}
    return Event(
        id=headers.get(MSG_ID) or f"{msg.metadata.stream}:{msg.metadata.sequence.stream}",
        subject=msg.subject,
        type=headers.get(EVENT_TYPE, ""),
        data=msg.data,
    )
