"""The HTTP adapters to the card production centre and the courier against fake
partners on real HTTP (Starlette under uvicorn on a free port, in the test): the
fakes implement docs/card-production.md and docs/courier.md — they verify the
signature, and keep the answer of each Idempotency-Key — so the tests show what
the contracts promise: a retry after a timeout never produces or ships twice, 5xx
is ``ExternalUnavailable`` (try later, same key), a 4xx a ``PartnerRefused`` naming
the status and the partner's code, and no personal data in any error."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.cards.adapters.http_courier import HttpCourier
from services.cards.adapters.http_production import HttpProductionCentre
from services.cards.adapters.partner_http import IDEMPOTENCY_HEADER, KEY_ID_HEADER, PartnerRefused
from services.cards.service_layer.ports import ExternalUnavailable, ProducedCard, ProductionOrder, Shipment
from services.runtime.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.integration.fake_http import serving

SECRET = b"partner-test-secret-0001"
KEY_ID = "mintong-1"
NAME, ID_NUMBER, ADDRESS, PHONE = (
    "张伟",
    "410105198503121235",
    "河南省郑州市金水区经三路1号",
    "+8613800138001",
)
ORDER = ProductionOrder(
    application_id="app-1",
    kind="id_card_lost",
    city_code="zhengzhou",
    id_number=ID_NUMBER,
    name=NAME,
    gender="male",
    birth_date=dt.date(1985, 3, 12),
    household_address=ADDRESS,
)
SHIPMENT = Shipment(
    application_id="app-1", recipient=NAME, phone=PHONE, address=ADDRESS, city_code="zhengzhou"
)


@dataclass
class FakePartner:
    """Both partners' side of the contracts. ``script``: statuses to answer first
    (after recording the request, before doing anything); ``slow``: how many
    creates to do (or find done) and then answer only after ``delay``."""

    script: list[tuple[int, Any]] = field(default_factory=list)
    slow: int = 0
    delay: float = 0.0
    seen: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    answers: dict[str, tuple[bytes, int, Any]] = field(default_factory=dict)  # by key: body, status, answer
    batches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    cards: dict[str, Any] = field(default_factory=dict)  # batch id -> the cards answer
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def _signed(self, request: Request, body: bytes) -> bool:
        return request.headers.get(KEY_ID_HEADER) == KEY_ID and verify(
            SECRET,
            request.headers.get(TIMESTAMP_HEADER, ""),
            body,
            request.headers.get(SIGNATURE_HEADER, ""),
            now=time.time(),
        )

    async def _first(self, request: Request) -> tuple[bytes, Response | None]:
        body = await request.body()
        self.seen.append((request.url.path, dict(request.headers), body))
        if self.script:
            status, answer = self.script.pop(0)
            return body, JSONResponse(answer, status_code=status)
        if not self._signed(request, body):
            return body, JSONResponse({"error": "bad_signature"}, status_code=401)
        return body, None

    async def _create(self, request: Request, make: Any) -> Response:
        body, early = await self._first(request)
        if early is not None:
            return early
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if not key:
            return JSONResponse({"error": "idempotency_key_required"}, status_code=400)
        if key in self.answers:
            first_body, _, answer = self.answers[key]
            if first_body != body:
                return JSONResponse({"error": "idempotency_key_reused"}, status_code=409)
            status = 200  # the first answer again: nothing made twice
        else:
            answer, status = make(json.loads(body)), 201
            self.answers[key] = (body, status, answer)
        if self.slow:  # done, and answered too late
            self.slow -= 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), self.delay)
        return JSONResponse(answer, status_code=status)

    async def batch(self, request: Request) -> Response:
        def make(data: dict[str, Any]) -> Any:
            self.batches[data["batch_id"]] = data["orders"]
            return {"batch_id": data["batch_id"], "accepted": len(data["orders"])}

        return await self._create(request, make)

    async def shipment(self, request: Request) -> Response:
        def make(data: dict[str, Any]) -> Any:
            number = f"SF{len(self.shipments) + 1:010d}"
            self.shipments[number] = data
            return {"tracking_number": number}

        return await self._create(request, make)

    async def produced(self, request: Request) -> Response:
        _, early = await self._first(request)
        if early is not None:
            return early
        batch_id = request.path_params["batch_id"]
        if batch_id not in self.batches:
            return JSONResponse({"error": "batch_not_found"}, status_code=404)
        return JSONResponse(self.cards.get(batch_id, {"cards": []}))


@pytest.fixture
async def partner() -> AsyncIterator[tuple[FakePartner, str]]:
    fake = FakePartner()
    app = Starlette(
        routes=[
            Route("/v1/batches", fake.batch, methods=["POST"]),
            Route("/v1/batches/{batch_id}/cards", fake.produced, methods=["GET"]),
            Route("/v1/shipments", fake.shipment, methods=["POST"]),
        ]
    )
    async with serving(app) as base:
        yield fake, base
        fake.release.set()


@pytest.fixture
async def centre(partner: tuple[FakePartner, str]) -> AsyncIterator[HttpProductionCentre]:
    adapter = HttpProductionCentre(url=partner[1], key_id=KEY_ID, secret=SECRET, timeout=0.5, attempts=3)
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def courier(partner: tuple[FakePartner, str]) -> AsyncIterator[HttpCourier]:
    adapter = HttpCourier(url=partner[1], key_id=KEY_ID, secret=SECRET, timeout=0.5, attempts=3)
    yield adapter
    await adapter.aclose()


def assert_nothing_personal(error: BaseException) -> None:
    while error is not None:
        for said in (str(error), repr(error)):
            for value in (NAME, ID_NUMBER, ID_NUMBER[:17], ADDRESS, PHONE, PHONE[3:]):
                assert value not in said
        error = error.__cause__ or error.__context__  # type: ignore[assignment]


# --- production ----------------------------------------------------------------------


async def test_a_batch_is_submitted_signed_with_its_idempotency_key(
    partner: tuple[FakePartner, str], centre: HttpProductionCentre
) -> None:
    fake, _ = partner
    await centre.submit("batch-1", [ORDER])
    [(path, headers, body)] = fake.seen
    assert (path, headers["idempotency-key"], headers["content-type"]) == (
        "/v1/batches",
        "batch-1",
        "application/json",
    )
    assert json.loads(body) == {
        "batch_id": "batch-1",
        "orders": [
            {
                "application_id": "app-1",
                "kind": "id_card_lost",
                "city_code": "zhengzhou",
                "id_number": ID_NUMBER,
                "name": NAME,
                "gender": "male",
                "birth_date": "1985-03-12",
                "household_address": ADDRESS,
            }
        ],
    }
    assert NAME.encode() in body  # UTF-8 as itself, not \\u escapes: what is signed is what travels
    fake.cards["batch-1"] = {
        "cards": [
            {
                "application_id": "app-1",
                "card_number": "ZZ2030010700042",
                "issued_on": "2030-01-07",
                "expires_on": "2050-01-07",
            }
        ]
    }
    assert await centre.produced("batch-1") == [
        ProducedCard("app-1", "ZZ2030010700042", dt.date(2030, 1, 7), dt.date(2050, 1, 7))
    ]
    assert await centre.produced("unknown-batch") == []  # 404: nothing made; submit it again


async def test_a_retry_after_a_timeout_never_produces_twice(
    partner: tuple[FakePartner, str], centre: HttpProductionCentre
) -> None:
    fake, _ = partner
    fake.slow, fake.delay = 1, 5.0  # takes the batch, answers too late
    await centre.submit("batch-1", [ORDER])  # our retry, same key: the first answer
    assert len(fake.seen) == 2 and {h["idempotency-key"] for _, h, _ in fake.seen} == {"batch-1"}
    assert fake.seen[0][2] == fake.seen[1][2]  # the same bytes
    assert list(fake.batches) == ["batch-1"]

    fake.slow = 3  # every attempt times out: the caller learns to try later …
    with pytest.raises(ExternalUnavailable, match="timeout") as unavailable:
        await centre.submit("batch-2", [ORDER])
    assert_nothing_personal(unavailable.value)
    await centre.submit("batch-2", [ORDER])  # … and its later retry makes nothing twice
    assert list(fake.batches) == ["batch-1", "batch-2"]


async def test_server_errors_are_unavailable_and_retried(
    partner: tuple[FakePartner, str], centre: HttpProductionCentre
) -> None:
    fake, _ = partner
    fake.script = [(503, {"error": "busy"}), (500, None)]
    await centre.submit("batch-1", [ORDER])  # the third attempt passes
    assert len(fake.seen) == 3 and list(fake.batches) == ["batch-1"]
    fake.script = [(502, {}), (503, {"error": "maintenance"}), (429, {})]
    with pytest.raises(ExternalUnavailable) as unavailable:
        await centre.submit("batch-2", [ORDER])
    assert str(unavailable.value) == "card_production: HTTP 429"
    fake.script = [(503, {})] * 3
    with pytest.raises(ExternalUnavailable):
        await centre.produced("batch-1")


@pytest.mark.parametrize(
    ("status", "answer", "code"),
    [
        (400, {"error": "invalid_order"}, "invalid_order"),
        (422, {"error": "id_number_invalid"}, "id_number_invalid"),
        (422, {"error": f"bad {ID_NUMBER}"}, ""),  # an echo of personal data is not quoted
        (422, {"error": f"id{ID_NUMBER}"}, ""),
        (403, None, ""),
        (409, {"error": "idempotency_key_reused"}, "idempotency_key_reused"),
    ],
)
async def test_a_refusal_is_a_clear_error_without_personal_data(
    partner: tuple[FakePartner, str], centre: HttpProductionCentre, status: int, answer: Any, code: str
) -> None:
    fake, _ = partner
    fake.script = [(status, answer)]
    with pytest.raises(PartnerRefused) as refused:
        await centre.submit("batch-1", [ORDER])
    assert (refused.value.status, refused.value.code, refused.value.partner) == (
        status,
        code,
        "card_production",
    )
    assert str(refused.value) == f"card_production: HTTP {status}" + (f" {code}" if code else "")
    assert len(fake.seen) == 1  # not retried: it cannot pass
    assert_nothing_personal(refused.value)


async def test_a_wrong_secret_is_refused_by_the_partner(partner: tuple[FakePartner, str]) -> None:
    adapter = HttpProductionCentre(url=partner[1], key_id=KEY_ID, secret=b"another-secret", timeout=0.5)
    try:
        with pytest.raises(PartnerRefused) as refused:
            await adapter.submit("batch-1", [ORDER])
    finally:
        await adapter.aclose()
    assert (refused.value.status, refused.value.code) == (401, "bad_signature")
    assert partner[0].batches == {}


@pytest.mark.parametrize(
    "answer",
    [
        b"not json",
        {"cards": "none"},
        {"cards": [{"application_id": "app-1"}]},
        {
            "cards": [
                {
                    "application_id": "app-1",
                    "card_number": "ZZ 1",
                    "issued_on": "2030-01-07",
                    "expires_on": "2050-01-07",
                }
            ]
        },
        {
            "cards": [
                {
                    "application_id": "app-1",
                    "card_number": "ZZ1",
                    "issued_on": "2030-01-07",
                    "expires_on": "2030-01-07",
                }
            ]
        },
        {
            "cards": [
                {
                    "application_id": "app-1",
                    "card_number": "ZZ1",
                    "issued_on": "soon",
                    "expires_on": "2050-01-07",
                }
            ]
        },
        {"cards": [7]},
    ],
)
async def test_a_malformed_answer_is_unavailable_not_a_crash(
    partner: tuple[FakePartner, str], centre: HttpProductionCentre, answer: Any
) -> None:
    fake, _ = partner
    await centre.submit("batch-1", [ORDER])
    fake.cards["batch-1"] = answer if not isinstance(answer, bytes) else None
    if isinstance(answer, bytes):
        fake.script = [(200, None)]  # JSON null: no cards list
    with pytest.raises(ExternalUnavailable, match="malformed"):
        await centre.produced("batch-1")


async def test_a_partner_that_is_not_there_is_unavailable() -> None:
    app = Starlette()
    async with serving(app) as base:
        url = base  # free a moment ago, closed now
    adapter = HttpProductionCentre(url=url, key_id=KEY_ID, secret=SECRET, timeout=0.5, attempts=2)
    try:
        with pytest.raises(ExternalUnavailable, match="connection failed"):
            await adapter.submit("batch-1", [ORDER])
    finally:
        await adapter.aclose()
    with pytest.raises(ValueError, match="http"):
        HttpProductionCentre(url="ftp://centre.example", key_id=KEY_ID, secret=SECRET)


# --- courier -------------------------------------------------------------------------


async def test_a_shipment_is_booked_once_per_application(
    partner: tuple[FakePartner, str], courier: HttpCourier
) -> None:
    fake, _ = partner
    number = await courier.book(SHIPMENT)
    assert await courier.book(SHIPMENT) == number == "SF0000000001"
    assert len(fake.shipments) == 1
    path, headers, body = fake.seen[0]
    assert (path, headers["idempotency-key"]) == ("/v1/shipments", "app-1")
    assert json.loads(body) == {
        "reference": "app-1",
        "recipient": NAME,
        "phone": PHONE,
        "address": ADDRESS,
        "city_code": "zhengzhou",
    }


async def test_a_booking_retried_after_a_timeout_never_ships_twice(
    partner: tuple[FakePartner, str], courier: HttpCourier
) -> None:
    fake, _ = partner
    fake.slow, fake.delay = 1, 5.0
    number = await courier.book(SHIPMENT)
    assert len(fake.seen) == 2 and len(fake.shipments) == 1
    fake.slow = 3
    other = Shipment("app-2", NAME, PHONE, ADDRESS, "zhengzhou")
    with pytest.raises(ExternalUnavailable, match="timeout"):
        await courier.book(other)
    second = await courier.book(other)
    assert len(fake.shipments) == 2 and second != number


async def test_courier_errors(partner: tuple[FakePartner, str], courier: HttpCourier) -> None:
    fake, _ = partner
    fake.script = [(500, {})] * 3
    with pytest.raises(ExternalUnavailable) as unavailable:
        await courier.book(SHIPMENT)
    assert str(unavailable.value) == "courier: HTTP 500"
    fake.script = [(422, {"error": "address_not_served"})]
    with pytest.raises(PartnerRefused) as refused:
        await courier.book(SHIPMENT)
    assert (refused.value.status, refused.value.code) == (422, "address_not_served")
    fake.script = [(422, {"error": PHONE[3:]})]
    with pytest.raises(PartnerRefused) as echoed:
        await courier.book(SHIPMENT)
    assert echoed.value.code == "" and PHONE[3:] not in str(echoed.value)
    malformed: list[Any] = [{"tracking_number": ""}, {"tracking_number": "SF 1"}, {"id": "x"}, []]
    for answer in malformed:
        fake.script = [(201, answer)]
        with pytest.raises(ExternalUnavailable, match="malformed"):
            await courier.book(SHIPMENT)
    assert fake.shipments == {}
