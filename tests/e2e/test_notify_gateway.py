"""Notify through the gateway: what the sandbox recorded (administrators only),
signed provider receipts (unsigned or badly signed refused), and one trace from a
booking event to the delivery of its message."""

from __future__ import annotations

import json
import time
from typing import Any

import grpc
import nats
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mintong.notify.v1 import notify_pb2 as pb
from mintong.notify.v1 import notify_pb2_grpc as pb_grpc
from services.runtime import context, telemetry
from services.runtime.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.e2e.conftest import RECEIPT_SECRET, Platform
from tests.integration.test_notify import booking_confirmed, eventually

SERVICE = ((context.CALLER_KEY, "service:test"),)
PHONE = "+8613700137000"


async def stub(platform: Platform) -> tuple[Any, Any]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{platform.notify.host.port}")
    return pb_grpc.NotifyServiceStub(channel), pb_grpc.NotifyAdminServiceStub(channel)


def signed(body: bytes, secret: str = RECEIPT_SECRET) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret.encode(), timestamp, body)}


async def test_administrators_read_what_the_sandbox_recorded(platform: Platform) -> None:
    notify, _ = await stub(platform)
    await notify.SetPreferences(
        pb.SetPreferencesRequest(preferences=pb.Preferences(citizen_id="c1", phone=PHONE)), metadata=SERVICE
    )
    await notify.SendMessage(
        pb.SendMessageRequest(
            citizen_id="c1",
            template="one_time_code",
            variables={"code": "271828", "minutes": "5"},
            city_code="haikou",
            idempotency_key="otp-e2e",
        ),
        metadata=SERVICE,
    )

    async def recorded() -> list[dict[str, Any]]:
        answer = await platform.http.get(
            "/v1/sandbox/messages", params={"to": PHONE}, headers=platform.headers(admin=True)
        )
        return answer.json()["messages"]

    [sms] = await eventually(recorded)
    assert sms["provider"] == "sandbox_sms" and "271828" in sms["body"]
    # The number is found with or without +86 (and when a URL's "+" became a space).
    for written in ("13700137000", "8613700137000", "+86 137 0013 7000", " 8613700137000"):
        found = await platform.http.get(
            "/v1/sandbox/messages", params={"to": written}, headers=platform.headers(admin=True)
        )
        assert [m["delivery_id"] for m in found.json()["messages"]] == [sms["delivery_id"]], written
    nobody = await platform.http.get(
        "/v1/sandbox/messages", params={"to": "13700137001"}, headers=platform.headers(admin=True)
    )
    assert nobody.json()["messages"] == []
    refused = await platform.http.get("/v1/sandbox/messages", headers=platform.headers())
    assert refused.status_code == 401


async def test_receipts_must_be_signed_and_then_decide_the_delivery(platform: Platform) -> None:
    notify, admin = await stub(platform)
    await notify.SetPreferences(
        pb.SetPreferencesRequest(preferences=pb.Preferences(citizen_id="c2", phone=PHONE)), metadata=SERVICE
    )
    await admin.SetSandboxBehaviour(
        pb.SetSandboxBehaviourRequest(channel=pb.DELIVERY_CHANNEL_SMS, mode=pb.SANDBOX_MODE_AWAIT_RECEIPT),
        metadata=SERVICE,
    )
    sent = await notify.SendMessage(
        pb.SendMessageRequest(
            citizen_id="c2",
            template="card_delivered",
            variables={"application_id": "A9"},
            city_code="haikou",
            idempotency_key="receipt-e2e",
        ),
        metadata=SERVICE,
    )

    async def provider_ref() -> str | None:
        from sqlalchemy import select

        from services.notify.adapters import orm

        async with platform.notify.db.read() as conn:
            query = select(orm.deliveries.c.provider_ref).where(
                orm.deliveries.c.message_id == sent.message.id, orm.deliveries.c.channel == "sms"
            )
            return (await conn.execute(query)).scalar_one_or_none()

    ref = await eventually(provider_ref)
    body = json.dumps({"provider_ref": ref, "status": "delivered"}).encode()
    url = "/v1/providers/sandbox_sms/receipts"

    unsigned = await platform.http.post(url, content=body)
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "unsigned_receipt"
    forged = await platform.http.post(url, content=body, headers=signed(body, "not-the-secret-at-all"))
    assert forged.status_code == 401 and forged.json()["code"] == "bad_signature"
    tampered = body.replace(b"delivered", b"failed")
    moved = await platform.http.post(url, content=tampered, headers=signed(body))
    assert moved.status_code == 401

    accepted = await platform.http.post(url, content=body, headers=signed(body))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "delivered"
    unknown = json.dumps({"provider_ref": "nope", "status": "failed"}).encode()
    missing = await platform.http.post(url, content=unknown, headers=signed(unknown))
    assert missing.status_code == 404 and missing.json()["field"] == "provider_ref"
    bad = json.dumps({"provider_ref": ref, "status": "lost"}).encode()
    invalid = await platform.http.post(url, content=bad, headers=signed(bad))
    assert invalid.status_code == 400 and invalid.json()["field"] == "status"


async def test_one_trace_from_a_booking_event_to_the_delivery(
    platform: Platform, spans: InMemorySpanExporter, nats_server: Any
) -> None:
    notify, _ = await stub(platform)
    await notify.SetPreferences(
        pb.SetPreferencesRequest(preferences=pb.Preferences(citizen_id="c3", phone=PHONE)), metadata=SERVICE
    )
    with trace.get_tracer("test").start_as_current_span("booking confirmed") as origin:
        nc = await nats.connect(nats_server.url)
        headers = {"Nats-Msg-Id": "evt-trace", "Mintong-Event-Type": "mintong.booking.v1.BookingConfirmed"}
        telemetry.inject(headers)
        await nc.jetstream().publish(
            "mintong.booking.booking.confirmed",
            booking_confirmed("b-t", "c3").SerializeToString(),
            headers=headers,
        )
        await nc.close()
    trace_id = origin.get_span_context().trace_id

    async def delivered_span() -> Any:
        return next(
            (
                s
                for s in spans.get_finished_spans()
                if s.name == "deliver sms" and s.context.trace_id == trace_id
            ),
            None,
        )

    span = await eventually(delivered_span)
    names = {s.name for s in spans.get_finished_spans() if s.context.trace_id == trace_id}
    assert "mintong.booking.booking.confirmed process" in names and span is not None
