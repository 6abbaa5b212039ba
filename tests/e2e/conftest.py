"""The whole platform in one test process: every service on port 0 and the real
gateway (uvicorn) on a free socket, talking to a real nats-server."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import argon2
import httpx
import jwt
import pytest
import uvicorn

from gateway.app import create_app
from gateway.config import GatewaySettings
from services.identity.adapters.passwords import Argon2Passwords
from tests.conftest import FIXTURES

#: The bootstrap administrator every test platform starts with (identity makes it
#: from MINTONG_BOOTSTRAP_ADMIN_USER/_PASSWORD), signed in once at start.
ADMIN_USER = "admin"
ADMIN_PASSWORD = "test-admin-password-0123456789"
RECEIPT_SECRET = "test-receipt-secret-0123456789"


@dataclass
class Platform:
    url: str
    http: httpx.AsyncClient
    booking: Any
    notify: Any
    identity: Any
    settings: GatewaySettings
    cards: Any
    admin_token: str = ""
    #: The gateway's FastAPI application (its state: the token checker).
    app: Any = None

    def headers(self, channel: str = "web", admin: bool = False) -> dict[str, str]:
        """The channel header; with ``admin``, the bootstrap administrator's staff token."""
        headers = {"X-Mintong-Channel": channel}
        if admin:
            headers["Authorization"] = f"Bearer {self.admin_token}"
        return headers

    async def staff_sign_in(self, username: str, password: str) -> str:
        answer = await self.http.post(
            "/v1/staff/token", json={"username": username, "password": password}, headers=self.headers()
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    async def revocation_seen(self, token: str) -> None:
        """Until the gateway has the session of ``token`` from the revocation bucket
        (identity's outbox → NATS → the gateway's watch: a moment, not at once)."""
        session_id = jwt.decode(token, options={"verify_signature": False})["sid"]
        await asyncio.wait_for(self.app.state.tokens.revoked.wait_for(session_id), 10)

    async def make_staff(
        self, role: str, *, username: str | None = None, office_id: str | None = None
    ) -> dict[str, str]:
        """A new staff member made by the administrator, signed in: headers with their token."""
        username = username or f"{role}-{uuid.uuid4().hex[:8]}"
        password = f"{username}-password-0123"
        made = await self.http.post(
            "/v1/admin/staff",
            json={"username": username, "role": role, "office_id": office_id, "password": password},
            headers=self.headers(admin=True),
        )
        assert made.status_code == 201, made.text
        token = await self.staff_sign_in(username, password)
        return {**self.headers(), "Authorization": f"Bearer {token}"}


@pytest.fixture
async def platform(
    booking: Any, notify: Any, make_settings: Callable[..., Any], clock: Any
) -> AsyncIterator[Platform]:
    from services.cards import bootstrap as cards
    from services.cards.config import CardsSettings
    from services.identity import bootstrap as identity
    from services.identity.config import IdentitySettings

    targets = {
        "booking_grpc_target": f"127.0.0.1:{booking.host.port}",
        "notify_grpc_target": f"127.0.0.1:{notify.host.port}",
    }
    citizens = identity.build(
        make_settings(
            IdentitySettings,
            notify_grpc_target=targets["notify_grpc_target"],
            booking_grpc_target=targets["booking_grpc_target"],
            bootstrap_admin_user=ADMIN_USER,
            bootstrap_admin_password=ADMIN_PASSWORD,
        ),
        clock=clock,
        # The cheapest Argon2 parameters: every platform hashes and checks a few
        # passwords (~0.3 s each with the defaults), and no test here measures them.
        passwords=Argon2Passwords(argon2.profiles.CHEAPEST),
    )
    await asyncio.to_thread(citizens.migrate)
    targets["identity_grpc_target"] = f"127.0.0.1:{await citizens.host.start(port=0)}"
    # Booking was built before identity had a port: it asks identity's register here.
    booking.citizens.stub.target = targets["identity_grpc_target"]
    # Cards asks the real identity for the register's facts and writes the card back.
    cards_app = cards.build(
        make_settings(
            CardsSettings,
            booking_grpc_target=targets["booking_grpc_target"],
            identity_grpc_target=targets["identity_grpc_target"],
            cards_kinds_file=FIXTURES / "cards_kinds.yaml",
            courier_callback_secret="test-courier-secret",
            cards_journey_seconds=3600,  # tests run the journey's steps themselves
            cards_sandbox_production_seconds=0,
            # The tests post the courier's callbacks themselves: the sandbox courier
            # books shipments but is never due to call back within a test.
            cards_sandbox_courier_seconds=10 * 365 * 86400,
        ),
        clock=clock,
    )
    await asyncio.to_thread(cards_app.migrate)
    cards_host = cards_app.host
    targets["cards_grpc_target"] = f"127.0.0.1:{await cards_host.start(port=0)}"
    others = [cards_host, citizens.host]

    settings = make_settings(GatewaySettings, receipt_secret=RECEIPT_SECRET, **targets)
    # proxy_headers off as in `python -m gateway`: MINTONG_TRUSTED_PROXIES decides.
    app = create_app(settings, clock=clock)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", proxy_headers=False))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        running = Platform(url, http, booking, notify, citizens, settings, cards_app, app=app)
        running.admin_token = await running.staff_sign_in(ADMIN_USER, ADMIN_PASSWORD)
        yield running
    server.should_exit = True
    await task
    sock.close()
    for host in others:
        await host.stop()
