"""``CardHolderService``: the register's facts and card changes, for the cards
service alone. The facts go in clear (names, ID number, addresses): no other
caller — not the gateway, not staff — may read them here, whatever it forwards."""

from __future__ import annotations

from mintong.identity.v1 import cardholders_pb2 as pb
from mintong.identity.v1 import cardholders_pb2_grpc as pb_grpc
from services.identity.domain.model import Resident
from services.identity.service_layer.cardholders import CardHolders, NewCard, Outcome
from services.runtime import context as calls
from services.runtime.context import Caller
from services.runtime.errors import Kind, ProblemError
from services.runtime.grpc_server import problem_proto
from services.runtime.proto_values import date_from_proto, date_to_proto

#: The one caller of this service.
CARDS = Caller.service("cards")


def _require_cards() -> Caller:
    me = calls.caller.get()
    if me != CARDS:
        raise ProblemError(
            "forbidden", "Only the cards service may use the register's card holders.", kind=Kind.FORBIDDEN
        )
    return me


def _holder(r: Resident) -> pb.CardHolder:
    return pb.CardHolder(
        citizen_id=r.citizen_id,
        id_number=r.id_number,
        name=r.name,
        gender=r.gender,
        birth_date=date_to_proto(r.birth_date),
        phone=r.phone,
        city_code=r.city_code,
        household_address=r.household_address,
        photo_captured_on=date_to_proto(r.photo_captured_on),
        fingerprint_on_file=r.fingerprint_on_file,
        card_number=r.card_number,
        card_issued_on=date_to_proto(r.card_issued_on),
        card_expires_on=date_to_proto(r.card_expires_on),
        card_status=r.card_status.value,
        residence_city_code=r.residence_city_code,
        residence_address=r.residence_address,
        residence_registered_on=date_to_proto(r.residence_registered_on),
    )


def _changes(outcomes: list[Outcome]) -> list[pb.CardChange]:
    return [
        pb.CardChange(problem=problem_proto(o))
        if isinstance(o, ProblemError)
        else pb.CardChange(card_status=o.value)
        for o in outcomes
    ]


def _new_card(request: pb.RecordNewCardRequest) -> NewCard:
    return NewCard(
        citizen_id=request.citizen_id,
        application_id=request.application_id,
        card_number=request.card_number,
        issued_on=date_from_proto(request.issued_on, "issued_on"),
        expires_on=date_from_proto(request.expires_on, "expires_on"),
    )


class CardHolderServicer(pb_grpc.CardHolderServiceServicer):
    def __init__(self, holders: CardHolders) -> None:
        self.holders = holders

    async def GetCardHolder(
        self, request: pb.GetCardHolderRequest, context: object
    ) -> pb.GetCardHolderResponse:
        _require_cards()
        return pb.GetCardHolderResponse(holder=_holder(await self.holders.holder(request.citizen_id)))

    async def GetCardHolders(
        self, request: pb.GetCardHoldersRequest, context: object
    ) -> pb.GetCardHoldersResponse:
        _require_cards()
        found, sessions = await self.holders.holders(list(request.citizen_ids), list(request.session_ids))
        return pb.GetCardHoldersResponse(
            holders=[_holder(r) for r in found],
            sessions=[
                pb.SessionAssurance(
                    session_id=s.session_id, citizen_id=s.citizen_id, assurance_level=s.level.value
                )
                for s in sessions
            ],
        )

    async def ReportCardLost(
        self, request: pb.ReportCardLostRequest, context: object
    ) -> pb.ReportCardLostResponse:
        me = _require_cards()
        status = await self.holders.report_lost(
            citizen_id=request.citizen_id, application_id=request.application_id, actor=str(me)
        )
        return pb.ReportCardLostResponse(card_status=status.value)

    async def RecordNewCard(
        self, request: pb.RecordNewCardRequest, context: object
    ) -> pb.RecordNewCardResponse:
        me = _require_cards()
        card = _new_card(request)
        status = await self.holders.record_new_card(
            citizen_id=card.citizen_id,
            application_id=card.application_id,
            card_number=card.card_number,
            issued_on=card.issued_on,
            expires_on=card.expires_on,
            actor=str(me),
        )
        return pb.RecordNewCardResponse(card_status=status.value)

    async def ReportCardsLost(
        self, request: pb.ReportCardsLostRequest, context: object
    ) -> pb.ReportCardsLostResponse:
        me = _require_cards()
        reports = [(r.citizen_id, r.application_id) for r in request.reports]
        return pb.ReportCardsLostResponse(
            changes=_changes(await self.holders.report_lost_many(reports, actor=str(me)))
        )

    async def RecordNewCards(
        self, request: pb.RecordNewCardsRequest, context: object
    ) -> pb.RecordNewCardsResponse:
        me = _require_cards()
        cards = [_new_card(c) for c in request.cards]
        return pb.RecordNewCardsResponse(
            changes=_changes(await self.holders.record_new_cards(cards, actor=str(me)))
        )
