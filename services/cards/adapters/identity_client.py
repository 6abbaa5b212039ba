"""Identity's register, asked over gRPC (CardHolderService): the card holder's
facts, reporting the old card lost, and recording a new card."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import grpc

from mintong.identity.v1 import cardholders_pb2 as pb
from mintong.identity.v1 import cardholders_pb2_grpc as pb_grpc
from services.cards.domain.eligibility import Holder
from services.cards.service_layer.directory import HolderRecord
from services.runtime import context
from services.runtime.errors import NotFound
from services.runtime.grpc_client import LazyStub
from services.runtime.proto_values import date_to_proto


def _date(value: object) -> dt.date | None:
    year, month, day = (getattr(value, f) for f in ("year", "month", "day"))
    return dt.date(year, month, day) if year else None


#: Identity's limit on the ids of one GetCardHolders call (``bounded_ids``).
MAX_HOLDERS = 500


def _record(h: pb.CardHolder, citizen_id: str) -> HolderRecord:
    return HolderRecord(
        facts=Holder(
            citizen_id=h.citizen_id or citizen_id,
            city_code=h.city_code,
            photo_captured_on=_date(h.photo_captured_on) if h.HasField("photo_captured_on") else None,
            fingerprint_on_file=h.fingerprint_on_file,
            card_status=h.card_status,
            card_expires_on=_date(h.card_expires_on) if h.HasField("card_expires_on") else None,
            residence_city_code=h.residence_city_code,
            residence_registered_on=(
                _date(h.residence_registered_on) if h.HasField("residence_registered_on") else None
            ),
        ),
        id_number=h.id_number,
        name=h.name,
        gender=h.gender,
        birth_date=_date(h.birth_date) if h.HasField("birth_date") else None,
        phone=h.phone,
        household_address=h.household_address,
    )


class GrpcCardHolders:
    def __init__(self, target: str, timeout: float = 5.0) -> None:
        self.stub = LazyStub("identity", target, pb_grpc.CardHolderServiceStub)
        self.timeout = timeout

    def _options(self) -> dict[str, object]:
        # Cards asks for itself, whoever's call it is serving (a worker serves none).
        return {
            "metadata": ((context.CALLER_KEY, str(context.Caller.service("cards"))),),
            "timeout": self.timeout,
        }

    async def get(self, citizen_id: str) -> HolderRecord:
        try:
            answer = await self.stub.get().GetCardHolder(
                pb.GetCardHolderRequest(citizen_id=citizen_id), **self._options()
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound("citizen", citizen_id) from None
            raise self.stub.unavailable(error) from error
        return _record(answer.holder, citizen_id)

    async def get_many(self, citizen_ids: Sequence[str]) -> dict[str, HolderRecord]:
        found: dict[str, HolderRecord] = {}
        wanted = sorted(set(citizen_ids))
        for start in range(0, len(wanted), MAX_HOLDERS):
            try:
                answer = await self.stub.get().GetCardHolders(
                    pb.GetCardHoldersRequest(citizen_ids=wanted[start : start + MAX_HOLDERS]),
                    **self._options(),
                )
            except grpc.aio.AioRpcError as error:
                raise self.stub.unavailable(error) from error
            found.update((h.citizen_id, _record(h, h.citizen_id)) for h in answer.holders)
        return found

    async def report_lost(self, citizen_id: str, application_id: str) -> None:
        try:
            await self.stub.get().ReportCardLost(
                pb.ReportCardLostRequest(citizen_id=citizen_id, application_id=application_id),
                **self._options(),
            )
        except grpc.aio.AioRpcError as error:
            raise self.stub.unavailable(error) from error

    async def record_new_card(
        self, citizen_id: str, application_id: str, card_number: str, issued_on: dt.date, expires_on: dt.date
    ) -> None:
        try:
            await self.stub.get().RecordNewCard(
                pb.RecordNewCardRequest(
                    citizen_id=citizen_id,
                    application_id=application_id,
                    card_number=card_number,
                    issued_on=date_to_proto(issued_on),
                    expires_on=date_to_proto(expires_on),
                ),
                **self._options(),
            )
        except grpc.aio.AioRpcError as error:
            raise self.stub.unavailable(error) from error
