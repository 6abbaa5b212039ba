"""The event machinery end to end against a real nats-server and real databases:
an outbox row reaches the handler's effect exactly once when the relay publishes
it twice, when NATS stops and restarts mid-stream, when a consumer dies before
acking, and when the same event is re-published after the duplicate window."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
from nats.js.errors import NotFoundError
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mintong.booking.v1 import events_pb2
from services.booking import bootstrap
from services.booking.adapters import orm
from services.booking.config import BookingSettings
from services.runtime import telemetry
from services.runtime.consumer import Event, EventConsumer
from services.runtime.db import Database
from services.runtime.events import MSG_ID, EventBus, StreamSpec, load_streams, subject_of
from services.runtime.outbox import OutboxRelay, add_event, add_events, add_messages

# The consumer's own effect, written in the consumer's transaction. No unique key on
# purpose: a duplicate delivery that got through would show as a second row.
effects_metadata = MetaData()
effects = Table(
    "test_effects",
    effects_metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("office_id", String(64), nullable=False),
)


class Harness:
    def __init__(self, db: Database, bus: EventBus, streams: list[StreamSpec]) -> None:
        self.db = db
        self.bus = bus
        self.streams = streams
        self.relay = OutboxRelay(db, orm.outbox, bus, poll_interval=0.05)
        self.failures_left = 0

    async def write_events(self, *office_ids: str) -> list[str]:
        async with self.db.write() as conn:
            return [
                await add_event(conn, orm.outbox, events_pb2.SlotsPublished(office_id=o)) for o in office_ids
            ]

    async def handler(self, conn: AsyncConnection, event: Event) -> None:
        message = events_pb2.SlotsPublished.FromString(event.data)
        await conn.execute(effects.insert().values(event_id=event.id, office_id=message.office_id))
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("handler failed after writing its effect")

    def consumer(self, **options: Any) -> EventConsumer:
        return EventConsumer(
            self.db,
            orm.processed_events,
            self.bus,
            stream="BOOKING",
            durable="test-consumer",
            subjects=[subject_of(events_pb2.SlotsPublished)],
            handler=self.handler,
            **{"ack_wait": 1.0, "retry_delay": 0.1, **options},
        )

    async def effects(self) -> list[tuple[str, str]]:
        async with self.db.read() as conn:
            rows = await conn.execute(select(effects.c.event_id, effects.c.office_id).order_by(effects.c.n))
            return [(r.event_id, r.office_id) for r in rows]

    async def unpublished(self) -> int:
        async with self.db.read() as conn:
            query = select(func.count()).where(orm.outbox.c.published_at.is_(None))
            return int((await conn.execute(query)).scalar_one())

    async def stream_ids(self) -> list[str]:
        """Event ids in the stream, in stream order."""
        js = await self.bus.jetstream()
        info = await js.stream_info("BOOKING")
        ids = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg("BOOKING", seq)
            assert message.headers is not None
            ids.append(message.headers[MSG_ID])
        return ids


@pytest.fixture
async def harness(make_settings: Callable[..., Any]) -> AsyncIterator[Harness]:
    settings = make_settings(BookingSettings)
    app = bootstrap.build(settings)
    await asyncio.to_thread(app.migrate)
    async with app.db.write() as conn:
        await conn.run_sync(effects_metadata.create_all)
    streams = load_streams(settings.nats_streams_file)
    bus = EventBus(settings.nats_url, "test", streams)
    await bus.start()
    yield Harness(app.db, bus, streams)
    await bus.close()
    await app.db.dispose()


async def eventually(check: Callable[[], Any], within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_a_row_published_twice_is_one_message_and_one_effect(harness: Harness) -> None:
    ids = await harness.write_events("a", "b", "c")
    assert await harness.relay.publish_pending() == 3
    # The relay crashed after publishing but before marking: it publishes again.
    async with harness.db.write() as conn:
        await conn.execute(update(orm.outbox).values(published_at=None))
    assert await harness.relay.publish_pending() == 3
    assert await harness.stream_ids() == ids  # JetStream dropped the duplicates

    consumer = harness.consumer()
    await consumer.start()
    await eventually(lambda: _count(harness, 3))
    await consumer.stop()
    assert await harness.effects() == list(zip(ids, "abc", strict=True))


async def test_a_row_of_a_current_state_is_read_when_it_is_published(harness: Harness) -> None:
    """Decision 112: rows of an event type in ``relay.current`` are written with no
    payload and get the one their reader gives when the batch is published (a
    subject it gives none for goes as written)."""
    subject, unknown = subject_of(events_pb2.SlotsPublished), subject_of(events_pb2.BookingConfirmed)
    asked: list[list[str]] = []

    async def now(conn: AsyncConnection, subjects: list[str]) -> dict[str, bytes]:
        asked.append(subjects)
        return {s: b"as it is now" for s in subjects if s == subject}

    harness.relay.current["test.state"] = now
    [event_id] = await harness.write_events("a")
    async with harness.db.write() as conn:
        rows = [
            (subject, "test.state", b""),
            (unknown, "test.state", b"as written"),
            (subject, "test.state", b""),
        ]
        await add_messages(conn, orm.outbox, rows)
    assert await harness.relay.publish_pending() == 4
    assert asked == [[subject, unknown, subject]]
    js = await harness.bus.jetstream()
    info = await js.stream_info("BOOKING")
    payloads = [
        (await js.get_msg("BOOKING", n)).data for n in range(info.state.first_seq, info.state.last_seq + 1)
    ]
    assert payloads == [
        events_pb2.SlotsPublished(office_id="a").SerializeToString(),
        b"as it is now",
        b"as written",
        b"as it is now",
    ]
    assert (await harness.stream_ids())[0] == event_id


async def test_events_keep_their_order_across_a_nats_restart(
    harness: Harness, nats_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.relay.start()
    first = await harness.write_events("1", "2")
    await eventually(lambda: _none_unpublished(harness))

    nats_server.stop()
    second = await harness.write_events("3", "4", "5")  # the service keeps working
    with caplog.at_level(logging.WARNING, logger="services.runtime.outbox"):
        harness.relay.wake()

        async def relay_failed() -> bool:  # it tried to publish them, and could not
            return any(r.getMessage().startswith("outbox relay:") for r in caplog.records)

        await eventually(relay_failed)
    assert await harness.unpublished() == 3  # waiting in the outbox, not lost

    nats_server.start()
    await eventually(lambda: _none_unpublished(harness))
    await harness.relay.stop()
    assert await harness.stream_ids() == first + second

    consumer = harness.consumer()
    await consumer.start()
    await eventually(lambda: _count(harness, 5))
    await consumer.stop()
    assert [office for _, office in await harness.effects()] == ["1", "2", "3", "4", "5"]


async def test_a_consumer_that_dies_before_acking_does_not_apply_twice(harness: Harness) -> None:
    [event_id] = await harness.write_events("x")
    await harness.relay.publish_pending()

    # A first consumer handles the event and commits, then dies before its ack.
    dying = harness.consumer()
    subscription = await dying._subscribe()
    [message] = await subscription.fetch(1, timeout=5)
    assert await dying._handle_once(
        Event(message.headers[MSG_ID], message.subject, "", message.data)
    )  # no ack: the process is gone

    # The message comes back after ack_wait; the restarted consumer only acks it.
    consumer = harness.consumer()
    await consumer.start()
    js = await harness.bus.jetstream()
    await eventually(lambda: _acked(js))
    await consumer.stop()
    assert await harness.effects() == [(event_id, "x")]


async def test_events_following_close_on_one_another_are_taken_in_one_transaction(harness: Harness) -> None:
    """The linger: an event fetched alone soon after the fetch before it waits for the
    ones that follow, which are handled with it; one coming alone is handled at once."""
    batches: list[int] = []
    handled: dict[AsyncConnection, int] = {}
    handle = harness.handler

    async def counting(conn: AsyncConnection, event: Event) -> None:
        handled[conn] = handled.get(conn, 0) + 1
        await handle(conn, event)

    async def before_commit(conn: AsyncConnection) -> None:
        batches.append(handled.pop(conn))

    harness.handler = counting  # type: ignore[method-assign]
    consumer = harness.consumer(batched=True, linger=0.5, before_commit=before_commit)
    await consumer.start()
    first = await harness.write_events("1")
    await harness.relay.publish_pending()
    await eventually(lambda: _count(harness, 1))
    following = await harness.write_events("2")
    await harness.relay.publish_pending()
    await asyncio.sleep(0.1)  # fetched alone, as it came: the linger takes the next one too
    following += await harness.write_events("3")
    await harness.relay.publish_pending()
    await eventually(lambda: _count(harness, 3))
    await consumer.stop()
    assert batches == [1, 2]
    assert await harness.effects() == list(zip(first + following, "123", strict=True))


async def test_a_failing_handler_leaves_no_trace_and_is_retried(harness: Harness) -> None:
    harness.failures_left = 2
    [event_id] = await harness.write_events("y")
    await harness.relay.publish_pending()
    consumer = harness.consumer()
    await consumer.start()
    await eventually(lambda: _count(harness, 1))
    js = await harness.bus.jetstream()
    await eventually(lambda: _acked(js))
    await consumer.stop()
    assert harness.failures_left == 0
    assert await harness.effects() == [(event_id, "y")]  # the two failed tries rolled back


async def test_a_republication_after_the_duplicate_window_is_handled_once(harness: Harness) -> None:
    js = await harness.bus.jetstream()
    short = replace(harness.streams[0], duplicate_window_seconds=0.2)
    await js.update_stream(short.config(replicas=1))
    [event_id] = await harness.write_events("z")
    await harness.relay.publish_pending()

    async def republished() -> bool:  # stored again once the server has forgotten the id
        async with harness.db.write() as conn:
            await conn.execute(update(orm.outbox).values(published_at=None))
        await harness.relay.publish_pending()
        return len(await harness.stream_ids()) > 1

    await eventually(republished)
    assert await harness.stream_ids() == [event_id, event_id]  # two copies in the stream

    consumer = harness.consumer()
    await consumer.start()
    await eventually(lambda: _acked(js, 2))
    await consumer.stop()
    assert await harness.effects() == [(event_id, "z")]


async def test_the_trace_context_is_stored_with_the_row(harness: Harness, spans: Any) -> None:
    from opentelemetry import trace

    with trace.get_tracer("test").start_as_current_span("citizen request") as span:
        await harness.write_events("t")
    async with harness.db.read() as conn:
        headers = json.loads((await conn.execute(select(orm.outbox.c.headers))).scalar_one())
    assert f"{span.get_span_context().trace_id:032x}" in headers["traceparent"]


async def test_each_event_of_one_write_may_keep_its_own_trace(harness: Harness, spans: Any) -> None:
    """Several requests' changes written in one transaction (cards' applications
    submitted together): each event continues its own request's trace; one without
    a carrier of its own, the current one."""
    from opentelemetry import trace

    tracer = trace.get_tracer("test")
    carriers = []
    for name in ("first citizen", "second citizen"):
        with tracer.start_as_current_span(name) as span:
            carriers.append((span, telemetry.current_carrier()))
    events = [events_pb2.SlotsPublished(office_id=o) for o in ("a", "b", "c")]
    with tracer.start_as_current_span("the batch") as batch:
        async with harness.db.write() as conn:
            await add_events(conn, orm.outbox, events, carriers=[carriers[0][1], carriers[1][1], None])
    async with harness.db.read() as conn:
        rows = (await conn.execute(select(orm.outbox.c.headers).order_by(orm.outbox.c.seq))).scalars()
        parents = [json.loads(headers)["traceparent"] for headers in rows]
    expected = [carriers[0][0], carriers[1][0], batch]
    for span, parent in zip(expected, parents, strict=True):
        assert f"{span.get_span_context().trace_id:032x}" in parent


async def _count(harness: Harness, n: int) -> bool:
    return len(await harness.effects()) >= n


async def _none_unpublished(harness: Harness) -> bool:
    return await harness.unpublished() == 0


async def _acked(js: Any, delivered: int = 1) -> bool:
    try:
        info = await js.consumer_info("BOOKING", "test-consumer")
    except NotFoundError:  # the consumer task has not created it yet
        return False
    return bool(
        info.num_ack_pending == 0 and info.num_pending == 0 and info.delivered.stream_seq >= delivered
    )


async def test_old_published_rows_and_processed_records_are_pruned(harness: Harness) -> None:
    import datetime as dt

    [event_id] = await harness.write_events("p")
    await harness.write_events("unpublished")
    await harness.relay.publish_pending()
    async with harness.db.write() as conn:  # the second row has not been published
        await conn.execute(update(orm.outbox).where(orm.outbox.c.id != event_id).values(published_at=None))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert await harness.relay.prune(published_before=later) == 1
    assert await harness.unpublished() == 1  # never pruned before it is published

    consumer = harness.consumer()
    assert await consumer._handle_once(
        Event(event_id, "s", "", events_pb2.SlotsPublished().SerializeToString())
    )
    assert await consumer.forget(processed_before=later) == 1


async def test_two_relays_on_one_outbox_publish_each_row_once_in_order(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Two processes of a service (replicas) each run a relay over one outbox. On
    PostgreSQL they take turns under a lock, so no row is published twice; on SQLite
    (one process per file in practice) JetStream's duplicate window drops the second
    publication. Either way the stream holds each row once, in order."""
    other = OutboxRelay(harness.db, orm.outbox, harness.bus, batch_size=7)
    harness.relay.batch_size = 7
    ids = await harness.write_events(*(f"o{n}" for n in range(40)))
    caplog.set_level(logging.INFO, logger="services.runtime.outbox")
    while await harness.unpublished():
        await asyncio.gather(harness.relay.publish_pending(), other.publish_pending())
    assert await harness.stream_ids() == ids
    republished = [r for r in caplog.records if "duplicate dropped" in r.getMessage()]
    if not harness.db.is_sqlite:
        assert republished == []


