"""The gateway's admission limit: requests beyond the limit wait a moment for a
turn, then get a 503 problem with Retry-After at once; health checks never wait."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.middleware import AdmissionLimit, RequestTelemetry


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
    limited = RequestTelemetry(AdmissionLimit(app, limit=2, wait=0.2, retry_after=3))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(limited), base_url="http://gateway") as http:
        admitted = [
            asyncio.create_task(http.get("/v1/slow", headers={"X-Request-Id": f"r{n}"})) for n in range(2)
        ]
        await both_started.wait()  # both admitted and being served: the limit is reached
        turned_away = await http.get("/v1/slow")
        assert turned_away.status_code == 503
        assert turned_away.headers["content-type"] == "application/problem+json"
        assert (turned_away.json()["code"], turned_away.headers["Retry-After"]) == ("overloaded", "3")
        assert turned_away.headers["X-Request-Id"]
        assert (await http.get("/healthz")).status_code == 200  # never held back
        waiting = asyncio.create_task(http.get("/v1/slow"))  # gets a turn within its wait
        await asyncio.sleep(0)  # it starts, and queues for a turn (had it not yet, it gets one anyway)
        release.set()
        answers = await asyncio.gather(*admitted, waiting)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.text for a in answers[:2]] == ["r0", "r1"]
    assert [a.headers["X-Request-Id"] for a in answers[:2]] == ["r0", "r1"]
