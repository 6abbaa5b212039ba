"""The whole platform in one test process: every service on port 0 and the real
gateway (uvicorn) on a free socket, talking to a real nats-server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from gateway.app import create_app
from gateway.config import GatewaySettings
from services.runtime.config import ServiceSettings

ADMIN_TOKEN = "test-admin-token-0123456789"
RECEIPT_SECRET = "test-receipt-secret-0123456789"


@dataclass
class Platform:
    url: str
    http: httpx.AsyncClient
    booking: Any
    notify: Any
    identity: Any
    settings: GatewaySettings

    def headers(self, channel: str = "web", admin: bool = False) -> dict[str, str]:
        headers = {"X-Mintong-Channel": channel}
        if admin:
            headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        return headers


@pytest.fixture
async def platform(
    booking: Any, notify: Any, make_settings: Callable[..., Any], clock: Any
) -> AsyncIterator[Platform]:
    from services.cards import bootstrap as cards
    from services.identity import bootstrap as identity
    from services.identity.config import IdentitySettings

    targets = {
        "booking_grpc_target": f"127.0.0.1:{booking.host.port}",
        "notify_grpc_target": f"127.0.0.1:{notify.host.port}",
    }
    cards_host = cards.build(make_settings(ServiceSettings))
    targets["cards_grpc_target"] = f"127.0.0.1:{await cards_host.start(port=0)}"
    citizens = identity.build(
        make_settings(IdentitySettings, notify_grpc_target=targets["notify_grpc_target"]), clock=clock
    )
    await asyncio.to_thread(citizens.migrate)
    targets["identity_grpc_target"] = f"127.0.0.1:{await citizens.host.start(port=0)}"
    others = [cards_host, citizens.host]

    settings = make_settings(
        GatewaySettings, admin_token=ADMIN_TOKEN, receipt_secret=RECEIPT_SECRET, **targets
    )
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        yield Platform(url, http, booking, notify, citizens, settings)
    server.should_exit = True
    await task
    sock.close()
    for host in others:
        await host.stop()
