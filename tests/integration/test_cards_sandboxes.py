"""The cards service's SANDBOX partners on one machine: the production centre makes
each card once (per application, whatever batch carries it), reports it produced
after its delay with a made-up number and an expiry by the holder's age, and
answers the same after a restart; the courier books once per application and, as a
worker, POSTs batches of signed callbacks (picked up, then delivered) to a real HTTP server
standing in for the gateway, which checks them with ``courier_signature.verify_batch`` —
retried while the gateway is down, never sent again once answered (a restart
included), and nothing personal written to either sandbox's file."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.cards.adapters import sandbox_courier, sandbox_production
from services.cards.adapters.courier_signature import BadCallback, verify_batch
from services.cards.adapters.partners import PartnerSettings, build_partners
from services.cards.adapters.sandbox_courier import SandboxCourier
from services.cards.adapters.sandbox_production import LONG_TERM, SandboxProductionCentre
from services.cards.service_layer.ports import CourierEvent, ExternalUnavailable, ProductionOrder, Shipment
from tests.conftest import FakeClock
from tests.integration.fake_http import serving

T0 = dt.datetime(2030, 1, 7, 8, 0, tzinfo=dt.UTC)
SECRET = b"courier-callback-test-secret"
NAME, ID_NUMBER, ADDRESS, PHONE = (
    "张伟",
    "410105198503121235",
    "河南省郑州市金水区经三路1号",
    "+8613800138001",
)


def order(
    application_id: str, birth_date: dt.date = dt.date(1985, 3, 12), kind: str = "id_card_lost"
) -> ProductionOrder:
    return ProductionOrder(
        application_id=application_id,
        kind=kind,
        city_code="zhengzhou",
        id_number=ID_NUMBER,
        name=NAME,
        gender="male",
        birth_date=birth_date,
        household_address=ADDRESS,
    )


def shipment(application_id: str) -> Shipment:
    return Shipment(
        application_id=application_id, recipient=NAME, phone=PHONE, address=ADDRESS, city_code="zhengzhou"
    )


def assert_nothing_personal(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for value in (NAME, ID_NUMBER, ID_NUMBER[:17], ADDRESS, PHONE, PHONE[3:], "1985-03-12"):
        assert value not in text


# --- the production centre ---------------------------------------------------------


async def test_a_batch_is_produced_after_its_delay_once_and_again_after_a_restart(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    centre = SandboxProductionCentre(delay=dt.timedelta(seconds=20), data_dir=tmp_path, clock=clock)
    await centre.submit("batch-1", [order("app-1"), order("app-2", dt.date(2020, 5, 1))])
    assert await centre.produced("batch-1") == []
    clock.now = T0 + dt.timedelta(seconds=19)
    assert await centre.produced("batch-1") == []
    clock.now = T0 + dt.timedelta(seconds=20)
    made = await centre.produced("batch-1")
    assert [(c.application_id, c.issued_on, c.expires_on) for c in made] == [
        ("app-1", dt.date(2030, 1, 7), dt.date(2050, 1, 7)),  # 44 years old: 20 years
        ("app-2", dt.date(2030, 1, 7), dt.date(2035, 1, 7)),  # 9 years old: 5 years
    ]
    assert made[0].card_number == sandbox_production.card_number("app-1") != made[1].card_number
    assert made[0].card_number.startswith("SB") and len(made[0].card_number) == 18
    assert await centre.produced("batch-1") == made  # asking again answers the same

    # A retry of the batch, and the same card in another batch, make nothing twice.
    clock.now = T0 + dt.timedelta(days=3)
    await centre.submit("batch-1", [order("app-1"), order("app-2", dt.date(2020, 5, 1))])
    await centre.submit("batch-2", [order("app-2", dt.date(2020, 5, 1)), order("app-3")])
    assert await centre.produced("batch-1") == made
    assert [c.application_id for c in await centre.produced("batch-2")] == ["app-2"]  # app-3 not ready
    assert (await centre.produced("batch-2"))[0] == made[1]
    assert await centre.produced("never-submitted") == []
    assert list(centre.orders) == ["batch-1", "batch-2"]

    # After a restart the centre answers as before, from its file, which holds no
    # personal data.
    again = SandboxProductionCentre(delay=dt.timedelta(seconds=20), data_dir=tmp_path, clock=clock)
    assert await again.produced("batch-1") == made
    clock.now = T0 + dt.timedelta(days=3, seconds=20)
    assert [c.application_id for c in await again.produced("batch-2")] == ["app-2", "app-3"]
    assert_nothing_personal(tmp_path / sandbox_production.FILE)


@pytest.mark.parametrize(
    ("birth_date", "kind", "expires_on"),
    [
        (dt.date(2014, 1, 8), "id_card_lost", dt.date(2035, 1, 7)),  # 15 the day of issue
        (dt.date(2014, 1, 7), "id_card_lost", dt.date(2040, 1, 7)),  # 16 that day
        (dt.date(2004, 1, 8), "id_card_renewal", dt.date(2040, 1, 7)),  # 25
        (dt.date(2004, 1, 7), "id_card_renewal", dt.date(2050, 1, 7)),  # 26
        (dt.date(1984, 1, 8), "id_card_damaged", dt.date(2050, 1, 7)),  # 45
        (dt.date(1984, 1, 7), "id_card_damaged", LONG_TERM),  # 46: long-term
        (dt.date(1950, 1, 1), "residence_permit", dt.date(2040, 1, 7)),  # permits: 10 years
    ],
)
async def test_validity_follows_the_holders_age_on_the_day_of_issue(
    birth_date: dt.date, kind: str, expires_on: dt.date
) -> None:
    centre = SandboxProductionCentre(delay=dt.timedelta(0), clock=FakeClock(T0))
    await centre.submit("b", [order("a", birth_date, kind)])
    [card] = await centre.produced("b")
    assert (card.issued_on, card.expires_on) == (dt.date(2030, 1, 7), expires_on)


def test_a_card_issued_on_29_february_expires_on_28_february() -> None:
    assert sandbox_production.expiry(dt.date(2032, 2, 29), 10) == dt.date(2042, 2, 28)


async def test_an_unavailable_centre_says_so() -> None:
    centre = SandboxProductionCentre(delay=dt.timedelta(0))
    centre.unavailable = True
    with pytest.raises(ExternalUnavailable):
        await centre.submit("b", [order("a")])
    with pytest.raises(ExternalUnavailable):
        await centre.produced("b")
    centre.unavailable = False
    await centre.submit("b", [order("a")])
    assert len(await centre.produced("b")) == 1


# --- the courier -------------------------------------------------------------------


@dataclass
class FakeGateway:
    """The gateway's callback endpoint: verifies each callback as the real one must,
    refuses an event id seen before (409), and answers ``script`` statuses first."""

    clock: FakeClock
    script: list[int] = field(default_factory=list)
    events: list[CourierEvent] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    calls: int = 0
    delivered: asyncio.Event = field(default_factory=asyncio.Event)

    async def callback(self, request: Request) -> Response:
        """The batch route: each callback verified and answered on its own."""
        self.calls += 1
        if self.script:
            return JSONResponse({"error": "scripted"}, status_code=self.script.pop(0))
        results = []
        for found in verify_batch(SECRET, await request.body(), self.clock()):
            if isinstance(found, BadCallback):
                self.refused.append(found.field)
                results.append({"event_id": "", "http_status": 401, "error": "bad_callback"})
            elif any(e.event_id == found.event_id for e in self.events):
                results.append({"event_id": found.event_id, "http_status": 409, "error": "replayed"})
            else:
                self.events.append(found)
                if found.kind in ("delivered", "returned"):
                    self.delivered.set()
                results.append({"event_id": found.event_id, "http_status": 200})
        return JSONResponse({"results": results})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def gateway(clock: FakeClock) -> AsyncIterator[tuple[FakeGateway, str]]:
    fake = FakeGateway(clock)
    app = Starlette(routes=[Route("/v1/callbacks/courier/batch", fake.callback, methods=["POST"])])
    async with serving(app) as base:
        yield fake, f"{base}/v1/callbacks/courier"


def courier(
    url: str, clock: FakeClock, data_dir: Path | None = None, secret: bytes = SECRET
) -> SandboxCourier:
    return SandboxCourier(
        callback_url=url,
        secret=secret,
        step=dt.timedelta(seconds=10),
        data_dir=data_dir,
        clock=clock,
        poll=0.05,
    )


async def test_a_shipment_is_booked_once_and_reported_picked_up_then_delivered(
    gateway: tuple[FakeGateway, str], clock: FakeClock, tmp_path: Path
) -> None:
    fake, url = gateway
    sandbox = courier(url, clock, tmp_path)  # rounds by hand: the worker is not started
    try:
        number = await sandbox.book(shipment("app-1"))
        assert await sandbox.book(shipment("app-1")) == number == sandbox_courier.tracking_number("app-1")
        assert number != await sandbox.book(shipment("app-2"))
        assert sandbox.shipments["app-1"].recipient == NAME
        assert await sandbox.send_due() == 0  # nothing due before the first step
        clock.now = T0 + dt.timedelta(seconds=10)
        assert await sandbox.send_due() == 2
        clock.now = T0 + dt.timedelta(seconds=20)
        assert await sandbox.send_due() == 2
        clock.now = T0 + dt.timedelta(seconds=90)
        assert await sandbox.send_due() == 0  # all said
        assert sandbox.shipments == {}  # the personal data goes with the last callback
    finally:
        await sandbox.stop()
    mine = [e for e in fake.events if e.tracking_number == number]
    assert [(e.event_id, e.kind) for e in mine] == [
        (f"{number}:picked_up", "picked_up"),
        (f"{number}:delivered", "delivered"),
    ]
    assert mine[1].occurred_at == T0 + dt.timedelta(seconds=20)
    assert fake.refused == [] and fake.calls == 2  # the two parcels' callbacks in one batch a round
    assert_nothing_personal(tmp_path / sandbox_courier.FILE)


async def test_as_a_worker_it_delivers_on_its_own(gateway: tuple[FakeGateway, str], clock: FakeClock) -> None:
    fake, url = gateway
    sandbox = SandboxCourier(callback_url=url, secret=SECRET, step=dt.timedelta(0), clock=clock, poll=0.05)
    await sandbox.start()
    try:
        number = await sandbox.book(shipment("app-1"))
        await asyncio.wait_for(fake.delivered.wait(), 30)
    finally:
        await sandbox.stop()
    assert [(e.tracking_number, e.kind) for e in fake.events] == [
        (number, "picked_up"),
        (number, "delivered"),
    ]


async def test_a_gateway_that_fails_is_tried_again_and_a_replay_counts_as_answered(
    gateway: tuple[FakeGateway, str], clock: FakeClock
) -> None:
    fake, url = gateway
    sandbox = courier(url, clock)
    try:
        await sandbox.book(shipment("app-1"))
        clock.now = T0 + dt.timedelta(seconds=10)
        fake.script = [503, 500]  # retried within the round (tenacity), then taken
        assert await sandbox.send_due() == 1
        assert fake.calls == 3 and [e.kind for e in fake.events] == ["picked_up"]
        fake.script = [503] * 4  # every attempt of a round fails: left for the next round
        clock.now = T0 + dt.timedelta(seconds=20)
        assert await sandbox.send_due() == 0
        fake.script = [409]  # e.g. taken before, its answer lost: a replay, done
        assert await sandbox.send_due() == 1
        assert await sandbox.send_due() == 0
    finally:
        await sandbox.stop()
    assert [e.kind for e in fake.events] == ["picked_up"]
    assert [status for _, status in sandbox.sent] == [200, 409]


async def test_a_refused_callback_is_given_up(gateway: tuple[FakeGateway, str], clock: FakeClock) -> None:
    fake, url = gateway
    sandbox = courier(url, clock, secret=b"not-the-gateways-secret")
    try:
        await sandbox.book(shipment("app-1"))
        clock.now = T0 + dt.timedelta(seconds=10)
        assert await sandbox.send_due() == 1
        assert fake.refused == ["X-Courier-Signature"]
        assert await sandbox.send_due() == 0  # not sent again: it cannot pass
        clock.now = T0 + dt.timedelta(seconds=20)
        assert await sandbox.send_due() == 1  # the next step goes on (and is refused too)
    finally:
        await sandbox.stop()
    assert fake.events == [] and fake.calls == 2


async def test_an_unreachable_gateway_leaves_the_callback_for_later(clock: FakeClock) -> None:
    app = Starlette()
    async with serving(app) as base:  # a port that was free, then closed again
        url = f"{base}/v1/callbacks/courier"
    sandbox = courier(url, clock)
    sandbox.attempts = 2
    try:
        await sandbox.book(shipment("app-1"))
        clock.now = T0 + dt.timedelta(seconds=10)
        assert await sandbox.send_due() == 0
        assert not sandbox.sent
    finally:
        await sandbox.stop()


async def test_after_a_restart_nothing_answered_is_sent_again(
    gateway: tuple[FakeGateway, str], clock: FakeClock, tmp_path: Path
) -> None:
    fake, url = gateway
    first = courier(url, clock, tmp_path)
    number = await first.book(shipment("app-1"))
    clock.now = T0 + dt.timedelta(seconds=10)
    assert await first.send_due() == 1
    await first.stop()

    again = courier(url, clock, tmp_path)
    try:
        assert await again.book(shipment("app-1")) == number
        assert await again.send_due() == 0  # picked up was answered before the restart
        clock.now = T0 + dt.timedelta(seconds=20)  # the schedule runs from the first booking
        assert await again.send_due() == 1
    finally:
        await again.stop()
    assert [e.kind for e in fake.events] == ["picked_up", "delivered"] and fake.calls == 2


async def test_a_steered_shipment_fails_delivery_and_returns(
    gateway: tuple[FakeGateway, str], clock: FakeClock
) -> None:
    fake, url = gateway
    sandbox = courier(url, clock)
    sandbox.steer("app-1", ["picked_up", "delivery_failed", "returned"])
    try:
        await sandbox.book(shipment("app-1"))
        for step in (1, 2, 3):
            clock.now = T0 + dt.timedelta(seconds=10 * step)
            assert await sandbox.send_due() == 1
    finally:
        await sandbox.stop()
    assert [e.kind for e in fake.events] == ["picked_up", "delivery_failed", "returned"]


async def test_an_unavailable_courier_says_so(clock: FakeClock) -> None:
    sandbox = courier("http://127.0.0.1:9/v1/callbacks/courier", clock)
    sandbox.unavailable = True
    with pytest.raises(ExternalUnavailable):
        await sandbox.book(shipment("app-1"))


# --- chosen by settings --------------------------------------------------------------


def test_settings_choose_the_sandboxes_in_dev_and_refuse_them_in_production(tmp_path: Path) -> None:
    settings = PartnerSettings(data_dir=tmp_path, http_port=18200)
    assert settings.sandboxes() == {"card_production", "courier"}
    partners = build_partners(settings)
    assert isinstance(partners.production, SandboxProductionCentre)
    assert isinstance(partners.courier, SandboxCourier) and partners.workers == [partners.courier]
    assert partners.courier.callback_url == "http://127.0.0.1:18200/v1/callbacks/courier"
    # The dev secret is the gateway's file of the same name: both verify alike.
    assert (
        tmp_path / "courier-callback-secret"
    ).read_text().strip().encode() == settings.courier_callback_key()
    with pytest.raises(ValueError, match="card_production, courier"):
        PartnerSettings(env="prod", courier_callback_secret=SecretStr("s" * 16))
    allowed = PartnerSettings(
        env="prod",
        allow_sandbox=frozenset({"card_production", "courier"}),
        courier_callback_secret=SecretStr("s" * 16),
    )
    assert allowed.courier_callback_key() == b"s" * 16
    with pytest.raises(ValueError, match="_URL, _KEY_ID and _SECRET"):
        PartnerSettings(cards_courier_provider="http")
    with pytest.raises(ValueError, match="at least 16"):
        PartnerSettings(courier_callback_secret=SecretStr("short"))


def test_the_sandbox_files_hold_json_lines(tmp_path: Path) -> None:
    # What a developer finds there: one JSON object a line (read back at start).
    (tmp_path / sandbox_courier.FILE).parent.mkdir(parents=True)
    (tmp_path / sandbox_courier.FILE).write_text(
        '{"booked":"app-9","at":"2030-01-07T08:00:00+00:00"}\nnot json\n'
    )
    sandbox = courier("http://127.0.0.1:9/x", FakeClock(T0), tmp_path)
    assert json.loads((tmp_path / sandbox_courier.FILE).read_text().splitlines()[0])["booked"] == "app-9"
    assert sandbox_courier.tracking_number("app-9") in sandbox._parcels


async def test_the_cards_host_runs_the_sandbox_courier_as_a_worker(
    gateway: tuple[FakeGateway, str], clock: FakeClock, tmp_path: Path, nats_server: Any
) -> None:
    from services.runtime.host import ServiceHost

    fake, url = gateway
    settings = PartnerSettings(
        data_dir=tmp_path,
        nats_url=nats_server.url,
        courier_callback_url=url,
        courier_callback_secret=SecretStr(SECRET.decode()),
        cards_sandbox_courier_seconds=0,
    )
    partners = build_partners(settings, clock=clock)
    host = ServiceHost("cards", settings, register=lambda server: None, service_names=[])
    host.workers.extend(partners.workers)
    await host.start(port=0)
    try:
        number = await partners.courier.book(shipment("app-1"))
        await asyncio.wait_for(fake.delivered.wait(), 30)
    finally:
        await host.stop()
    assert [(e.tracking_number, e.kind) for e in fake.events] == [
        (number, "picked_up"),
        (number, "delivered"),
    ]
