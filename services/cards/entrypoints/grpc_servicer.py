"""gRPC servicers of the cards service: proto ↔ domain, and who may call.

A citizen acts only on their own applications: the service layer looks them up by
(id, caller's citizen id), so anyone else's is NOT_FOUND whatever the gateway did.
Personal data leaves masked: the recipient's name, phone, address, card number."""

from __future__ import annotations

import hashlib

from mintong.cards.v1 import cards_pb2 as pb
from mintong.cards.v1 import cards_pb2_grpc as pb_grpc
from services.cards.adapters import courier_signature
from services.cards.domain.eligibility import Declaration
from services.cards.domain.kinds import KindDefinition
from services.cards.domain.lifecycle import Application, DeliveryDetails, Status
from services.cards.service_layer import applications
from services.cards.service_layer.applications import ApplyCommand, Cards
from services.cards.service_layer.ports import CourierEvent
from services.runtime.clock import Clock
from services.runtime.context import CallerKind, Role, require_role
from services.runtime.db import retry_transient
from services.runtime.errors import InvalidArgument, Kind, ProblemError
from services.runtime.grpc_server import problem_proto
from services.runtime.proto_values import date_to_proto, time_to_proto, timestamp_to_proto
from services.runtime.text import check_text

CITIZEN = CallerKind.CITIZEN


def mask_name(name: str) -> str:
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_phone(e164: str) -> str:
    national = e164[3:] if e164.startswith("+86") else e164.lstrip("+")
    return f"{national[:3]}****{national[-4:]}" if len(national) >= 7 else ("****" if e164 else "")


def mask_address(address: str) -> str:
    """The first characters (province, city: enough to recognise it), the rest hidden."""
    return address[:6] + "****" if address else ""


def mask_card(number: str) -> str:
    return f"{number[:2]}{'*' * max(len(number) - 6, 2)}{number[-4:]}" if number else ""


def to_proto(app: Application) -> pb.Application:
    d = app.delivery
    return pb.Application(
        id=app.id,
        kind=app.kind,
        status=app.status.value,
        city_code=app.city_code,
        delivery=pb.DeliveryView(
            method=d.method,
            recipient_masked=mask_name(d.recipient),
            phone_masked=mask_phone(d.phone),
            address_masked=mask_address(d.address),
            office_id=d.office_id,
            tracking_number=app.tracking_number,
        ),
        reasons=[pb.Reason(code=c, message=m, message_en=e) for c, m, e in app.reasons],
        needs_review=app.needs_review,
        timeline=[
            pb.Transition(
                from_status=s.from_status.value if s.from_status else "",
                to_status=s.to_status.value,
                at=timestamp_to_proto(s.at),
                reason=s.reason,
                actor=s.actor,
            )
            for s in app.timeline
        ],
        submitted_at=timestamp_to_proto(app.submitted_at),
        card_number_masked=mask_card(app.card_number),
    )


def _citizen() -> str:
    return require_role(CITIZEN).subject


def _declaration(assurance_level: str, appearance_unchanged: bool) -> Declaration:
    check_text(assurance_level, "assurance_level", max_length=16)
    return Declaration(assurance_level or "otp", appearance_unchanged)


def _id(value: str) -> str:
    value = check_text(value, "application_id", max_length=64)
    if not value:
        raise InvalidArgument("application_id_required", "Name the application.", field="application_id")
    return value


def _kind_info(k: KindDefinition) -> pb.KindInfo:
    return pb.KindInfo(
        code=k.code,
        name=k.name,
        name_en=k.name_en,
        fee_cents=k.fee_cents,
        materials=list(k.materials),
        delivery_options=[d.value for d in k.delivery_options],
        required_assurance=k.required_assurance,
    )


