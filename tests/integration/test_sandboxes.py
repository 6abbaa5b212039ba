"""A production notify allowed to run on the SMS sandbox (issue 9, item 10): it says
so at start with a WARNING naming the sandbox, shows no sandbox over gRPC, and
leaves the WeChat and APP push channels set "off" out of every route (the
citizen's preferred WeChat falls through to SMS)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest

from mintong.notify.v1 import notify_pb2 as pb
from mintong.notify.v1 import notify_pb2_grpc as pb_grpc
from services.notify import bootstrap
from services.notify.config import NotifySettings
from services.notify.domain.model import Channel
from services.runtime import context
from services.runtime.pii import PiiCipher

SERVICE = ((context.CALLER_KEY, "service:identity"),)
PHONE = "+8613800138000"


@pytest.fixture
async def prod_notify(
    make_settings: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> AsyncIterator[bootstrap.Notify]:
    settings = make_settings(
        NotifySettings,
        env="prod",
        pii_keys=PiiCipher.generate_key(),
        pii_lookup_key=PiiCipher.generate_key(),
        allow_sandbox="sms",
        notify_wechat_provider="off",
        notify_app_push_provider="off",
        notify_quiet_start="00:00",
        notify_quiet_end="00:00",
    )
    app = bootstrap.build(settings)
    await asyncio.to_thread(app.migrate)
    with caplog.at_level(logging.INFO, logger="services.runtime.host"):
        await app.host.start(port=0)
    yield app
    await app.host.stop()


async def test_production_on_an_allowed_sandbox_says_so_and_shows_nothing(
    prod_notify: bootstrap.Notify, caplog: pytest.LogCaptureFixture
) -> None:
    started = caplog.get_records("setup")
    warned = [r.getMessage() for r in started if r.levelno == logging.WARNING]
    assert [m for m in warned if "SANDBOX sms" in m and "MINTONG_ALLOW_SANDBOX" in m], warned
    assert set(prod_notify.notifier.providers) == {Channel.SMS}

    async with grpc.aio.insecure_channel(f"127.0.0.1:{prod_notify.host.port}") as channel:
        notify = pb_grpc.NotifyServiceStub(channel)
        admin = pb_grpc.NotifyAdminServiceStub(channel)
        preferences = pb.Preferences(
            citizen_id="c1",
            preferred_channel=pb.DELIVERY_CHANNEL_WECHAT,
            phone=PHONE,
            wechat_openids={"haikou": "o-c1"},
        )
        await notify.SetPreferences(pb.SetPreferencesRequest(preferences=preferences), metadata=SERVICE)
        sent = await notify.SendMessage(
            pb.SendMessageRequest(
                citizen_id="c1",
                template="booking_cancelled",
                variables={"business": "ID card", "office": "Longhua", "date": "2030-01-09", "time": "09:00"},
                city_code="haikou",
                idempotency_key="k1",
            ),
            metadata=SERVICE,
        )
        pushed = [d.channel for d in sent.message.deliveries if d.channel != pb.DELIVERY_CHANNEL_INBOX]
        assert pushed == [pb.DELIVERY_CHANNEL_SMS]

        with pytest.raises(grpc.aio.AioRpcError) as listing:
            await admin.ListSandboxMessages(pb.ListSandboxMessagesRequest(to=PHONE), metadata=SERVICE)
        assert listing.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as steering:
            await admin.SetSandboxBehaviour(
                pb.SetSandboxBehaviourRequest(channel=pb.DELIVERY_CHANNEL_SMS), metadata=SERVICE
            )
        assert steering.value.code() != grpc.StatusCode.OK
