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
    settings: GatewaySettings

    def headers(self, channel: str = "web", admin: bool = False) -> dict[str, str]:
        headers = {"X-Mintong-Channel": channel}
        if admin:
            headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        return headers


@pytest.fixture
async def platform(booking: Any, notify: Any, make_settings: Callable[..., Any]) -> AsyncIterator[Platform]:
    from services.cards import bootstrap as cards
    from services.identity import bootstrap as identity

    targets = {
        "booking_grpc_target": f"127.0.0.1:{booking.host.port}",
        "notify_grpc_target": f"127.0.0.1:{notify.host.port}",
    }
    others = []
    for module in (identity, cards):
        host = module.build(make_settings(ServiceSettings))
        port = await host.start(port=0)
        targets[f"{module.NAME}_grpc_target"] = f"127.0.0.1:{port}"
        others.append(host)

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
        yield Platform(url, http, booking, notify, settings)
    server.should_exit = True
    await task
    sock.close()
    for host in others:
        await host.stop()
