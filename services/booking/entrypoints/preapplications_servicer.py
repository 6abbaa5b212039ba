"""gRPC servicers of pre-applications: proto ↔ domain, and who may call.

A citizen reaches their own pre-applications only (the service layer looks them
up by id AND citizen); reviewers those of their office's city, administrators
all. Every text from the wire is checked before anything stores it."""

from __future__ import annotations

from mintong.booking.v1 import preapplications_pb2 as pb
from mintong.booking.v1 import preapplications_pb2_grpc as pb_grpc
from services.booking.domain.preapplications import Attachment, FieldType, Form, PreApplication, Status
from services.booking.service_layer import preapplications
from services.booking.service_layer.preapplications import Details, Reviewer
from services.booking.service_layer.unit_of_work import ObjectStore, UnitOfWork
from services.runtime.clock import Clock
from services.runtime.context import CallerKind, Role, require_role
from services.runtime.db import retry_transient
from services.runtime.errors import InvalidArgument
from services.runtime.proto_values import timestamp_to_proto
from services.runtime.text import check_text

STATUS = {
    Status.DRAFT: pb.PRE_APPLICATION_STATUS_DRAFT,
    Status.SUBMITTED: pb.PRE_APPLICATION_STATUS_SUBMITTED,
    Status.MORE_MATERIAL_NEEDED: pb.PRE_APPLICATION_STATUS_MORE_MATERIAL_NEEDED,
    Status.APPROVED: pb.PRE_APPLICATION_STATUS_APPROVED,
    Status.REJECTED: pb.PRE_APPLICATION_STATUS_REJECTED,
}
_STATUS_FROM_PROTO = {v: k for k, v in STATUS.items()}
_FIELD_TYPE = {
    FieldType.TEXT: pb.FIELD_TYPE_TEXT,
    FieldType.LONG_TEXT: pb.FIELD_TYPE_LONG_TEXT,
    FieldType.DATE: pb.FIELD_TYPE_DATE,
    FieldType.NUMBER: pb.FIELD_TYPE_NUMBER,
    FieldType.CHOICE: pb.FIELD_TYPE_CHOICE,
}
_DECISION = {
    pb.DECISION_APPROVE: "approve",
    pb.DECISION_REJECT: "reject",
    pb.DECISION_REQUEST_MATERIAL: "request_material",
}
#: Ids are UUIDs; anything longer is no id (and is not stored).
_ID_LENGTH = 64


def form_to_proto(form: Form, business_name: str, business_name_en: str) -> pb.Form:
    return pb.Form(
        city_code=form.city_code,
        business_code=form.business_code,
        business_name=business_name,
        business_name_en=business_name_en,
        fields=[
            pb.FormField(
                key=f.key,
                type=_FIELD_TYPE[f.type],
                label=f.label,
                label_en=f.label_en,
                required=f.required,
                choices=[pb.FormChoice(code=c.code, label=c.label, label_en=c.label_en) for c in f.choices],
                help=f.help,
                help_en=f.help_en,
                max_length=f.max_length,
            )
            for f in form.fields
        ],
        min_attachments=form.min_attachments,
        attachments_help=form.attachments_help,
        attachments_help_en=form.attachments_help_en,
    )


def attachment_to_proto(a: Attachment) -> pb.Attachment:
    return pb.Attachment(
        id=a.id,
        media_type=a.media_type,
        size=a.size,
        label=a.label,
        created_at=timestamp_to_proto(a.created_at),
    )


def to_proto(
    pre: PreApplication, details: Details | None = None, *, staff: bool = False
) -> pb.PreApplication:
    message = pb.PreApplication(
        id=pre.id,
        city_code=pre.city_code,
        business_code=pre.business_code,
        status=STATUS[pre.status],
        answers=dict(pre.answers),
        created_at=timestamp_to_proto(pre.created_at),
        changed_at=timestamp_to_proto(pre.changed_at),
        note=pre.note,
        history=[
            pb.StateChange(
                at=timestamp_to_proto(c.at),
                old_status=STATUS[c.old] if c.old else pb.PRE_APPLICATION_STATUS_UNSPECIFIED,
                new_status=STATUS[c.new],
                # Which reviewer decided is the bureau's to know, not the citizen's.
                actor=c.actor if staff else "",
                note=c.note,
            )
            for c in pre.history
        ],
        citizen_id=pre.citizen_id if staff else "",
    )
    if pre.submitted_at is not None:
        message.submitted_at.CopyFrom(timestamp_to_proto(pre.submitted_at))
    if details is not None:
        message.attachments.extend(attachment_to_proto(a) for a in details.attachments)
        if (e := details.entitlement) is not None:
            message.entitlement.CopyFrom(
                pb.Entitlement(expires_at=timestamp_to_proto(e.expires_at), booking_id=e.booking_id or "")
            )
    return message


def _id(value: str, field: str) -> str:
    return check_text(value, field, max_length=_ID_LENGTH)


def _citizen() -> tuple[str, str]:
    """The calling citizen's id, and how audit and history name them."""
    me = require_role(CallerKind.CITIZEN)
    return me.subject, str(me)


def _reviewer() -> Reviewer:
    me = require_role(Role.REVIEWER, Role.ADMINISTRATOR)
    return Reviewer(str(me), me.office, everywhere=me.role is Role.ADMINISTRATOR)


