"""Online pre-applications: the citizen's forms, answers and documents, and the
reviewers' queue and decisions.

Thin on purpose: the booking service checks ownership (another citizen's
pre-application or document is 404), the reviewer's city, the form, the state
machine and each document's type (sniffed from its bytes, never its name)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from gateway.deps import AnonymousCall, Services, SignedIn, Staff, staff
from gateway.language import Language, pick
from gateway.problems import declare
from gateway.schemas import Stored
from mintong.booking.v1 import preapplications_pb2 as pb

#: Where documents are uploaded: its own body limit (middleware.BodyLimit).
UPLOAD_PATH = re.compile(r"^/v1/pre-applications/[^/]+/attachments$")

_REFUSALS = {
    400: [
        "invalid_answer",
        "unknown_answer",
        "answers_required",
        "attachment_empty",
        "note_required",
        "reason_required",
        "decision_required",
    ],
    403: ["reviewer_without_city"],
    404: ["pre_application_not_found", "attachment_not_found", "business_not_found"],
    409: ["pre_application_state", "pre_application_changed", "too_many_attachments"],
    422: [
        "pre_application_not_needed",
        "answer_required",
        "attachments_required",
        "attachment_type_not_allowed",
        "attachment_too_large",
    ],
}
router = APIRouter(tags=["pre-applications"], responses=declare(_REFUSALS))
staff_router = APIRouter(prefix="/staff", tags=["pre-application review"], responses=declare(_REFUSALS))

Id = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$", description="A pre-application id.")]
AttachmentId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$", description="A document id.")]
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
CodePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]

Status = Literal["draft", "submitted", "more_material_needed", "approved", "rejected"]
_STATUS: dict[pb.PreApplicationStatus, Status] = {
    pb.PRE_APPLICATION_STATUS_DRAFT: "draft",
    pb.PRE_APPLICATION_STATUS_SUBMITTED: "submitted",
    pb.PRE_APPLICATION_STATUS_MORE_MATERIAL_NEEDED: "more_material_needed",
    pb.PRE_APPLICATION_STATUS_APPROVED: "approved",
    pb.PRE_APPLICATION_STATUS_REJECTED: "rejected",
}
_STATUS_PROTO = {v: k for k, v in _STATUS.items()}
FieldType = Literal["text", "long_text", "date", "number", "choice"]
_TYPE: dict[pb.FieldType, FieldType] = {
    pb.FIELD_TYPE_TEXT: "text",
    pb.FIELD_TYPE_LONG_TEXT: "long_text",
    pb.FIELD_TYPE_DATE: "date",
    pb.FIELD_TYPE_NUMBER: "number",
    pb.FIELD_TYPE_CHOICE: "choice",
}
#: What a document may be; the booking service tells it from the bytes.
DOCUMENT_TYPES = ("image/jpeg", "image/png", "application/pdf")


def _at(value: object) -> dt.datetime:
    return value.ToDatetime(dt.UTC)  # type: ignore[attr-defined]


class FormChoice(BaseModel):
    code: str
    label: str


class FormField(BaseModel):
    key: str = Field(description="The key of its answer in `answers`.")
    type: FieldType = Field(
        description="text, long_text (several lines), date (YYYY-MM-DD), number, or choice (of `choices`)."
    )
    label: str
    required: bool = Field(description="Needed before submitting.")
    choices: list[FormChoice]
    help: str
    max_length: int


class Form(BaseModel):
    """What the pre-application of a business asks; who the applicant is (name, ID
    number) comes from the register and is never asked. Texts in the language of
    Accept-Language."""

    city: str
    business: str
    business_name: str
    fields: list[FormField]
    min_attachments: int = Field(description="Documents a submission needs at least.")
    attachments_help: str

    @classmethod
    def of(cls, f: pb.Form, language: str) -> Form:
        return cls(
            city=f.city_code,
            business=f.business_code,
            business_name=pick(language, f.business_name, f.business_name_en),
            fields=[
                FormField(
                    key=x.key,
                    type=_TYPE[x.type],
                    label=pick(language, x.label, x.label_en),
                    required=x.required,
                    choices=[
                        FormChoice(code=c.code, label=pick(language, c.label, c.label_en)) for c in x.choices
                    ],
                    help=pick(language, x.help, x.help_en),
                    max_length=x.max_length,
                )
                for x in f.fields
            ],
            min_attachments=f.min_attachments,
            attachments_help=pick(language, f.attachments_help, f.attachments_help_en),
        )


class Attachment(BaseModel):
    id: str
    media_type: str = Field(description="As told by the content: image/jpeg, image/png or application/pdf.")
    size: int
    label: str
    created_at: dt.datetime

    @classmethod
    def of(cls, a: pb.Attachment) -> Attachment:
        return cls(id=a.id, media_type=a.media_type, size=a.size, label=a.label, created_at=_at(a.created_at))


class StateChange(BaseModel):
    at: dt.datetime
    old_status: Status | None
    new_status: Status
    note: str
    actor: str | None = Field(default=None, description="Staff answers only: who made the change.")


class Entitlement(BaseModel):
    """What the approval issued: one booking of the business, until ``expires_at``.
    Book it with this pre-application's id as `pre_application_id`."""

    expires_at: dt.datetime
    booking_id: str | None = Field(description="The booking that used it; null while unused.")


