"""The display boards' fan-out (gateway/hall_feed.py, decision 61): one queue read per
change however many boards watch, changes that come meanwhile sharing the next read,
other offices' events ignored, and a NATS reconnection sending every watched office
its queue again."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from gateway.hall_feed import Change, QueueFeed
from gateway.routes.hall import DisplayTicket, Queue, QueueUpdate, _event
from mintong.booking.v1 import events_pb2


def event(office: str, code: str, counter: int, change: str) -> Any:
    data = events_pb2.QueueChanged(office_id=office, ticket_code=code, counter=counter, change=change)
    return SimpleNamespace(data=data.SerializeToString())


async def test_boards_of_an_office_get_every_change_with_one_read_per_round() -> None:
    reads: list[str] = []
    asked, release = asyncio.Event(), asyncio.Event()

    async def snapshot(office: str) -> str:
        reads.append(office)
        asked.set()
        await release.wait()
        return json.dumps({"office_id": office, "round": len(reads)})

    feed = QueueFeed(bus=None, snapshot=snapshot, linger=0)  # type: ignore[arg-type]
    with feed.watch("north") as first, feed.watch("north") as second:
        await feed._message(event("north", "A001", 3, "called"))
        await feed._message(event("south", "B001", 1, "called"))  # nobody watches south
        await asked.wait()
        # Two more while the first read is out: they share the next one.
        await feed._message(event("north", "A001", 3, "recalled"))
        await feed._message(event("north", "A001", 3, "served"))
        release.set()
        got = [await asyncio.wait_for(first.get(), 5) for _ in range(3)]
        assert [await asyncio.wait_for(second.get(), 5) for _ in range(3)] == got
    assert reads == ["north", "north"]
    assert [(c.ticket_code, c.counter, c.change) for c, _ in got] == [
        ("A001", 3, "called"),
        ("A001", 3, "recalled"),
        ("A001", 3, "served"),
    ]
    assert [json.loads(q)["round"] for _, q in got] == [1, 2, 2]
    assert feed._boards == {}  # a board that left is forgotten


async def test_a_change_is_read_at_once_and_those_after_it_within_the_linger_share_the_next_read() -> None:
    reads: list[str] = []

    async def snapshot(office: str) -> str:
        reads.append(office)
        return json.dumps({"office_id": office, "round": len(reads)})

    feed = QueueFeed(bus=None, snapshot=snapshot, linger=0.05)  # type: ignore[arg-type]
    with feed.watch("north") as board:
        await feed._message(event("north", "A001", 1, "called"))  # after a quiet spell
        got = [await asyncio.wait_for(board.get(), 5)]
        for n in (2, 3):  # two counters calling right after it, within the linger
            await feed._message(event("north", f"A00{n}", n, "called"))
        got += [await asyncio.wait_for(board.get(), 5) for _ in range(2)]
    assert reads == ["north", "north"]
    assert [(c.counter, json.loads(q)["round"]) for c, q in got if c] == [(1, 1), (2, 2), (3, 2)]


async def test_a_reconnection_sends_every_watched_office_its_queue() -> None:
    async def snapshot(office: str) -> str:
        return json.dumps({"office_id": office})

    feed = QueueFeed(bus=None, snapshot=snapshot)  # type: ignore[arg-type]
    with feed.watch("north") as board:
        feed.reconnected()
        change, queue = await asyncio.wait_for(board.get(), 5)
    assert change is None and json.loads(queue) == {"office_id": "north"}


def test_an_update_is_the_change_and_the_queue_read_once() -> None:
    queue = Queue(
        office_id="north",
        waiting=[
            DisplayTicket(code="A002", status="waiting", counter=None, ahead=0, estimated_wait_minutes=5)
        ],
        called=[DisplayTicket(code="A001", status="called", counter=3, ahead=0, estimated_wait_minutes=0)],
        average_service_seconds=300,
        counters_open=1,
    )
    for change in (Change("A001", 3, "called"), None):
        sent = _event(change, queue.model_dump_json())
        assert sent.event == "queue" and sent.raw_data is not None
        update = QueueUpdate.model_validate_json(sent.raw_data)
        assert update.queue == queue
        moved = update.change.model_dump() if update.change else None
        assert moved == (change and {"ticket_code": "A001", "counter": 3, "change": "called"})