class CardApplicationServicer(pb_grpc.CardApplicationServiceServicer):
    def __init__(self, cards: Cards) -> None:
        self.cards = cards

    async def ListKinds(self, request: pb.ListKindsRequest, context) -> pb.ListKindsResponse:
        kinds = await applications.kinds_offered(self.cards, _citizen())
        return pb.ListKindsResponse(kinds=[_kind_info(k) for k in kinds])

    async def GetEligibility(self, request: pb.GetEligibilityRequest, context) -> pb.GetEligibilityResponse:
        citizen = _citizen()
        kind = check_text(request.kind, "kind", max_length=64)
        answer = await applications.check_eligibility(
            self.cards,
            citizen,
            kind,
            _declaration(request.assurance_level, request.appearance_unchanged),
            check_text(request.session_id, "session_id", max_length=64),
        )
        return pb.GetEligibilityResponse(
            kind=_kind_info(answer.kind),
            eligible=not answer.reasons,
            reasons=[
                pb.Reason(code=r.code, message=r.message, message_en=r.message_en) for r in answer.reasons
            ],
            window_business_code=answer.city.window_business_code,
            alternatives=[
                pb.AlternativeOffice(
                    office_id=o.office_id,
                    name=o.name,
                    name_en=o.name_en,
                    address=o.address,
                    earliest_date=date_to_proto(o.earliest_date) if o.earliest_date else None,
                    earliest_start=time_to_proto(o.earliest_start) if o.earliest_start else None,
                )
                for o in answer.alternatives
            ],
        )

    async def Apply(self, request: pb.ApplyRequest, context) -> pb.ApplyResponse:
        citizen = _citizen()
        unkeyed = pb.ApplyRequest()
        unkeyed.CopyFrom(request)
        unkeyed.idempotency_key = ""
        # The session's assurance may lapse between a request and its retry, and the
        # retry may come from another session: it is still the same request.
        unkeyed.assurance_level = ""
        unkeyed.session_id = ""
        d = request.delivery
        command = ApplyCommand(
            citizen_id=citizen,
            idempotency_key=request.idempotency_key,
            kind=request.kind,
            declaration=_declaration(request.assurance_level, request.appearance_unchanged),
            delivery=DeliveryDetails(d.method, d.recipient, d.phone, d.address, d.office_id),
            fingerprint=hashlib.sha256(unkeyed.SerializeToString(deterministic=True)).hexdigest(),
            session_id=check_text(request.session_id, "session_id", max_length=64),
        )
        app, replayed = await retry_transient(lambda: applications.apply(self.cards, command))
        return pb.ApplyResponse(application=to_proto(app), replayed=replayed)

    async def GetApplication(self, request: pb.GetApplicationRequest, context) -> pb.GetApplicationResponse:
        app = await applications.get(self.cards, _id(request.application_id), _citizen())
        return pb.GetApplicationResponse(application=to_proto(app))

    async def ListApplications(
        self, request: pb.ListApplicationsRequest, context
    ) -> pb.ListApplicationsResponse:
        apps = await applications.list_mine(self.cards, _citizen())
        return pb.ListApplicationsResponse(applications=[to_proto(a) for a in apps])

    async def Cancel(self, request: pb.CancelRequest, context) -> pb.CancelResponse:
        citizen = _citizen()
        app_id = _id(request.application_id)
        app = await retry_transient(lambda: applications.cancel(self.cards, app_id, citizen, request.reason))
        return pb.CancelResponse(application=to_proto(app))


REVIEWERS = (Role.REVIEWER, Role.ADMINISTRATOR)