class PreApplication(BaseModel):
    id: str
    city: str
    business: str
    status: Status
    answers: dict[str, str]
    note: str = Field(description="The last explanation: a rejection's reason, the material needed, a note.")
    created_at: dt.datetime
    changed_at: dt.datetime
    submitted_at: dt.datetime | None
    attachments: list[Attachment]
    history: list[StateChange]
    entitlement: Entitlement | None
    citizen_id: str | None = Field(default=None, description="Staff answers only.")

    @classmethod
    def of(cls, p: pb.PreApplication) -> PreApplication:
        return cls(
            id=p.id,
            city=p.city_code,
            business=p.business_code,
            status=_STATUS[p.status],
            answers=dict(p.answers),
            note=p.note,
            created_at=_at(p.created_at),
            changed_at=_at(p.changed_at),
            submitted_at=_at(p.submitted_at) if p.HasField("submitted_at") else None,
            attachments=[Attachment.of(a) for a in p.attachments],
            history=[
                StateChange(
                    at=_at(h.at),
                    old_status=_STATUS.get(h.old_status),
                    new_status=_STATUS[h.new_status],
                    note=h.note,
                    actor=h.actor or None,
                )
                for h in p.history
            ],
            entitlement=Entitlement(
                expires_at=_at(p.entitlement.expires_at), booking_id=p.entitlement.booking_id or None
            )
            if p.HasField("entitlement")
            else None,
            citizen_id=p.citizen_id or None,
        )


class PreApplications(BaseModel):
    pre_applications: list[PreApplication]


class NewPreApplication(BaseModel):
    city: Code
    business: Code = Field(
        description="A business that requires a pre-application, e.g. HOUSEHOLD_REGISTRATION."
    )


#: An answer: the form's max_length and type decide (the booking service checks).
Answer = Annotated[str, Stored(4000, multiline=True)]


class Answers(BaseModel):
    answers: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")], Answer] = Field(
        min_length=1,
        max_length=100,
        description='Answers by field key; "" clears one.',
        # Keys are field keys, nothing else (patternProperties alone admits any).
        json_schema_extra={"additionalProperties": False},
    )


# the citizen's side


@router.get(
    "/cities/{city}/businesses/{business}/pre-application-form",
    response_model=Form,
    summary="The form of a business's online pre-application",
)
async def get_form(
    city: CodePath, business: CodePath, call: AnonymousCall, services: Services, language: Language
) -> Form:
    answer = await services.pre_applications.GetForm(
        pb.GetFormRequest(city_code=city, business_code=business), **call.options
    )
    return Form.of(answer.form, language)


