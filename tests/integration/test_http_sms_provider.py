"""HttpSmsProvider against a real HTTP server: a fake SMS gateway (Starlette under
uvicorn on a free 127.0.0.1 port, in the test's event loop) that checks the
signature with ``verify``, records every request and answers with whatever status,
body and delay a test sets. Covers acceptance, the wire format, the split between
Permanent and Retryable, timeouts, refused connections and that no reason ever
quotes the phone number or the text."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import re
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.notify.adapters.http_sms import KEY_ID_HEADER, HttpSmsProvider
from services.notify.domain.model import Channel
from services.notify.domain.providers import Accepted, Outgoing, Permanent, ProviderError, Retryable
from services.runtime.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify
from tests.conftest import free_port

SECRET = b"test-secret-not-for-production"
KEY_ID = "mintong-test-1"
PHONE = "+8613800138000"
TEXT = "【民通】您的验证码是 482913，5 分钟内有效。"
MESSAGE = Outgoing(
    delivery_id="dlv-0001-sms",
    channel=Channel.SMS,
    to=PHONE,
    title="验证码",
    body=TEXT,
    city_code="testcity",
)


@dataclass
class Seen:
    headers: httpx.Headers
    body: bytes
    valid: bool


class FakeGateway:
    """The SMS gateway's side: refuses a bad signature or key id with 401, else
    answers ``status`` with ``answer`` (JSON, or raw bytes) after ``delay`` seconds."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self.url = ""
        self.status = 202
        self.answer: Any = {"id": "gw-42"}
        self.delay = 0.0
        self.seen: list[Seen] = []
        # Set at teardown so a deliberately slow answer does not hold up the server's shutdown.
        self.release = asyncio.Event()

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        valid = request.headers.get(KEY_ID_HEADER) == KEY_ID and verify(
            self.secret,
            request.headers.get(TIMESTAMP_HEADER, ""),
            body,
            request.headers.get(SIGNATURE_HEADER, ""),
            now=time.time(),
        )
        self.seen.append(Seen(httpx.Headers(request.headers.items()), body, valid))
        if self.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), self.delay)
        if not valid:
            return JSONResponse({"error": "bad_signature"}, status_code=401)
        if isinstance(self.answer, bytes):
            return Response(self.answer, status_code=self.status, media_type="application/json")
        return JSONResponse(self.answer, status_code=self.status)


