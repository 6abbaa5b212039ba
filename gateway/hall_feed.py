"""The halls' queues pushed to their display boards (decision 61).

Each gateway process holds one plain NATS subscription to booking's
``QueueChanged`` events (no durable consumer: a board that missed an event is
made whole by the next snapshot, and a process that starts reads the snapshot
first) and fans each one out to the boards of that office connected to it. What a
board is sent is the office's whole queue as ``GET /v1/offices/{office}/queue``
answers it, asked once per change however many boards watch (changes that come
while it is asked share the next), plus the change itself (a call to say out
loud). The queue comes as its JSON text, encoded once for every board and change
that share it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mintong.booking.v1 import events_pb2
from services.runtime.events import EventBus, subject_of

log = logging.getLogger(__name__)

SUBJECT = subject_of(events_pb2.QueueChanged)
#: A board that cannot keep up drops the oldest update: the newest snapshot is whole.
BACKLOG = 8
#: Seconds after a read of an office's queue before the next: the changes that come
#: meanwhile share it, so 20 counters calling at once cost two or three reads rather
#: than one each (a read converts the whole queue, in booking and here: per change
#: it cost as much as the call), while the first change after a quiet spell is read
#: at once and a board still shows a call well within its second (decision 61).
LINGER = 0.1


@dataclass(frozen=True)
class Change:
    """What moved (``None`` after a reconnection: nothing to say out loud)."""

    ticket_code: str
    counter: int | None
    change: str


#: An office's queue, as the JSON text of the queue route's answer.
Snapshot = Callable[[str], Awaitable[str]]
Update = tuple[Change | None, str]


class QueueFeed:
    """One subscription per process; ``watch(office)`` gives a board its updates."""

    def __init__(
        self, bus: EventBus, snapshot: Snapshot, *, retry: float = 1.0, linger: float = LINGER
    ) -> None:
        self.bus = bus
        self.snapshot = snapshot
        self.retry = retry
        self.linger = linger
        self._boards: dict[str, set[asyncio.Queue[Update]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._pending: dict[str, list[Change | None]] = {}
        self._fetching: set[str] = set()
        self._restart = asyncio.Event()
        #: Set once the subscription is in place (tests wait for it).
        self.subscribed = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="queue-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def reconnected(self) -> None:
        """NATS came back: events of the outage are lost to a plain subscription, so
        every watched office is sent its snapshot again."""
        for office in list(self._boards):
            self._changed(office, None)

    @contextlib.contextmanager
    def watch(self, office_id: str) -> Any:
        board: asyncio.Queue[Update] = asyncio.Queue(BACKLOG)
        self._boards.setdefault(office_id, set()).add(board)
        try:
            yield board
        finally:
            boards = self._boards.get(office_id, set())
            boards.discard(board)
            if not boards:
                self._boards.pop(office_id, None)

    async def _run(self) -> None:
        while True:
            try:
                await self._subscribe()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("queue feed: %s; subscribing again", exc or type(exc).__name__)
            await asyncio.sleep(self.retry)

    async def _subscribe(self) -> None:
        await self.bus.jetstream()  # connected
        assert self.bus.nc is not None
        subscription = await self.bus.nc.subscribe(SUBJECT, cb=self._message)
        self.subscribed.set()
        try:
            await asyncio.Event().wait()  # until cancelled
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _message(self, message: Any) -> None:
        try:
            event = events_pb2.QueueChanged.FromString(message.data)
        except Exception:  # not ours to fail on: the next one may be whole
            log.warning("queue feed: an undecodable QueueChanged was ignored")
            return
        if event.office_id in self._boards:
            self._changed(event.office_id, Change(event.ticket_code, event.counter or None, event.change))

    def _changed(self, office_id: str, change: Change | None) -> None:
        self._pending.setdefault(office_id, []).append(change)
        if office_id not in self._fetching:
            self._fetching.add(office_id)
            asyncio.get_running_loop().create_task(self._send(office_id))

    async def _send(self, office_id: str) -> None:
        """Changes that come while a snapshot is asked for, or within the linger
        after it, share the next one."""
        try:
            while changes := self._pending.pop(office_id, []):
                try:
                    queue = await self.snapshot(office_id)
                except Exception as exc:
                    log.warning("queue feed: snapshot of %s not read (%s)", office_id, type(exc).__name__)
                else:
                    for board in list(self._boards.get(office_id, ())):
                        for change in changes:
                            if board.full():
                                board.get_nowait()
                            board.put_nowait((change, queue))
                await asyncio.sleep(self.linger)
        finally:
            self._fetching.discard(office_id)
