"""The consumer's loop around nats-py's fetch, without NATS or a database."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from nats.errors import TimeoutError as NatsTimeout
from sqlalchemy import MetaData

from services.runtime.consumer import EventConsumer, processed_events_table


async def test_a_fetch_that_gives_back_nothing_leaves_the_loop_running() -> None:
    """nats-py's fetch returns an empty list when a status message came in place of
    events: the loop (and its linger's bookkeeping) goes on to the next fetch."""
    calls: list[int] = []

    async def handler(conn: Any, event: Any) -> None:
        raise AssertionError("no event to handle")

    consumer = EventConsumer(
        SimpleNamespace(is_sqlite=True),  # type: ignore[arg-type]
        processed_events_table(MetaData()),
        None,  # type: ignore[arg-type]
        stream="S",
        durable="d",
        subjects=["s"],
        handler=handler,
        batched=True,
        linger=0.04,
        linger_within=0.025,
    )

    class Subscription:
        async def fetch(self, batch: int, timeout: float) -> list[Any]:  # noqa: ASYNC109 (nats-py's)
            calls.append(batch)
            if len(calls) == 1:
                return []
            consumer._stopping = True  # the second fetch shows the loop lived on
            raise NatsTimeout

    async def subscribe() -> Subscription:
        return Subscription()

    async def nothing(chore: Any, every: float = 0.0) -> None:
        return None

    consumer._subscribe = subscribe  # type: ignore[method-assign]
    consumer.now_and_then = nothing  # type: ignore[method-assign]
    await consumer._run()
    assert calls == [50, 50]