@router.post(
    "/pre-applications",
    response_model=PreApplication,
    status_code=201,
    summary="Start a pre-application (a draft) for a business that requires one",
)
async def create(body: NewPreApplication, citizen: SignedIn, services: Services) -> PreApplication:
    answer = await services.pre_applications.CreatePreApplication(
        pb.CreatePreApplicationRequest(city_code=body.city, business_code=body.business),
        **citizen.call.options,
    )
    return PreApplication.of(answer.pre_application)


@router.get("/pre-applications", response_model=PreApplications, summary="My pre-applications, newest first")
async def list_own(citizen: SignedIn, services: Services) -> PreApplications:
    answer = await services.pre_applications.ListPreApplications(
        pb.ListPreApplicationsRequest(), **citizen.call.options
    )
    return PreApplications(pre_applications=[PreApplication.of(p) for p in answer.pre_applications])


@router.get("/pre-applications/{pre_application_id}", response_model=PreApplication, summary="One of mine")
async def get_own(pre_application_id: Id, citizen: SignedIn, services: Services) -> PreApplication:
    answer = await services.pre_applications.GetPreApplication(
        pb.GetPreApplicationRequest(pre_application_id=pre_application_id), **citizen.call.options
    )
    return PreApplication.of(answer.pre_application)


@router.patch(
    "/pre-applications/{pre_application_id}",
    response_model=PreApplication,
    summary="Answer the form (while a draft, or when more material is asked for)",
)
async def fill(
    pre_application_id: Id, body: Answers, citizen: SignedIn, services: Services
) -> PreApplication:
    answer = await services.pre_applications.UpdateAnswers(
        pb.UpdateAnswersRequest(pre_application_id=pre_application_id, answers=body.answers),
        **citizen.call.options,
    )
    return PreApplication.of(answer.pre_application)


@router.post(
    "/pre-applications/{pre_application_id}/attachments",
    response_model=Attachment,
    status_code=201,
    summary="Attach a document: a photo (JPEG, PNG) or a PDF, sent as the raw body",
    description="The type is told by the content, not by Content-Type or a name; the size limit is "
    "MINTONG_ATTACHMENT_MAX_BYTES (413 `body_too_large` above it).",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in DOCUMENT_TYPES},
        }
    },
)
async def attach(
    pre_application_id: Id,
    request: Request,
    citizen: SignedIn,
    services: Services,
    label: Annotated[str, Query(description="What the document is, e.g. 户口簿首页."), Stored(200)] = "",
) -> Attachment:
    content = await request.body()  # at most the upload limit (middleware.BodyLimit)
    answer = await services.pre_applications.AddAttachment(
        pb.AddAttachmentRequest(pre_application_id=pre_application_id, content=content, label=label),
        **citizen.call.options,
    )
    return Attachment.of(answer.attachment)


def _document(attachment: pb.Attachment, content: bytes) -> Response:
    return Response(
        content,
        media_type=attachment.media_type,
        headers={
            # Personal data: never cached, never rendered as something else.
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'attachment; filename="{attachment.id}"',
        },
    )


_DOCUMENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The document",
        "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in DOCUMENT_TYPES},
    }
}


@router.get(
    "/pre-applications/{pre_application_id}/attachments/{attachment_id}",
    response_class=Response,
    responses=_DOCUMENT,
    summary="One of my documents",
)
async def get_own_document(
    pre_application_id: Id, attachment_id: AttachmentId, citizen: SignedIn, services: Services
) -> Response:
    answer = await services.pre_applications.GetAttachment(
        pb.GetAttachmentRequest(pre_application_id=pre_application_id, attachment_id=attachment_id),
        **citizen.call.options,
    )
    return _document(answer.attachment, answer.content)


@router.post(
    "/pre-applications/{pre_application_id}/submit",
    response_model=PreApplication,
    summary="Submit for review (again, after adding the material asked for)",
)
async def submit(pre_application_id: Id, citizen: SignedIn, services: Services) -> PreApplication:
    answer = await services.pre_applications.SubmitPreApplication(
        pb.SubmitPreApplicationRequest(pre_application_id=pre_application_id), **citizen.call.options
    )
    return PreApplication.of(answer.pre_application)


