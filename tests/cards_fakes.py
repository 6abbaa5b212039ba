"""Stand-ins for what the cards service talks to, shared by its integration and e2e
tests: identity's CardHolderService as a real gRPC server on port 0 (identity's own
implementation is built separately), booking's offices, the production centre and
the courier in memory (they record what they were asked)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc

from mintong.common.v1 import common_pb2
from mintong.identity.v1 import cardholders_pb2 as pb
from mintong.identity.v1 import cardholders_pb2_grpc as pb_grpc
from services.cards.service_layer.directory import WindowOffice
from services.cards.service_layer.ports import (
    ExternalUnavailable,
    ProducedCard,
    ProductionOrder,
    Shipment,
)


def date(d: dt.date) -> common_pb2.Date:
    return common_pb2.Date(year=d.year, month=d.month, day=d.day)


def holder(citizen_id: str, **changes: object) -> pb.CardHolder:
    values: dict[str, object] = {
        "citizen_id": citizen_id,
        "id_number": "460100199001011234",
        "name": "王小明",
        "gender": "male",
        "birth_date": date(dt.date(1990, 1, 1)),
        "phone": "+8613800138000",
        "city_code": "haikou",
        "household_address": "海南省海口市龙华区滨海大道1号",
        "photo_captured_on": date(dt.date(2027, 6, 1)),
        "fingerprint_on_file": True,
        "card_number": "460100199001011234",
        "card_issued_on": date(dt.date(2020, 1, 1)),
        "card_expires_on": date(dt.date(2040, 1, 1)),
        "card_status": "valid",
    }
    values.update(changes)
    return pb.CardHolder(**values)  # type: ignore[arg-type]


class FakeCardHolders(pb_grpc.CardHolderServiceServicer):
    """Identity's register as the cards service sees it, recording every call."""

    def __init__(self) -> None:
        self.holders: dict[str, pb.CardHolder] = {}
        self.reported_lost: Counter[str] = Counter()  # application id → calls
        self.new_cards: dict[str, str] = {}  # application id → card number
        self.record_calls: Counter[str] = Counter()
        self.down = False
        self.many_calls = 0  # GetCardHolders calls
        self.sessions: dict[str, tuple[str, str]] = {}  # live session → citizen, level

    async def _available(self, context: grpc.aio.ServicerContext) -> None:
        if self.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "down for the test")

    async def GetCardHolder(self, request, context):
        await self._available(context)
        if request.citizen_id not in self.holders:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such citizen")
        return pb.GetCardHolderResponse(holder=self.holders[request.citizen_id])

    async def GetCardHolders(self, request, context):
        await self._available(context)
        self.many_calls += 1
        return pb.GetCardHoldersResponse(
            holders=[self.holders[c] for c in request.citizen_ids if c in self.holders],
            sessions=[
                pb.SessionAssurance(
                    session_id=s, citizen_id=self.sessions[s][0], assurance_level=self.sessions[s][1]
                )
                for s in request.session_ids
                if s in self.sessions
            ],
        )

    async def ReportCardLost(self, request, context):
        await self._available(context)
        self.reported_lost[request.application_id] += 1
        self.holders[request.citizen_id].card_status = "reported_lost"
        return pb.ReportCardLostResponse(card_status="reported_lost")

    async def RecordNewCard(self, request, context):
        await self._available(context)
        self.record_calls[request.application_id] += 1
        self.new_cards[request.application_id] = request.card_number
        return pb.RecordNewCardResponse(card_status="valid")

    async def ReportCardsLost(self, request, context):
        changes = [await self.ReportCardLost(r, context) for r in request.reports]
        return pb.ReportCardsLostResponse(changes=[pb.CardChange(card_status=c.card_status) for c in changes])

    async def RecordNewCards(self, request, context):
        changes = [await self.RecordNewCard(c, context) for c in request.cards]
        return pb.RecordNewCardsResponse(changes=[pb.CardChange(card_status=c.card_status) for c in changes])


async def start_card_holders(fake: FakeCardHolders) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    pb_grpc.add_CardHolderServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


OFFICES = [
    WindowOffice(
        "hk-longhua-centre",
        "haikou",
        "龙华政务中心",
        "Longhua Centre",
        "龙华路1号",
        earliest_date=dt.date(2030, 1, 9),
    ),
    WindowOffice(
        "hk-meilan-centre",
        "haikou",
        "美兰政务中心",
        "Meilan Centre",
        "美兰路2号",
        earliest_date=dt.date(2030, 1, 8),
    ),
]


class FakeOffices:
    async def with_vacancy(self, city_code: str, business_code: str) -> Sequence[WindowOffice]:
        return sorted(
            (o for o in OFFICES if o.city_code == city_code), key=lambda o: o.earliest_date or dt.date.max
        )

    async def find(self, office_ids: Sequence[str]) -> Sequence[WindowOffice]:
        return [o for o in OFFICES if o.office_id in office_ids]

    async def describe(self, city_code: str, office_id: str) -> WindowOffice | None:
        return next((o for o in OFFICES if o.office_id == office_id), None)


@dataclass
class FakeProduction:
    """Makes a batch's cards once ``ready`` says so; ``fail_submits`` refuses that
    many submissions first (a timeout, a crash before the answer)."""

    ready: bool = True
    fail_submits: int = 0
    submits: Counter[str] = field(default_factory=Counter)
    orders: dict[str, list[ProductionOrder]] = field(default_factory=dict)

    async def submit(self, batch_id: str, orders: Sequence[ProductionOrder]) -> None:
        self.submits[batch_id] += 1
        if self.fail_submits:
            self.fail_submits -= 1
            raise ExternalUnavailable("centre busy")
        self.orders.setdefault(batch_id, list(orders))

    async def produced(self, batch_id: str) -> Sequence[ProducedCard]:
        if not self.ready:
            return []
        return [
            ProducedCard(o.application_id, f"NEW{i:015d}", dt.date(2030, 1, 7), dt.date(2040, 1, 7))
            for i, o in enumerate(self.orders.get(batch_id, []))
        ]


@dataclass
class FakeCourier:
    fail_bookings: int = 0
    bookings: Counter[str] = field(default_factory=Counter)
    shipments: dict[str, Shipment] = field(default_factory=dict)

    async def book(self, shipment: Shipment) -> str:
        self.bookings[shipment.application_id] += 1
        if self.fail_bookings:
            self.fail_bookings -= 1
            raise ExternalUnavailable("courier busy")
        tracking = "TN" + shipment.application_id[:8].upper()
        self.shipments[tracking] = shipment
        return tracking
