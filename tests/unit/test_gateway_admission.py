"""The gateway's admission limit: requests beyond the limit wait a moment for a
turn, as many as can get one within the wait, the others get a 503 problem at once
with a Retry-After whose second has room for them; health checks never wait."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.middleware import AdmissionLimit, RequestTelemetry, ReturnPlan


async def test_requests_beyond_the_limit_are_told_to_come_back() -> None:
    release, both_started = asyncio.Event(), asyncio.Event()
    started: list[str] = []

    async def slow(request: Request) -> PlainTextResponse:
        started.append(request.state.request_id)
        if len(started) == 2:
            both_started.set()
        await release.wait()
        return PlainTextResponse(request.state.request_id)

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/v1/slow", slow), Route("/healthz", health)])
    limited = RequestTelemetry(AdmissionLimit(app, limit=2, wait=0.2))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(limited), base_url="http://gateway") as http:
        admitted = [
            asyncio.create_task(http.get("/v1/slow", headers={"X-Request-Id": f"r{n}"})) for n in range(2)
        ]
        await both_started.wait()  # both admitted and being served: the limit is reached
        turned_away = await http.get("/v1/slow")
        assert turned_away.status_code == 503
        assert turned_away.headers["content-type"] == "application/problem+json"
        assert (turned_away.json()["code"], turned_away.headers["Retry-After"]) == ("overloaded", "1")
        assert turned_away.headers["X-Request-Id"]
        assert (await http.get("/healthz")).status_code == 200  # never held back
        waiting = asyncio.create_task(http.get("/v1/slow"))  # gets a turn within its wait
        await asyncio.sleep(0)  # it starts, and queues for a turn (had it not yet, it gets one anyway)
        release.set()
        answers = await asyncio.gather(*admitted, waiting)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.text for a in answers[:2]] == ["r0", "r1"]
    assert [a.headers["X-Request-Id"] for a in answers[:2]] == ["r0", "r1"]


async def until(condition: Callable[[], bool]) -> None:
    """Let the other tasks run until ``condition`` holds (turns of the loop, not time)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("it never came to pass")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_crowd_turned_away_is_told_to_come_back_when_there_is_room_after_the_queue() -> None:
    """Retry-After follows the returns planned before, at one and a half times the
    rate the platform serves (here the rate assumed before any is measured: limit
    per wait), after the requests waiting; and a request that would wait longer than
    ``wait`` is not kept waiting (the queue is full at ``rate × wait``)."""
    release, started = asyncio.Event(), asyncio.Event()

    async def slow(request: Request) -> PlainTextResponse:
        started.set()
        await release.wait()
        return PlainTextResponse("done")

    clock = Clock()
    limit = AdmissionLimit(Starlette(routes=[Route("/v1/slow", slow)]), limit=1, wait=2.0, clock=clock)
    assert limit.rate() == 0.5  # one turn per two seconds, until measured
    async with httpx.AsyncClient(transport=httpx.ASGITransport(limit), base_url="http://gateway") as http:
        served = asyncio.create_task(http.get("/v1/slow"))
        await started.wait()
        waiting = asyncio.create_task(http.get("/v1/slow"))  # room for one: 0.5/s × 2 s
        await until(lambda: limit._waiting == 1)
        # The queue is full: answered at once (the test's clock does not move), with
        # 0.75 returns a second planned from the end of the queue (2 s): the first
        # told 2 s is half a return in seconds 2 and 3, the next three a quarter each
        # in seconds 4-7, and the fifth finds those full.
        told = []
        for _ in range(5):
            answer = await http.get("/v1/slow")
            assert (answer.status_code, answer.json()["code"]) == (503, "overloaded")
            told.append(int(answer.headers["Retry-After"]))
        assert told == [2, 4, 4, 4, 8]
        clock.now += 20  # those seconds have passed: back to the queue's own length
        assert (await http.get("/v1/slow")).headers["Retry-After"] == "2"
        release.set()
        assert [(await a).status_code for a in (served, waiting)] == [200, 200]


def test_a_crowd_is_planned_back_in_doubling_steps_never_more_a_second_than_asked() -> None:
    """Told ``k`` seconds, a client comes back within ``k`` to ``2k``: counted as
    ``1/k`` in each of those seconds, no second gets more than the returns asked
    for, and the crowd fills them from the next second on."""
    plan = ReturnPlan(longest=30)
    told = collections.Counter(plan.place(1000.2, per_second=192) for _ in range(1871))
    assert sorted(told.items()) == [(1, 192), (2, 384), (4, 768), (8, 527)]
    expected: collections.defaultdict[int, float] = collections.defaultdict(float)
    for k, clients in told.items():
        for second in range(k, 2 * k):
            expected[second] += clients / k
    assert max(expected.values()) == pytest.approx(192)
    # A second later the first crowd's seconds 1-7 are seconds 0-6, full: the
    # first with room is told 7 s (the first crowd's seconds 8-14).
    assert plan.place(1001.5, per_second=192) == 7
    # With no room within the longest wait, the longest: a rate measured low must
    # not send a crowd away for minutes.
    assert ReturnPlan(longest=30).place(0.0, per_second=0.01) == 30


async def test_the_rate_is_measured_from_the_turns_that_end_while_others_wait() -> None:
    gates: list[asyncio.Event] = []

    async def slow(request: Request) -> PlainTextResponse:
        gates.append(gate := asyncio.Event())
        await gate.wait()
        return PlainTextResponse("done")

    clock = Clock()
    limit = AdmissionLimit(Starlette(routes=[Route("/v1/slow", slow)]), limit=8, wait=100.0, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(limit), base_url="http://gateway") as http:
        asked = [asyncio.create_task(http.get("/v1/slow")) for _ in range(16)]
        await until(lambda: limit._waiting == 8)  # 8 served, 8 waiting
        # A turn ends every tenth of a second, each while others wait.
        for n in range(8):
            clock.now += 0.1
            gates[n].set()
            # The next one waiting has its turn (awaited here: n does not change meanwhile).
            await until(lambda: len(gates) == 9 + n)  # noqa: B023
        assert limit.rate() == pytest.approx(10)
        for gate in gates[8:]:
            gate.set()
        await asyncio.gather(*asked)
        # Nothing waits any more: the last measure stands until the next crowd.
        clock.now += 60
        assert limit.rate() == pytest.approx(10)
