import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mintong.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Reason(_message.Message):
    __slots__ = ("code", "message", "message_en")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_EN_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    message_en: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., message_en: _Optional[str] = ...) -> None: ...

class KindInfo(_message.Message):
    __slots__ = ("code", "name", "name_en", "fee_cents", "materials", "delivery_options", "required_assurance")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_EN_FIELD_NUMBER: _ClassVar[int]
    FEE_CENTS_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_ASSURANCE_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    name_en: str
    fee_cents: int
    materials: _containers.RepeatedScalarFieldContainer[str]
    delivery_options: _containers.RepeatedScalarFieldContainer[str]
    required_assurance: str
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., name_en: _Optional[str] = ..., fee_cents: _Optional[int] = ..., materials: _Optional[_Iterable[str]] = ..., delivery_options: _Optional[_Iterable[str]] = ..., required_assurance: _Optional[str] = ...) -> None: ...

class AlternativeOffice(_message.Message):
    __slots__ = ("office_id", "name", "name_en", "address", "earliest_date", "earliest_start")
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_EN_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    EARLIEST_DATE_FIELD_NUMBER: _ClassVar[int]
    EARLIEST_START_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    name: str
    name_en: str
    address: str
    earliest_date: _common_pb2.Date
    earliest_start: _common_pb2.TimeOfDay
    def __init__(self, office_id: _Optional[str] = ..., name: _Optional[str] = ..., name_en: _Optional[str] = ..., address: _Optional[str] = ..., earliest_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., earliest_start: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ...) -> None: ...

class ListKindsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListKindsResponse(_message.Message):
    __slots__ = ("kinds",)
    KINDS_FIELD_NUMBER: _ClassVar[int]
    kinds: _containers.RepeatedCompositeFieldContainer[KindInfo]
    def __init__(self, kinds: _Optional[_Iterable[_Union[KindInfo, _Mapping]]] = ...) -> None: ...

