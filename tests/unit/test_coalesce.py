"""Calls gathered into batches (cards' calls to identity and its writes, booking's
hall calls): a lone call goes at once and alone; those made while a batch is in
flight go together in the next, each answered on its own, none sharing a mark with
another of its batch; a failed batch fails each of its callers, and the next batch
goes on."""

from __future__ import annotations

import asyncio

import pytest

from services.runtime.coalesce import Coalescer


async def turns() -> None:
    """Let the tasks started so far run up to their next wait."""
    for _ in range(5):
        await asyncio.sleep(0)


class Other:
    """The other end: records each batch, answers an item's double or its refusal."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail_next = False

    async def send(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(items)
        await self.release.wait()
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("down")
        return [ValueError(n) if n < 0 else 2 * n for n in items]


async def test_calls_made_while_a_batch_is_in_flight_go_together_in_the_next() -> None:
    other = Other()
    gather = Coalescer(other.send, limit=3)
    first = asyncio.create_task(gather(1))
    await turns()
    assert other.batches == [[1]]  # at once, alone: no timer
    rest = [asyncio.create_task(gather(n)) for n in (2, -3, 4, 5)]
    await turns()
    other.release.set()
    assert await first == 2
    done = await asyncio.gather(*rest, return_exceptions=True)
    assert done[0] == 4 and isinstance(done[1], ValueError) and done[2:] == [8, 10]
    assert other.batches == [[1], [2, -3, 4], [5]]  # at most `limit` a batch


async def test_a_failed_batch_fails_its_callers_and_the_next_goes_on() -> None:
    other = Other()
    gather = Coalescer(other.send, limit=10)
    other.fail_next = True
    failed = asyncio.create_task(gather(1))
    await turns()
    later = asyncio.create_task(gather(2))
    other.release.set()
    with pytest.raises(ConnectionError):
        await failed
    assert await later == 4
    assert other.batches == [[1], [2]]


async def test_a_caller_that_gives_up_leaves_the_others_their_answers() -> None:
    other = Other()
    gather = Coalescer(other.send, limit=10)
    first = asyncio.create_task(gather(1))
    await turns()
    impatient, patient = asyncio.create_task(gather(2)), asyncio.create_task(gather(3))
    await turns()
    impatient.cancel()
    other.release.set()
    assert (await first, await patient) == (2, 6)
    assert other.batches == [[1], [3]]  # the cancelled call is not sent


async def test_calls_sharing_a_mark_go_in_batches_one_after_the_other() -> None:
    """Two calls of one counter (marked by n % 10) never in one batch: the second
    waits for the next, in its order, while the calls after it go on."""
    other = Other()
    gather = Coalescer(other.send, limit=10, apart=lambda n: [n % 10])
    first = asyncio.create_task(gather(1))
    await turns()
    rest = [asyncio.create_task(gather(n)) for n in (2, 12, 3, 22, 13)]
    await turns()
    other.release.set()
    assert await first == 2
    assert await asyncio.gather(*rest) == [4, 24, 6, 44, 26]
    assert other.batches == [[1], [2, 3], [12, 13], [22]]