class CardStaffServicer(pb_grpc.CardStaffServiceServicer):
    def __init__(self, cards: Cards) -> None:
        self.cards = cards

    async def ListOfficeApplications(
        self, request: pb.ListOfficeApplicationsRequest, context
    ) -> pb.ListOfficeApplicationsResponse:
        me = require_role(Role.WINDOW_CLERK, *REVIEWERS)
        office = check_text(request.office_id, "office_id", max_length=64)
        city = check_text(request.city_code, "city_code", max_length=64)
        status = check_text(request.status, "status", max_length=32) or None
        if status is not None and status not in {s.value for s in Status}:
            raise InvalidArgument("invalid_status", f"No status “{status}”.", field="status")
        if me.role is Role.WINDOW_CLERK:
            if (office and office != me.office) or city:
                raise ProblemError(
                    "wrong_office",
                    "A window clerk sees only their own office's applications.",
                    field="office_id",
                    kind=Kind.FORBIDDEN,
                )
            apps = await applications.list_for_office(self.cards, me.office, status)
        elif office:
            apps = await applications.list_for_office(self.cards, office, status)
        elif city:
            apps = await applications.list_for_city(self.cards, city, status)
        else:
            raise InvalidArgument("office_or_city_required", "Name an office or a city.", field="office_id")
        return pb.ListOfficeApplicationsResponse(applications=[to_proto(a) for a in apps])

    async def _move(self, app_id: str, new: Status, reason: str, *roles: Role) -> Application:
        me = require_role(*roles)
        clerk_office = me.office if me.role is Role.WINDOW_CLERK else None
        return await retry_transient(
            lambda: applications.staff_move(
                self.cards, _id(app_id), new, reason, str(me), office_of_clerk=clerk_office
            )
        )

    async def ApproveApplication(
        self, request: pb.ApproveApplicationRequest, context
    ) -> pb.ApproveApplicationResponse:
        app = await self._move(request.application_id, Status.APPROVED, request.note, *REVIEWERS)
        return pb.ApproveApplicationResponse(application=to_proto(app))

    async def RejectApplication(
        self, request: pb.RejectApplicationRequest, context
    ) -> pb.RejectApplicationResponse:
        if not request.reason.strip():
            raise InvalidArgument("reason_required", "Say why the application is rejected.", field="reason")
        app = await self._move(request.application_id, Status.REJECTED, request.reason, *REVIEWERS)
        return pb.RejectApplicationResponse(application=to_proto(app))

    async def MarkCollected(self, request: pb.MarkCollectedRequest, context) -> pb.MarkCollectedResponse:
        app = await self._move(
            request.application_id, Status.COLLECTED, "collected at the office", Role.WINDOW_CLERK, *REVIEWERS
        )
        return pb.MarkCollectedResponse(application=to_proto(app))


class CourierCallbackServicer(pb_grpc.CourierCallbackServiceServicer):
    """Only the gateway (or another service) hands callbacks over; the signature
    under the shared secret is what proves they come from the courier."""

    def __init__(self, cards: Cards, secret: bytes, clock: Clock) -> None:
        self.cards = cards
        self.secret = secret
        self.clock = clock

    async def RecordCourierCallback(
        self, request: pb.RecordCourierCallbackRequest, context
    ) -> pb.RecordCourierCallbackResponse:
        require_role(CallerKind.SERVICE)
        try:
            event = _checked(
                courier_signature.verify(
                    self.secret, request.timestamp, request.signature, request.body, self.clock()
                )
            )
        except courier_signature.BadCallback as bad:
            raise _refusal(bad) from None
        app = await retry_transient(lambda: applications.courier_event(self.cards, event))
        return pb.RecordCourierCallbackResponse(application_id=app.id, status=app.status.value)

    async def RecordCourierCallbacks(
        self, request: pb.RecordCourierCallbacksRequest, context
    ) -> pb.RecordCourierCallbacksResponse:
        require_role(CallerKind.SERVICE)
        try:
            verified = courier_signature.verify_batch(self.secret, request.body, self.clock())
        except courier_signature.BadCallback as bad:
            raise _refusal(bad) from None
        checked: list[CourierEvent | ProblemError] = []
        for found in verified:
            try:
                checked.append(_refusal(found) if isinstance(found, BaseException) else _checked(found))
            except ProblemError as refused:
                checked.append(refused)
        events = [c for c in checked if isinstance(c, CourierEvent)]
        recorded = iter(await retry_transient(lambda: applications.courier_events(self.cards, events)))
        results = []
        for item in checked:
            outcome = next(recorded) if isinstance(item, CourierEvent) else item
            result = pb.CourierCallbackResult(
                event_id=item.event_id if isinstance(item, CourierEvent) else ""
            )
            if isinstance(outcome, ProblemError):
                result.problem.CopyFrom(problem_proto(outcome))
            else:
                result.application_id, result.status = outcome.id, outcome.status.value
            results.append(result)
        return pb.RecordCourierCallbacksResponse(results=results)


def _refusal(bad: courier_signature.BadCallback) -> ProblemError:
    if bad.field.startswith("X-Courier"):
        return ProblemError(
            "courier_signature_invalid",
            f"{bad.field} {bad.reason}.",
            field=bad.field,
            kind=Kind.UNAUTHENTICATED,
        )
    return InvalidArgument("invalid_courier_callback", f"{bad.field} {bad.reason}.", field=bad.field)


def _checked(event: CourierEvent) -> CourierEvent:
    for name in ("event_id", "tracking_number", "detail"):
        check_text(getattr(event, name), name, max_length=200)
    return event