@pytest.fixture
async def gateway() -> AsyncIterator[FakeGateway]:
    fake = FakeGateway(SECRET)
    app = Starlette(routes=[Route("/v1/sms", fake.endpoint, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + 10
    while not server.started:
        if task.done():
            task.result()  # a failed start-up raises here instead of timing out
        assert time.monotonic() < deadline, "the fake gateway did not start"
        await asyncio.sleep(0.01)
    fake.url = f"http://127.0.0.1:{port}/v1/sms"
    yield fake
    fake.release.set()
    server.should_exit = True
    await asyncio.wait_for(task, 10)
    sock.close()


@pytest.fixture
async def provider(gateway: FakeGateway) -> AsyncIterator[HttpSmsProvider]:
    sms = HttpSmsProvider(url=gateway.url, key_id=KEY_ID, secret=SECRET, timeout=2.0)
    yield sms
    await sms.aclose()


def assert_no_personal_data(exc: BaseException) -> None:
    """Neither the exception nor what it was raised from quotes the number or the text."""
    national = PHONE.removeprefix("+86")
    while exc is not None:
        for said in (str(exc), repr(exc), getattr(exc, "reason", "")):
            assert national not in said
            assert TEXT not in said
            assert "482913" not in said  # the one-time code inside the text
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]


# --- a good send -------------------------------------------------------------------------


async def test_accepted_with_the_providers_id(provider: HttpSmsProvider, gateway: FakeGateway) -> None:
    accepted = await provider.send(MESSAGE)

    assert accepted == Accepted(provider_ref="gw-42", delivered=False)
    assert provider.name == "http_sms"
    assert provider.channel is Channel.SMS
    assert len(gateway.seen) == 1 and gateway.seen[0].valid


async def test_request_is_exactly_the_documented_signed_json(
    provider: HttpSmsProvider, gateway: FakeGateway
) -> None:
    before = int(time.time())
    await provider.send(MESSAGE)
    after = int(time.time())

    (seen,) = gateway.seen
    timestamp = seen.headers[TIMESTAMP_HEADER]
    assert re.fullmatch(r"[0-9]+", timestamp) and before <= int(timestamp) <= after
    sent_at = dt.datetime.fromtimestamp(int(timestamp), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    expected = {"message_id": MESSAGE.delivery_id, "to": PHONE, "text": TEXT, "sent_at": sent_at}
    # Compact UTF-8 JSON, keys in this order, nothing else: byte for byte what the docs show.
    assert seen.body == json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers[KEY_ID_HEADER] == KEY_ID
    signature = seen.headers[SIGNATURE_HEADER]
    assert re.fullmatch(r"v1=[0-9a-f]{64}", signature)
    assert signature == sign(SECRET, timestamp, seen.body)
    assert verify(SECRET, timestamp, seen.body, signature, now=time.time())


async def test_a_retry_carries_the_same_message_id(provider: HttpSmsProvider, gateway: FakeGateway) -> None:
    gateway.status, gateway.answer = 503, {"error": "busy"}
    with pytest.raises(Retryable):
        await provider.send(MESSAGE)
    gateway.status, gateway.answer = 202, {"id": "gw-43"}
    assert (await provider.send(MESSAGE)).provider_ref == "gw-43"

    ids = [json.loads(seen.body)["message_id"] for seen in gateway.seen]
    assert ids == [MESSAGE.delivery_id, MESSAGE.delivery_id]


# --- signatures --------------------------------------------------------------------------


async def test_the_fake_refuses_a_tampered_signature_or_body(gateway: FakeGateway) -> None:
    body = b'{"message_id":"x","to":"+8613900000000","text":"hi","sent_at":"2030-01-07T00:00:00Z"}'
    timestamp = str(int(time.time()))
    good = sign(SECRET, timestamp, body)
    tampered_signature = good[:-1] + ("0" if good[-1] != "0" else "1")
    headers = {KEY_ID_HEADER: KEY_ID, TIMESTAMP_HEADER: timestamp, "Content-Type": "application/json"}
    async with httpx.AsyncClient() as client:
        ok = await client.post(gateway.url, content=body, headers={**headers, SIGNATURE_HEADER: good})
        bad_sig = await client.post(
            gateway.url, content=body, headers={**headers, SIGNATURE_HEADER: tampered_signature}
        )
        bad_body = await client.post(
            gateway.url, content=body.replace(b"hi", b"ha"), headers={**headers, SIGNATURE_HEADER: good}
        )

    assert ok.status_code == 202
    assert bad_sig.status_code == 401 and bad_sig.json() == {"error": "bad_signature"}
    assert bad_body.status_code == 401
    assert [seen.valid for seen in gateway.seen] == [True, False, False]


async def test_a_wrong_secret_is_a_permanent_failure(gateway: FakeGateway) -> None:
    sms = HttpSmsProvider(url=gateway.url, key_id=KEY_ID, secret=b"another secret")
    try:
        with pytest.raises(Permanent) as raised:
            await sms.send(MESSAGE)
    finally:
        await sms.aclose()
    assert raised.value.reason == "http_sms: HTTP 401 bad_signature"


def test_verify_refuses_a_timestamp_outside_the_tolerance() -> None:
    body = b'{"id":"gw-42","status":"delivered"}'
    timestamp = "1893974400"  # 2030-01-07T00:00:00Z
    signature = sign(SECRET, timestamp, body)
    now = 1893974400.0

    assert verify(SECRET, timestamp, body, signature, now=now)
    assert verify(SECRET, timestamp, body, signature, now=now + 300)
    assert not verify(SECRET, timestamp, body, signature, now=now + 301)  # replayed too late
    assert not verify(SECRET, timestamp, body, signature, now=now - 301)  # from the future
    assert verify(SECRET, timestamp, body, signature, now=now + 3000, tolerance=3600)


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        ("1893974400", "v2=" + "0" * 64),
        ("1893974400", ""),
        ("1893974400", "v1=ünïcode"),
        ("", None),
        ("+1893974400", None),
        (" 1893974400", None),
        ("1893974400.5", None),
        ("١٨٩٣٩٧٤٤٠٠", None),  # digits, but not ASCII ones
    ],
)
def test_verify_refuses_malformed_input_without_raising(timestamp: str, signature: str | None) -> None:
    body = b"{}"
    if signature is None:  # correctly signed, so only the timestamp's form can fail it
        signature = sign(SECRET, timestamp, body) if timestamp.isascii() else "v1=" + "0" * 64
    assert not verify(SECRET, timestamp, body, signature, now=1893974400.0)


# --- failures ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 422, 405])
async def test_client_errors_are_permanent(
    provider: HttpSmsProvider, gateway: FakeGateway, status: int
) -> None:
    gateway.status, gateway.answer = status, {"error": "invalid_number"}
    with pytest.raises(Permanent) as raised:
        await provider.send(MESSAGE)
    assert raised.value.reason == f"http_sms: HTTP {status} invalid_number"
    assert_no_personal_data(raised.value)


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504, 302])
async def test_busy_or_broken_gateway_is_retryable(
    provider: HttpSmsProvider, gateway: FakeGateway, status: int
) -> None:
    gateway.status, gateway.answer = status, {"error": "try_later"}
    with pytest.raises(Retryable) as raised:
        await provider.send(MESSAGE)
    assert raised.value.reason == f"http_sms: HTTP {status} try_later"
    assert_no_personal_data(raised.value)