# the reviewers' side

Reviewer = Annotated[Staff, Depends(staff("reviewer", "administrator"))]


@staff_router.get(
    "/pre-applications",
    response_model=PreApplications,
    summary="The review queue of my city, oldest submission first",
)
async def queue(
    member: Reviewer,
    services: Services,
    business: Annotated[
        str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Only this business.")
    ] = None,
    status: Annotated[
        list[Status] | None, Query(description="Only these states (default: submitted).")
    ] = None,
) -> PreApplications:
    answer = await services.pre_application_review.ListQueue(
        pb.ListQueueRequest(business_code=business or "", statuses=[_STATUS_PROTO[s] for s in status or []]),
        **member.call.options,
    )
    return PreApplications(pre_applications=[PreApplication.of(p) for p in answer.pre_applications])


@staff_router.get(
    "/pre-applications/{pre_application_id}",
    response_model=PreApplication,
    summary="A pre-application to review",
)
async def review(pre_application_id: Id, member: Reviewer, services: Services) -> PreApplication:
    answer = await services.pre_application_review.GetForReview(
        pb.GetForReviewRequest(pre_application_id=pre_application_id), **member.call.options
    )
    return PreApplication.of(answer.pre_application)


@staff_router.get(
    "/pre-applications/{pre_application_id}/attachments/{attachment_id}",
    response_class=Response,
    responses=_DOCUMENT,
    summary="A document of a pre-application under review",
)
async def review_document(
    pre_application_id: Id, attachment_id: AttachmentId, member: Reviewer, services: Services
) -> Response:
    answer = await services.pre_application_review.GetAttachmentForReview(
        pb.GetAttachmentForReviewRequest(pre_application_id=pre_application_id, attachment_id=attachment_id),
        **member.call.options,
    )
    return _document(answer.attachment, answer.content)


class Note(BaseModel):
    note: Annotated[str, Stored(2000, multiline=True)] = Field(
        default="", description="To the citizen (optional on approval)."
    )


class Reason(BaseModel):
    reason: Annotated[str, Stored(2000, multiline=True, min_length=1)] = Field(
        description="Why, as the citizen is told."
    )


class MaterialNote(BaseModel):
    note: Annotated[str, Stored(2000, multiline=True, min_length=1)] = Field(
        description="What material is needed, as the citizen is told."
    )


async def _decide(
    services: Services, member: Staff, pre_application_id: str, decision: pb.Decision, note: str
) -> PreApplication:
    answer = await services.pre_application_review.Decide(
        pb.DecideRequest(pre_application_id=pre_application_id, decision=decision, note=note),
        **member.call.options,
    )
    return PreApplication.of(answer.pre_application)


@staff_router.post(
    "/pre-applications/{pre_application_id}/approve",
    response_model=PreApplication,
    summary="Approve: the citizen is told they can now book (a single-use entitlement)",
)
async def approve(pre_application_id: Id, body: Note, member: Reviewer, services: Services) -> PreApplication:
    return await _decide(services, member, pre_application_id, pb.DECISION_APPROVE, body.note)


@staff_router.post(
    "/pre-applications/{pre_application_id}/reject",
    response_model=PreApplication,
    summary="Reject, with the reason the citizen is told",
)
async def reject(
    pre_application_id: Id, body: Reason, member: Reviewer, services: Services
) -> PreApplication:
    return await _decide(services, member, pre_application_id, pb.DECISION_REJECT, body.reason)


@staff_router.post(
    "/pre-applications/{pre_application_id}/request-material",
    response_model=PreApplication,
    summary="Ask the citizen for more material; they add it and resubmit",
)
async def request_material(
    pre_application_id: Id, body: MaterialNote, member: Reviewer, services: Services
) -> PreApplication:
    return await _decide(services, member, pre_application_id, pb.DECISION_REQUEST_MATERIAL, body.note)