async def test_a_subscription_that_stops_receiving_is_made_again(harness: Harness) -> None:
    """A pull subscription that times out while its consumer has events waiting (as
    after a leader change in a cluster) is dropped and made again."""
    consumer = harness.consumer(stall_check=0.5)
    subscribe = consumer._subscribe
    made: list[Any] = []

    async def stale_first() -> Any:
        subscription = await subscribe()
        if not made:  # the first one never receives anything

            async def nothing(*_: Any, **__: Any) -> list[Any]:
                await asyncio.sleep(0.2)  # as a fetch waits before it times out
                raise TimeoutError

            subscription.fetch = nothing
        made.append(subscription)
        return subscription

    consumer._subscribe = stale_first  # type: ignore[method-assign]
    await consumer.start()
    try:
        await harness.write_events("x")
        await harness.relay.publish_pending()
        for _ in range(100):
            if await harness.effects():
                break
            await asyncio.sleep(0.1)
        assert [office for _, office in await harness.effects()] == ["x"]
        assert len(made) == 2
    finally:
        await consumer.stop()


async def test_a_refused_row_stops_its_batch_and_none_after_it_overtakes_it(harness: Harness) -> None:
    """The relay sends a batch without waiting for each ack (decision 102). A row
    the stream refuses (here: larger than the stream takes) is not marked, nor any
    after it, and no later row of its stream is stored before it: each names the
    one before it as the stream's expected last message."""
    js = await harness.bus.jetstream()
    config = harness.streams[0].config(replicas=1)
    await js.update_stream(replace(config, max_msg_size=1024))
    ids = await harness.write_events("a", "b" * 2000, "c", "d")
    with pytest.raises(Exception, match="maximum"):
        await harness.relay.publish_pending()
    assert await harness.unpublished() == 3  # only the row before the refused one is marked
    assert await harness.stream_ids() == ids[:1]  # "c" and "d" were refused after it

    await js.update_stream(config)  # the cause is mended: the rest follow, in order
    assert await harness.relay.publish_pending() == 3
    assert await harness.stream_ids() == ids


async def test_rows_published_before_a_crash_pass_again_in_one_batch(harness: Harness) -> None:
    """A relay that died between the acks and the marks publishes its rows again, with
    new ones after them, in one batch: JetStream answers the old ones as duplicates
    before it checks their expected predecessor, and the new ones follow them."""
    first = await harness.write_events("a", "b", "c")
    assert await harness.relay.publish_pending() == 3
    async with harness.db.write() as conn:
        await conn.execute(update(orm.outbox).where(orm.outbox.c.id != first[0]).values(published_at=None))
    second = await harness.write_events("d", "e")
    assert await harness.relay.publish_pending() == 4
    assert await harness.stream_ids() == first + second
