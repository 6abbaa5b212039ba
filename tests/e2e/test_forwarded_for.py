"""The client address the per-address one-time-code limit counts: X-Forwarded-For
only when the gateway's direct peer is a configured trusted proxy
(MINTONG_TRUSTED_PROXIES), else the socket's peer, whatever the header says."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from gateway.app import create_app
from gateway.config import GatewaySettings
from services.identity.domain.id_number import check_character
from tests.e2e.conftest import Platform

LIMIT = 2


def id_numbers() -> list[str]:
    """Valid ID numbers nobody holds: each request its own, so that only the
    per-address limit can refuse."""
    prefixes = [f"11010519800101{n:03d}" for n in range(10)]
    return [p + check_character(p) for p in prefixes]


@contextlib.asynccontextmanager
async def gateway(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    """Another gateway in front of the same services, with its own settings."""
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", proxy_headers=False))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=10
        ) as http:
            yield http
    finally:
        server.should_exit = True
        await task
        sock.close()


async def ask(http: httpx.AsyncClient, id_number: str, forwarded_for: str) -> int:
    answer = await http.post(
        "/v1/auth/otp",
        json={"id_number": id_number, "name": "无人"},
        headers={"X-Mintong-Channel": "web", "X-Forwarded-For": forwarded_for},
    )
    return answer.status_code


@pytest.fixture
def limited(platform: Platform) -> Platform:
    auth = platform.identity.auth
    auth.policy = dataclasses.replace(auth.policy, per_address_per_hour=LIMIT)
    return platform


async def rate_keys(platform: Platform) -> set[str]:
    """The client addresses counted, read back through their keyed hashes (an
    address is stored only as one)."""
    from sqlalchemy import select

    from services.identity.adapters import orm

    async with platform.identity.db.read() as conn:
        stored = {k for (k,) in await conn.execute(select(orm.rate_events.c.key))}
    candidates = [
        f"address:{a}" for a in ("127.0.0.1", "198.51.100.9", "203.0.113.5", "192.0.2.1", "10.1.2.3")
    ]
    candidates += [f"address:203.0.113.{n}" for n in range(256)]
    return {c for c in candidates if platform.identity.cipher.lookup(f"rate:{c}") in stored}


async def test_without_trusted_proxies_the_header_is_ignored(limited: Platform) -> None:
    assert limited.settings.trusted_proxies == []  # the default
    numbers = id_numbers()
    # A client cannot escape the limit by making up a new address each time.
    answers = [await ask(limited.http, numbers[n], f"203.0.113.{n}") for n in range(LIMIT + 1)]
    assert answers == [202] * LIMIT + [429]
    assert await rate_keys(limited) == {"address:127.0.0.1"}


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(limited: Platform) -> None:
    settings: Any = limited.settings.model_copy(update={"trusted_proxies": ["127.0.0.1", "10.0.0.0/8"]})
    numbers = iter(id_numbers())
    async with gateway(settings) as http:
        # A client behind two proxies of ours: the first address no trusted proxy added.
        one = [await ask(http, next(numbers), "198.51.100.9, 10.1.2.3") for _ in range(LIMIT + 1)]
        # Another client (spoofing a first hop changes nothing: the last untrusted one counts).
        other = await ask(http, next(numbers), "192.0.2.1, 203.0.113.5")
    assert one == [202] * LIMIT + [429]
    assert other == 202
    assert await rate_keys(limited) == {"address:198.51.100.9", "address:203.0.113.5"}