async def test_a_status_without_an_error_body_still_names_the_status(
    provider: HttpSmsProvider, gateway: FakeGateway
) -> None:
    gateway.status, gateway.answer = 503, b"<html>Service Unavailable</html>"
    with pytest.raises(Retryable) as raised:
        await provider.send(MESSAGE)
    assert raised.value.reason == "http_sms: HTTP 503"


async def test_a_slow_gateway_past_the_timeout_is_retryable(gateway: FakeGateway) -> None:
    gateway.delay = 3600.0  # answers only when the test ends: only a timeout ends the call
    # The provider's timeout wins over the longer one of a client passed in: with the
    # client's, the call would outlive the guard and end in TimeoutError, not Retryable.
    async with httpx.AsyncClient(timeout=3600.0) as client:
        sms = HttpSmsProvider(url=gateway.url, key_id=KEY_ID, secret=SECRET, timeout=0.2, client=client)
        with pytest.raises(Retryable) as raised:
            await asyncio.wait_for(sms.send(MESSAGE), timeout=60)
    assert [seen.valid for seen in gateway.seen] == [True]  # it was sent, and not answered
    assert raised.value.reason == "http_sms: timeout (ReadTimeout)"
    assert_no_personal_data(raised.value)


async def test_connection_refused_is_retryable() -> None:
    sms = HttpSmsProvider(url=f"http://127.0.0.1:{free_port()}/v1/sms", key_id=KEY_ID, secret=SECRET)
    try:
        with pytest.raises(Retryable) as raised:
            await sms.send(MESSAGE)
    finally:
        await sms.aclose()
    assert raised.value.reason == "http_sms: connection failed (ConnectError)"
    assert_no_personal_data(raised.value)


@pytest.mark.parametrize(
    "answer",
    [{}, {"id": ""}, {"id": 12345}, {"id": None}, ["gw-42"], b"not json", b"", b"\xff\xfe"],
    ids=["empty", "blank-id", "number-id", "null-id", "list", "not-json", "no-body", "not-utf8"],
)
async def test_success_without_a_usable_id_is_retryable(
    provider: HttpSmsProvider, gateway: FakeGateway, answer: Any
) -> None:
    gateway.status, gateway.answer = 200, answer
    with pytest.raises(Retryable) as raised:
        await provider.send(MESSAGE)
    assert raised.value.reason == "http_sms: HTTP 200, malformed answer (no id)"


@pytest.mark.parametrize(
    "error",
    [
        f"invalid number {PHONE}",
        PHONE,
        PHONE.removeprefix("+86"),
        "bad_number_13800138000",
        TEXT,
        "content refused: 482913",
    ],
)
async def test_reasons_never_quote_the_number_or_the_text(
    provider: HttpSmsProvider, gateway: FakeGateway, error: str
) -> None:
    # Gateways like to echo what they refused; only a plain error code gets through.
    gateway.status, gateway.answer = 400, {"error": error}
    with pytest.raises(ProviderError) as raised:
        await provider.send(MESSAGE)
    assert raised.value.reason == "http_sms: HTTP 400"
    assert_no_personal_data(raised.value)


# --- construction and clean-up -----------------------------------------------------------


async def test_aclose_closes_only_a_client_of_its_own(gateway: FakeGateway) -> None:
    async with httpx.AsyncClient() as theirs:
        borrowing = HttpSmsProvider(url=gateway.url, key_id=KEY_ID, secret=SECRET, client=theirs)
        assert (await borrowing.send(MESSAGE)).provider_ref == "gw-42"
        await borrowing.aclose()
        assert not theirs.is_closed

    owning = HttpSmsProvider(url=gateway.url, key_id=KEY_ID, secret=SECRET)
    await owning.aclose()
    with pytest.raises(RuntimeError):  # httpx refuses to send on a closed client
        await owning.send(MESSAGE)


@pytest.mark.parametrize("url", ["ftp://sms.example/", "sms.example/v1/sms", ""])
def test_a_url_that_is_not_http_is_refused_at_once(url: str) -> None:
    with pytest.raises(ValueError):
        HttpSmsProvider(url=url, key_id=KEY_ID, secret=SECRET)