class GetEligibilityRequest(_message.Message):
    __slots__ = ("kind", "assurance_level", "appearance_unchanged", "session_id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    APPEARANCE_UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    kind: str
    assurance_level: str
    appearance_unchanged: bool
    session_id: str
    def __init__(self, kind: _Optional[str] = ..., assurance_level: _Optional[str] = ..., appearance_unchanged: _Optional[bool] = ..., session_id: _Optional[str] = ...) -> None: ...

class GetEligibilityResponse(_message.Message):
    __slots__ = ("kind", "eligible", "reasons", "window_business_code", "alternatives")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    kind: KindInfo
    eligible: bool
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    window_business_code: str
    alternatives: _containers.RepeatedCompositeFieldContainer[AlternativeOffice]
    def __init__(self, kind: _Optional[_Union[KindInfo, _Mapping]] = ..., eligible: _Optional[bool] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., window_business_code: _Optional[str] = ..., alternatives: _Optional[_Iterable[_Union[AlternativeOffice, _Mapping]]] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("method", "recipient", "phone", "address", "office_id")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    method: str
    recipient: str
    phone: str
    address: str
    office_id: str
    def __init__(self, method: _Optional[str] = ..., recipient: _Optional[str] = ..., phone: _Optional[str] = ..., address: _Optional[str] = ..., office_id: _Optional[str] = ...) -> None: ...

class DeliveryView(_message.Message):
    __slots__ = ("method", "recipient_masked", "phone_masked", "address_masked", "office_id", "tracking_number")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_MASKED_FIELD_NUMBER: _ClassVar[int]
    PHONE_MASKED_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_MASKED_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    method: str
    recipient_masked: str
    phone_masked: str
    address_masked: str
    office_id: str
    tracking_number: str
    def __init__(self, method: _Optional[str] = ..., recipient_masked: _Optional[str] = ..., phone_masked: _Optional[str] = ..., address_masked: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ...) -> None: ...

class Transition(_message.Message):
    __slots__ = ("from_status", "to_status", "at", "reason", "actor")
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    TO_STATUS_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    from_status: str
    to_status: str
    at: _timestamp_pb2.Timestamp
    reason: str
    actor: str
    def __init__(self, from_status: _Optional[str] = ..., to_status: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class Application(_message.Message):
    __slots__ = ("id", "kind", "status", "city_code", "delivery", "reasons", "needs_review", "timeline", "submitted_at", "card_number_masked")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    NEEDS_REVIEW_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_MASKED_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    status: str
    city_code: str
    delivery: DeliveryView
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    needs_review: bool
    timeline: _containers.RepeatedCompositeFieldContainer[Transition]
    submitted_at: _timestamp_pb2.Timestamp
    card_number_masked: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., status: _Optional[str] = ..., city_code: _Optional[str] = ..., delivery: _Optional[_Union[DeliveryView, _Mapping]] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., needs_review: _Optional[bool] = ..., timeline: _Optional[_Iterable[_Union[Transition, _Mapping]]] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., card_number_masked: _Optional[str] = ...) -> None: ...

class ApplyRequest(_message.Message):
    __slots__ = ("idempotency_key", "kind", "assurance_level", "appearance_unchanged", "delivery", "session_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    APPEARANCE_UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    kind: str
    assurance_level: str
    appearance_unchanged: bool
    delivery: Delivery
    session_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., kind: _Optional[str] = ..., assurance_level: _Optional[str] = ..., appearance_unchanged: _Optional[bool] = ..., delivery: _Optional[_Union[Delivery, _Mapping]] = ..., session_id: _Optional[str] = ...) -> None: ...

class ApplyResponse(_message.Message):
    __slots__ = ("application", "replayed")
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    application: Application
    replayed: bool
    def __init__(self, application: _Optional[_Union[Application, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class GetApplicationRequest(_message.Message):
    __slots__ = ("application_id",)
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    def __init__(self, application_id: _Optional[str] = ...) -> None: ...

class GetApplicationResponse(_message.Message):
    __slots__ = ("application",)
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    application: Application
    def __init__(self, application: _Optional[_Union[Application, _Mapping]] = ...) -> None: ...

class ListApplicationsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListApplicationsResponse(_message.Message):
    __slots__ = ("applications",)
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    applications: _containers.RepeatedCompositeFieldContainer[Application]
    def __init__(self, applications: _Optional[_Iterable[_Union[Application, _Mapping]]] = ...) -> None: ...

class CancelRequest(_message.Message):
    __slots__ = ("application_id", "reason")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    reason: str
    def __init__(self, application_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelResponse(_message.Message):
    __slots__ = ("application",)
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    application: Application
    def __init__(self, application: _Optional[_Union[Application, _Mapping]] = ...) -> None: ...

class ListOfficeApplicationsRequest(_message.Message):
    __slots__ = ("office_id", "city_code", "status")
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    city_code: str
    status: str
    def __init__(self, office_id: _Optional[str] = ..., city_code: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class ListOfficeApplicationsResponse(_message.Message):
    __slots__ = ("applications",)
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    applications: _containers.RepeatedCompositeFieldContainer[Application]
    def __init__(self, applications: _Optional[_Iterable[_Union[Application, _Mapping]]] = ...) -> None: ...

class ApproveApplicationRequest(_message.Message):
    __slots__ = ("application_id", "note")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    note: str
    def __init__(self, application_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ApproveApplicationResponse(_message.Message):
    __slots__ = ("application",)
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    application: Application
    def __init__(self, application: _Optional[_Union[Application, _Mapping]] = ...) -> None: ...

class RejectApplicationRequest(_message.Message):
    __slots__ = ("application_id", "reason")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    reason: str
    def __init__(self, application_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectApplicationResponse(_message.Message):
    __slots__ = ("application",)
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    application: Application
    def __init__(self, application: _Optional[_Union[Application, _Mapping]] = ...) -> None: ...

class MarkCollectedRequest(_message.Message):
    __slots__ = ("application_id",)
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    def __init__(self, application_id: _Optional[str] = ...) -> None: ...

class MarkCollectedResponse(_message.Message):
    __slots__ = ("application",)
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    application: Application
    def __init__(self, application: _Optional[_Union[Application, _Mapping]] = ...) -> None: ...

class RecordCourierCallbackRequest(_message.Message):
    __slots__ = ("timestamp", "signature", "body")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    timestamp: str
    signature: str
    body: bytes
    def __init__(self, timestamp: _Optional[str] = ..., signature: _Optional[str] = ..., body: _Optional[bytes] = ...) -> None: ...

class RecordCourierCallbackResponse(_message.Message):
    __slots__ = ("application_id", "status")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    status: str
    def __init__(self, application_id: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class RecordCourierCallbacksRequest(_message.Message):
    __slots__ = ("body",)
    BODY_FIELD_NUMBER: _ClassVar[int]
    body: bytes
    def __init__(self, body: _Optional[bytes] = ...) -> None: ...

class CourierCallbackResult(_message.Message):
    __slots__ = ("event_id", "application_id", "status", "problem")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    application_id: str
    status: str
    problem: _common_pb2.Problem
    def __init__(self, event_id: _Optional[str] = ..., application_id: _Optional[str] = ..., status: _Optional[str] = ..., problem: _Optional[_Union[_common_pb2.Problem, _Mapping]] = ...) -> None: ...

class RecordCourierCallbacksResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CourierCallbackResult]
    def __init__(self, results: _Optional[_Iterable[_Union[CourierCallbackResult, _Mapping]]] = ...) -> None: ...
