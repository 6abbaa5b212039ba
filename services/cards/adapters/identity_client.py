"""Identity's register, asked over gRPC (CardHolderService): the card holder's
facts, reporting the old card lost, and recording a new card."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from mintong.identity.v1 import cardholders_pb2 as pb
from mintong.identity.v1 import cardholders_pb2_grpc as pb_grpc
from services.cards.domain.eligibility import Holder
from services.cards.service_layer.directory import HolderRecord
from services.runtime import context
from services.runtime.coalesce import Coalescer
from services.runtime.errors import Kind, NotFound, ProblemError
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


def _refusal(change: pb.CardChange) -> ProblemError | None:
    """The problem identity refused one change of a batch with, if any."""
    if not change.HasField("problem"):
        return None
    problem = change.problem
    field = problem.field_violations[0].field if problem.field_violations else None
    try:
        kind = Kind(problem.status)
    except ValueError:
        kind = Kind.CONFLICT
    return ProblemError(problem.code, problem.detail, field=field, title=problem.title or None, kind=kind)


@dataclass(frozen=True)
class _NewCard:
    citizen_id: str
    application_id: str
    card_number: str
    issued_on: dt.date
    expires_on: dt.date


class GrpcCardHolders:
    """Each call of the port is gathered with those made at the same time into one
    call to identity (``Coalescer``): applications submitted together are one
    GetCardHolders and one ReportCardsLost, a production batch's cards one
    RecordNewCards — each item answered on its own."""

    def __init__(self, target: str, timeout: float = 5.0) -> None:
        self.stub = LazyStub("identity", target, pb_grpc.CardHolderServiceStub)
        self.timeout = timeout
        self._holders: Coalescer[tuple[str, str], HolderRecord] = Coalescer(self._get_batch, MAX_HOLDERS)
        self._lost: Coalescer[tuple[str, str], None] = Coalescer(self._report_lost_batch, MAX_HOLDERS)
        self._new_cards: Coalescer[_NewCard, None] = Coalescer(self._record_batch, MAX_HOLDERS)

    def _options(self) -> dict[str, object]:
        # Cards asks for itself, whoever's call it is serving (a worker serves none).
        return {
            "metadata": ((context.CALLER_KEY, str(context.Caller.service("cards"))),),
            "timeout": self.timeout,
        }

    async def get(self, citizen_id: str, session_id: str = "") -> HolderRecord:
        return await self._holders((citizen_id, session_id))

    async def _get_batch(self, asked: list[tuple[str, str]]) -> list[HolderRecord | BaseException]:
        try:
            found, sessions = await self._fetch([c for c, _ in asked], [s for _, s in asked if s])
        except ProblemError as error:
            return [_copy(error) for _ in asked]
        answers: list[HolderRecord | BaseException] = []
        for citizen_id, session_id in asked:
            holder = found.get(citizen_id)
            session = sessions.get(session_id)
            if holder is None:
                answers.append(NotFound("citizen", citizen_id))
            elif not session_id:
                answers.append(holder)
            elif session is None or session.citizen_id != citizen_id:
                answers.append(_session_ended())
            else:
                answers.append(dataclasses.replace(holder, assurance=session.assurance_level))
        return answers

    async def get_many(self, citizen_ids: Sequence[str]) -> dict[str, HolderRecord]:
        return (await self._fetch(citizen_ids, ()))[0]

    async def _fetch(
        self, citizen_ids: Sequence[str], session_ids: Sequence[str]
    ) -> tuple[dict[str, HolderRecord], dict[str, pb.SessionAssurance]]:
        """The holders' facts and the live ones of the sessions, ≤ 500 of each a call."""
        found: dict[str, HolderRecord] = {}
        live: dict[str, pb.SessionAssurance] = {}
        wanted, sessions = sorted(set(citizen_ids)), sorted(set(session_ids))
        for start in range(0, max(len(wanted), len(sessions)), MAX_HOLDERS):
            try:
                answer = await self.stub.get().GetCardHolders(
                    pb.GetCardHoldersRequest(
                        citizen_ids=wanted[start : start + MAX_HOLDERS],
                        session_ids=sessions[start : start + MAX_HOLDERS],
                    ),
                    **self._options(),
                )
            except grpc.aio.AioRpcError as error:
                raise self.stub.unavailable(error) from error
            found.update((h.citizen_id, _record(h, h.citizen_id)) for h in answer.holders)
            live.update((s.session_id, s) for s in answer.sessions)
        return found, live

    async def report_lost(self, citizen_id: str, application_id: str) -> None:
        await self._lost((citizen_id, application_id))

    async def _report_lost_batch(self, reports: list[tuple[str, str]]) -> list[BaseException | None]:
        request = pb.ReportCardsLostRequest(
            reports=[pb.ReportCardLostRequest(citizen_id=c, application_id=a) for c, a in reports]
        )
        return await self._changes(self.stub.get().ReportCardsLost, request, len(reports))

    async def record_new_card(
        self, citizen_id: str, application_id: str, card_number: str, issued_on: dt.date, expires_on: dt.date
    ) -> None:
        await self._new_cards(_NewCard(citizen_id, application_id, card_number, issued_on, expires_on))

    async def _record_batch(self, cards: list[_NewCard]) -> list[BaseException | None]:
        request = pb.RecordNewCardsRequest(
            cards=[
                pb.RecordNewCardRequest(
                    citizen_id=c.citizen_id,
                    application_id=c.application_id,
                    card_number=c.card_number,
                    issued_on=date_to_proto(c.issued_on),
                    expires_on=date_to_proto(c.expires_on),
                )
                for c in cards
            ]
        )
        return await self._changes(self.stub.get().RecordNewCards, request, len(cards))

    async def _changes(self, rpc: Any, request: object, count: int) -> list[BaseException | None]:
        """Each change's refusal (None: made); identity not answering is every one's."""
        try:
            answer = await rpc(request, **self._options())
        except grpc.aio.AioRpcError as error:
            return [self.stub.unavailable(error) for _ in range(count)]
        return [_refusal(change) for change in answer.changes]


def _session_ended() -> ProblemError:
    """What the gateway's Authenticate answered for a session signed out or revoked."""
    return ProblemError(
        "session_ended",
        "This session has ended; sign in again.",
        field="Authorization",
        kind=Kind.UNAUTHENTICATED,
    )


def _copy(error: ProblemError) -> ProblemError:
    """A problem of its own for each caller (one raised in many tasks would share,
    and grow, one traceback)."""
    copy = ProblemError(error.code, error.detail, field=error.field, title=error.title, kind=error.kind)
    copy.retry_after = error.retry_after
    return copy
