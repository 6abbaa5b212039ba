"""Card applications: eligibility, applying, the timeline, cancelling; staff review
and handover; the courier's signed status callbacks.

Thin on purpose: the cards service checks ownership (another citizen's application
is 404), eligibility, the life cycle and the callback's signature; the gateway
authenticates, passes the session's id (cards asks identity its assurance level with
the register's facts, in the one call it makes anyway) and translates JSON."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, Field

from gateway.deps import AnyStaff, ServiceCall, Services, SignedIn
from gateway.language import Language, pick
from gateway.problems import declare
from gateway.schemas import Stored
from mintong.cards.v1 import cards_pb2 as pb
from services.runtime.proto_values import date_of, hhmm

#: What the cards service answers on these routes (docs/architecture.md, "The map").
_REFUSALS = {
    400: [
        "invalid_phone",
        "invalid_delivery",
        "delivery_incomplete",
        "idempotency_key_required",
        "invalid_status",
        "office_or_city_required",
        "reason_required",
    ],
    404: ["application_not_found", "office_not_found", "citizen_not_found"],
    409: ["illegal_transition", "application_changed"],
    422: ["kind_not_offered", "delivery_not_offered", "idempotency_key_reused"],
}
router = APIRouter(tags=["card applications"], responses=declare(_REFUSALS))
staff_router = APIRouter(prefix="/staff", tags=["window staff"], responses=declare(_REFUSALS))
#: The courier's callbacks come from no citizen channel: they are signed instead.
callbacks = APIRouter(
    prefix="/callbacks",
    tags=["providers"],
    responses=declare(
        {
            400: ["invalid_courier_callback"],
            401: ["courier_signature_invalid"],
            404: ["tracking_number_not_found"],
            409: ["courier_event_replayed", "illegal_transition", "application_changed"],
        }
    ),
)

Id = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$", description="A card application id.")]
KindCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="e.g. id_card_lost")]
Status = Literal[
    "submitted",
    "checks_passed",
    "checks_failed",
    "approved",
    "rejected",
    "in_production",
    "produced",
    "shipped",
    "delivered",
    "delivery_failed",
    "returned",
    "ready_for_pickup",
    "collected",
    "cancelled",
]


class Reason(BaseModel):
    code: str = Field(description="e.g. capture_too_old, no_fingerprint, pending_application")
    message: str = Field(description="In the language of Accept-Language.")

    @classmethod
    def of(cls, r: pb.Reason, language: str) -> Reason:
        return cls(code=r.code, message=pick(language, r.message, r.message_en))


class KindInfo(BaseModel):
    code: str
    name: str
    fee_cents: int = Field(description="For display only, in fen.")
    materials: list[str]
    delivery_options: list[Literal["mail", "pickup"]]
    required_assurance: Literal["otp", "face"]


class AlternativeOffice(BaseModel):
    office_id: str
    name: str
    address: str
    earliest_date: dt.date | None = Field(
        description="The earliest day with a free place; None: none published."
    )
    earliest_start: str | None


class Eligibility(BaseModel):
    kind: KindInfo
    eligible: bool
    reasons: list[Reason] = Field(description="Every reason the citizen may not apply online.")
    window_business: str = Field(description="The booking business that takes this at a window.")
    alternatives: list[AlternativeOffice] = Field(
        description="When not eligible: offices taking the window business, earliest vacancy first."
    )


class DeliveryIn(BaseModel):
    method: Literal["mail", "pickup"]
    recipient: Annotated[str, Stored(50)] = Field(default="", description="Mail: who receives the card.")
    phone: Annotated[str, Stored(32)] = Field(default="", description="Mail: the recipient's phone.")
    address: Annotated[str, Stored(200)] = Field(default="", description="Mail: where to deliver.")
    office_id: Annotated[str, Stored(64)] = Field(default="", description="Pickup: the office to collect at.")


class ApplicationIn(BaseModel):
    kind: KindCode
    appearance_unchanged: bool = Field(
        default=False, description="The citizen declares their appearance has not changed significantly."
    )
    delivery: DeliveryIn


class DeliveryOut(BaseModel):
    method: str
    recipient_masked: str
    phone_masked: str
    address_masked: str
    office_id: str
    tracking_number: str


class Step(BaseModel):
    from_status: str | None
    to_status: Status
    at: dt.datetime
    reason: str
    actor: str


class Application(BaseModel):
    id: str
    kind: str
    status: Status
    city: str
    delivery: DeliveryOut
    reasons: list[Reason]
    needs_review: bool
    timeline: list[Step] = Field(description="Every move, oldest first, with when and why.")
    submitted_at: dt.datetime
    card_number_masked: str

    @classmethod
    def of(cls, a: pb.Application, language: str) -> Application:
        d = a.delivery
        return cls(
            id=a.id,
            kind=a.kind,
            status=a.status,  # type: ignore[arg-type]
            city=a.city_code,
            delivery=DeliveryOut(
                method=d.method,
                recipient_masked=d.recipient_masked,
                phone_masked=d.phone_masked,
                address_masked=d.address_masked,
                office_id=d.office_id,
                tracking_number=d.tracking_number,
            ),
            reasons=[Reason.of(r, language) for r in a.reasons],
            needs_review=a.needs_review,
            timeline=[
                Step(
                    from_status=t.from_status or None,
                    to_status=t.to_status,  # type: ignore[arg-type]
                    at=t.at.ToDatetime(dt.UTC),
                    reason=t.reason,
                    actor=t.actor,
                )
                for t in a.timeline
            ],
            submitted_at=a.submitted_at.ToDatetime(dt.UTC),
            card_number_masked=a.card_number_masked,
        )


class Applications(BaseModel):
    applications: list[Application]


IdempotencyKey = Annotated[
    Annotated[str, Stored(255, min_length=1)],
    Header(alias="Idempotency-Key", description="A new UUID per application; the same one when retrying."),
]


@router.get(
    "/card-applications/eligibility",
    response_model=Eligibility,
    summary="May I apply online for this kind? Every reason if not, and the windows instead",
)
async def eligibility(
    citizen: SignedIn,
    services: Services,
    language: Language,
    kind: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="e.g. id_card_lost")],
    appearance_unchanged: Annotated[
        bool, Query(description="The citizen declares their appearance has not changed.")
    ] = False,
) -> Eligibility:
    answer = await services.cards.GetEligibility(
        pb.GetEligibilityRequest(
            kind=kind, session_id=citizen.session_id, appearance_unchanged=appearance_unchanged
        ),
        **citizen.call.options,
    )
    return Eligibility(
        kind=_kind(answer.kind, language),
        eligible=answer.eligible,
        reasons=[Reason.of(r, language) for r in answer.reasons],
        window_business=answer.window_business_code,
        alternatives=[
            AlternativeOffice(
                office_id=o.office_id,
                name=pick(language, o.name, o.name_en),
                address=o.address,
                earliest_date=date_of(o.earliest_date) if o.HasField("earliest_date") else None,
                earliest_start=hhmm(o.earliest_start) if o.HasField("earliest_start") else None,
            )
            for o in answer.alternatives
        ],
    )


class Kinds(BaseModel):
    kinds: list[KindInfo]


def _kind(k: pb.KindInfo, language: str) -> KindInfo:
    return KindInfo(
        code=k.code,
        name=pick(language, k.name, k.name_en),
        fee_cents=k.fee_cents,
        materials=list(k.materials),
        delivery_options=list(k.delivery_options),  # type: ignore[arg-type]
        required_assurance=k.required_assurance,  # type: ignore[arg-type]
    )


@router.get(
    "/card-applications/kinds",
    response_model=Kinds,
    summary="The kinds of card application my city takes online (then ask the eligibility of one)",
)
async def kinds(citizen: SignedIn, services: Services, language: Language) -> Kinds:
    answer = await services.cards.ListKinds(pb.ListKindsRequest(), **citizen.call.options)
    return Kinds(kinds=[_kind(k, language) for k in answer.kinds])


@router.post(
    "/card-applications",
    response_model=Application,
    status_code=201,
    summary="Apply for a card (at most once per Idempotency-Key)",
    response_description="The application with its checks' outcome; a retry with the same key and body "
    "gets the first answer again, marked with the header Idempotent-Replayed: true.",
)
async def apply(
    body: ApplicationIn,
    idempotency_key: IdempotencyKey,
    citizen: SignedIn,
    services: Services,
    response: Response,
    language: Language,
) -> Application:
    d = body.delivery
    answer = await services.cards.Apply(
        pb.ApplyRequest(
            idempotency_key=idempotency_key,
            kind=body.kind,
            session_id=citizen.session_id,
            appearance_unchanged=body.appearance_unchanged,
            delivery=pb.Delivery(
                method=d.method,
                recipient=d.recipient,
                phone=d.phone,
                address=d.address,
                office_id=d.office_id,
            ),
        ),
        **citizen.call.options,
    )
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return Application.of(answer.application, language)


@router.get("/card-applications", response_model=Applications, summary="My card applications, newest first")
async def list_applications(citizen: SignedIn, services: Services, language: Language) -> Applications:
    answer = await services.cards.ListApplications(pb.ListApplicationsRequest(), **citizen.call.options)
    return Applications(applications=[Application.of(a, language) for a in answer.applications])


@router.get(
    "/card-applications/{application_id}", response_model=Application, summary="One of my applications"
)
async def get_application(
    application_id: Id, citizen: SignedIn, services: Services, language: Language
) -> Application:
    answer = await services.cards.GetApplication(
        pb.GetApplicationRequest(application_id=application_id), **citizen.call.options
    )
    return Application.of(answer.application, language)


class CancelIn(BaseModel):
    reason: Annotated[str, Stored(200)] = ""


@router.post(
    "/card-applications/{application_id}/cancel",
    response_model=Application,
    summary="Cancel my application (only before production begins)",
)
async def cancel(
    application_id: Id,
    citizen: SignedIn,
    services: Services,
    language: Language,
    body: CancelIn | None = None,
) -> Application:
    answer = await services.cards.Cancel(
        pb.CancelRequest(application_id=application_id, reason=body.reason if body else ""),
        **citizen.call.options,
    )
    return Application.of(answer.application, language)


# staff


@staff_router.get(
    "/card-applications",
    response_model=Applications,
    summary="Card applications of an office (a window clerk: their own) or of a city (reviewers)",
)
async def office_applications(
    member: AnyStaff,
    services: Services,
    language: Language,
    office_id: Annotated[str, Query(max_length=64)] = "",
    city: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[Status | None, Query()] = None,
) -> Applications:
    answer = await services.card_staff.ListOfficeApplications(
        pb.ListOfficeApplicationsRequest(office_id=office_id, city_code=city, status=status or ""),
        **member.call.options,
    )
    return Applications(applications=[Application.of(a, language) for a in answer.applications])


class Note(BaseModel):
    note: Annotated[str, Stored(200)] = ""


class Rejection(BaseModel):
    reason: Annotated[str, Stored(200, min_length=1)]


@staff_router.post(
    "/card-applications/{application_id}/approve",
    response_model=Application,
    summary="Approve an application whose checks need a human (reviewers)",
)
async def approve(
    application_id: Id, member: AnyStaff, services: Services, language: Language, body: Note | None = None
) -> Application:
    answer = await services.card_staff.ApproveApplication(
        pb.ApproveApplicationRequest(application_id=application_id, note=body.note if body else ""),
        **member.call.options,
    )
    return Application.of(answer.application, language)


@staff_router.post(
    "/card-applications/{application_id}/reject",
    response_model=Application,
    summary="Reject an application awaiting review, saying why (reviewers)",
)
async def reject(
    application_id: Id, body: Rejection, member: AnyStaff, services: Services, language: Language
) -> Application:
    answer = await services.card_staff.RejectApplication(
        pb.RejectApplicationRequest(application_id=application_id, reason=body.reason), **member.call.options
    )
    return Application.of(answer.application, language)


@staff_router.post(
    "/card-applications/{application_id}/collected",
    response_model=Application,
    summary="The citizen collected the card at the office",
)
async def collected(
    application_id: Id, member: AnyStaff, services: Services, language: Language
) -> Application:
    answer = await services.card_staff.MarkCollected(
        pb.MarkCollectedRequest(application_id=application_id), **member.call.options
    )
    return Application.of(answer.application, language)


# the courier


class CallbackRecorded(BaseModel):
    application_id: str
    status: Status


@callbacks.post(
    "/courier",
    response_model=CallbackRecorded,
    summary="A courier status callback, signed (docs/courier.md); a replayed event id is refused",
)
async def courier_callback(
    request: Request,
    call: ServiceCall,
    services: Services,
    timestamp: Annotated[str, Header(alias="X-Courier-Timestamp", max_length=32)] = "",
    signature: Annotated[str, Header(alias="X-Courier-Signature", max_length=200)] = "",
) -> CallbackRecorded:
    answer = await services.courier_callbacks.RecordCourierCallback(
        pb.RecordCourierCallbackRequest(timestamp=timestamp, signature=signature, body=await request.body()),
        **call.options,
    )
    return CallbackRecorded(application_id=answer.application_id, status=answer.status)


class CallbackAnswer(BaseModel):
    """One callback of a batch: recorded (``http_status`` 200, the application's new
    status) or refused (the HTTP status and error code it would have had alone)."""

    event_id: str = Field(description="Empty when the callback's signed body could not be read.")
    http_status: int
    application_id: str | None = Field(default=None, description="Absent when refused.")
    status: Status | None = Field(default=None, description="Absent when refused.")
    error: str | None = Field(
        default=None, description="Absent when recorded; e.g. courier_event_replayed (409)"
    )


class CallbacksRecorded(BaseModel):
    results: list[CallbackAnswer] = Field(description="One per callback sent, in the same order.")


@callbacks.post(
    "/courier/batch",
    response_model=CallbacksRecorded,
    # A refused callback's result has no application or status rather than nulls: a
    # client following the application id (Schemathesis's inferred links do) finds none.
    response_model_exclude_none=True,
    summary="Many courier status callbacks, each signed and answered on its own (docs/courier.md, Batches)",
    # The body goes to the cards service as it came (each item's signed bytes
    # untouched), so its shape is stated here rather than through a model.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["callbacks"],
                        "properties": {
                            "callbacks": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 500,
                                # No types or required fields within an item: each is
                                # checked and answered alone, a malformed one in its result.
                                "items": {
                                    "description": "One callback; answered in its own result.",
                                    "properties": {
                                        "timestamp": {"description": "a string: X-Courier-Timestamp"},
                                        "signature": {"description": "a string: X-Courier-Signature"},
                                        "body": {"description": "a string: the signed JSON, as text"},
                                    },
                                },
                            }
                        },
                    }
                }
            },
        }
    },
)
async def courier_callbacks(request: Request, call: ServiceCall, services: Services) -> CallbacksRecorded:
    answer = await services.courier_callbacks.RecordCourierCallbacks(
        pb.RecordCourierCallbacksRequest(body=await request.body()), **call.options
    )
    return CallbacksRecorded(
        results=[
            CallbackAnswer(event_id=r.event_id, http_status=r.problem.status, error=r.problem.code)
            if r.HasField("problem")
            else CallbackAnswer(
                event_id=r.event_id, http_status=200, application_id=r.application_id, status=r.status
            )
            for r in answer.results
        ]
    )