class PreApplicationServicer(pb_grpc.PreApplicationServiceServicer):
    def __init__(self, uow: UnitOfWork, clock: Clock, store: ObjectStore, max_bytes: int) -> None:
        self.uow = uow
        self.clock = clock
        self.store = store
        self.max_bytes = max_bytes

    async def GetForm(self, request: pb.GetFormRequest, context) -> pb.GetFormResponse:
        business, form = await preapplications.get_form(
            self.uow, check_text(request.city_code, "city"), check_text(request.business_code, "business")
        )
        return pb.GetFormResponse(form=form_to_proto(form, business.name, business.name_en))

    async def CreatePreApplication(
        self, request: pb.CreatePreApplicationRequest, context
    ) -> pb.CreatePreApplicationResponse:
        citizen, actor = _citizen()
        pre = await preapplications.create(
            self.uow,
            self.clock,
            citizen,
            actor,
            check_text(request.city_code, "city", max_length=64),
            check_text(request.business_code, "business", max_length=64),
        )
        return pb.CreatePreApplicationResponse(pre_application=to_proto(pre))

    async def GetPreApplication(
        self, request: pb.GetPreApplicationRequest, context
    ) -> pb.GetPreApplicationResponse:
        citizen, _ = _citizen()
        details = await preapplications.get_own(
            self.uow, citizen, _id(request.pre_application_id, "pre_application_id")
        )
        return pb.GetPreApplicationResponse(pre_application=to_proto(details.pre_application, details))

    async def ListPreApplications(
        self, request: pb.ListPreApplicationsRequest, context
    ) -> pb.ListPreApplicationsResponse:
        citizen, _ = _citizen()
        found = await preapplications.list_own(self.uow, citizen)
        return pb.ListPreApplicationsResponse(pre_applications=[to_proto(p) for p in found])

    async def UpdateAnswers(self, request: pb.UpdateAnswersRequest, context) -> pb.UpdateAnswersResponse:
        citizen, _ = _citizen()
        if not request.answers:
            raise InvalidArgument("answers_required", "Send at least one answer.", field="answers")
        details = await retry_transient(
            lambda: preapplications.fill(
                self.uow,
                self.clock,
                citizen,
                _id(request.pre_application_id, "pre_application_id"),
                dict(request.answers),
            )
        )
        return pb.UpdateAnswersResponse(pre_application=to_proto(details.pre_application, details))

    async def AddAttachment(self, request: pb.AddAttachmentRequest, context) -> pb.AddAttachmentResponse:
        citizen, _ = _citizen()
        attachment = await preapplications.attach(
            self.uow,
            self.store,
            self.clock,
            citizen,
            _id(request.pre_application_id, "pre_application_id"),
            request.content,
            request.label,
            self.max_bytes,
        )
        return pb.AddAttachmentResponse(attachment=attachment_to_proto(attachment))

    async def GetAttachment(self, request: pb.GetAttachmentRequest, context) -> pb.GetAttachmentResponse:
        citizen, _ = _citizen()
        attachment, content = await preapplications.read_own_document(
            self.uow,
            self.store,
            citizen,
            _id(request.pre_application_id, "pre_application_id"),
            _id(request.attachment_id, "attachment_id"),
        )
        return pb.GetAttachmentResponse(attachment=attachment_to_proto(attachment), content=content)

    async def SubmitPreApplication(
        self, request: pb.SubmitPreApplicationRequest, context
    ) -> pb.SubmitPreApplicationResponse:
        citizen, actor = _citizen()
        pre_id = _id(request.pre_application_id, "pre_application_id")
        await retry_transient(lambda: preapplications.submit(self.uow, self.clock, citizen, actor, pre_id))
        details = await preapplications.get_own(self.uow, citizen, pre_id)
        return pb.SubmitPreApplicationResponse(pre_application=to_proto(details.pre_application, details))


class PreApplicationReviewServicer(pb_grpc.PreApplicationReviewServiceServicer):
    def __init__(self, uow: UnitOfWork, clock: Clock, store: ObjectStore) -> None:
        self.uow = uow
        self.clock = clock
        self.store = store

    async def ListQueue(self, request: pb.ListQueueRequest, context) -> pb.ListQueueResponse:
        reviewer = _reviewer()
        statuses = [_STATUS_FROM_PROTO[s] for s in request.statuses if s in _STATUS_FROM_PROTO]
        found = await preapplications.queue(
            self.uow, reviewer, check_text(request.business_code, "business", max_length=64), statuses
        )
        return pb.ListQueueResponse(pre_applications=[to_proto(p, staff=True) for p in found])

    async def GetForReview(self, request: pb.GetForReviewRequest, context) -> pb.GetForReviewResponse:
        reviewer = _reviewer()
        details = await preapplications.review(
            self.uow, reviewer, _id(request.pre_application_id, "pre_application_id")
        )
        return pb.GetForReviewResponse(pre_application=to_proto(details.pre_application, details, staff=True))

    async def GetAttachmentForReview(
        self, request: pb.GetAttachmentForReviewRequest, context
    ) -> pb.GetAttachmentForReviewResponse:
        reviewer = _reviewer()
        attachment, content = await preapplications.read_document_for_review(
            self.uow,
            self.store,
            reviewer,
            _id(request.pre_application_id, "pre_application_id"),
            _id(request.attachment_id, "attachment_id"),
        )
        return pb.GetAttachmentForReviewResponse(attachment=attachment_to_proto(attachment), content=content)

    async def Decide(self, request: pb.DecideRequest, context) -> pb.DecideResponse:
        reviewer = _reviewer()
        action = _DECISION.get(request.decision)
        if action is None:
            raise InvalidArgument(
                "decision_required", "Decide: approve, reject or request_material.", field="decision"
            )
        details = await retry_transient(
            lambda: preapplications.decide(
                self.uow,
                self.clock,
                reviewer,
                _id(request.pre_application_id, "pre_application_id"),
                action,
                request.note,
            )
        )
        return pb.DecideResponse(pre_application=to_proto(details.pre_application, details, staff=True))
