"""Calls to another service gathered into batches the way a database groups its
commits: the first call goes at once, alone; the calls that arrive while a batch is
in flight go together in the next one (at most ``limit``). No call waits for a
timer, so a lone call is as quick as before; under load a call waits at most for the
batch ahead of it, and the batches grow with the load — one round trip, one span
and one transaction at the other end for many applications rather than one each.

(A data loader in the usual sense batches only the calls made in one turn of the
event loop; concurrent requests arrive over many turns, so it would gather little.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: What ``send`` answers for a batch: each item's result or failure, in order.
Send = Callable[[list[T]], Awaitable[Sequence[R | BaseException]]]


class Coalescer(Generic[T, R]):
    def __init__(self, send: Send[T, R], limit: int) -> None:
        self._send = send
        self._limit = limit
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
                batch = [(item, f) for item, f in self._waiting[: self._limit] if not f.done()]
                del self._waiting[: self._limit]
                if batch:
                    await self._one_batch(batch)
        finally:
            self._sender = None
            # Cancelled (the process stopping): no caller is left waiting forever.
            for _, future in self._waiting:
                future.cancel()
            self._waiting.clear()

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
