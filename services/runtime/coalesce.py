"""Calls to another service gathered into batches the way a database groups its
commits: the first call goes at once, alone; the calls that arrive while a batch is
in flight go together in the next one (at most ``limit``). No call waits for a
timer, so a lone call is as quick as before; under load a call waits at most for the
batch ahead of it, and the batches grow with the load — one round trip, one span
and one transaction at the other end for many applications rather than one each.

(A data loader in the usual sense batches only the calls made in one turn of the
event loop; concurrent requests arrive over many turns, so it would gather little.)

Cards gathers its calls to identity and its applications' writes (decision 101);
booking its hall's calls of one office (decision 131).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: What ``send`` answers for a batch: each item's result or failure, in order.
Send = Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]


class Coalescer(Generic[T, R]):
    """``apart(item)``: marks of an item that no other item of the same batch may
    share; an item sharing one with an item taken waits for the next batch (two
    calls of one counter go one after the other, as they would unbatched)."""

    def __init__(
        self, send: Send[T, R], limit: int, *, apart: Callable[[T], Iterable[Hashable]] = lambda _: ()
    ) -> None:
        self._send = send
        self._limit = limit
        self._apart = apart
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._sender is None:
            # The batch runs in a task of its own (in the first caller's context:
            # its span is that caller's child), so a caller that gives up waiting
            # does not cancel the others' batch.
            self._sender = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._next_batch()
                if batch:
                    await self._one_batch(batch)
        finally:
            self._sender = None
            # Cancelled (the process stopping): no caller is left waiting forever.
            for _, future in self._waiting:
                future.cancel()
            self._waiting.clear()

    def _next_batch(self) -> list[tuple[T, asyncio.Future[R]]]:
        """Up to ``limit`` of the items waiting, in the order they came, none sharing
        a mark with another; the rest wait on, in their order."""
        batch: list[tuple[T, asyncio.Future[R]]] = []
        left: list[tuple[T, asyncio.Future[R]]] = []
        marks: set[Hashable] = set()
        for item, future in self._waiting:
            if future.done():  # its caller gave up waiting
                continue
            own = set(self._apart(item))
            if len(batch) == self._limit or own & marks:
                left.append((item, future))
                continue
            marks |= own
            batch.append((item, future))
        self._waiting = left
        return batch

    async def _one_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results: Sequence[R | BaseException] = await self._send([item for item, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as error:  # not the other end's answer: every caller gets it
            results = [error] * len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its caller gave up waiting
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
