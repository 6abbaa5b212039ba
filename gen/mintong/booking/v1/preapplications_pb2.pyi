import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PreApplicationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRE_APPLICATION_STATUS_UNSPECIFIED: _ClassVar[PreApplicationStatus]
    PRE_APPLICATION_STATUS_DRAFT: _ClassVar[PreApplicationStatus]
    PRE_APPLICATION_STATUS_SUBMITTED: _ClassVar[PreApplicationStatus]
    PRE_APPLICATION_STATUS_MORE_MATERIAL_NEEDED: _ClassVar[PreApplicationStatus]
    PRE_APPLICATION_STATUS_APPROVED: _ClassVar[PreApplicationStatus]
    PRE_APPLICATION_STATUS_REJECTED: _ClassVar[PreApplicationStatus]

class FieldType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIELD_TYPE_UNSPECIFIED: _ClassVar[FieldType]
    FIELD_TYPE_TEXT: _ClassVar[FieldType]
    FIELD_TYPE_LONG_TEXT: _ClassVar[FieldType]
    FIELD_TYPE_DATE: _ClassVar[FieldType]
    FIELD_TYPE_NUMBER: _ClassVar[FieldType]
    FIELD_TYPE_CHOICE: _ClassVar[FieldType]

class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNSPECIFIED: _ClassVar[Decision]
    DECISION_APPROVE: _ClassVar[Decision]
    DECISION_REJECT: _ClassVar[Decision]
    DECISION_REQUEST_MATERIAL: _ClassVar[Decision]
PRE_APPLICATION_STATUS_UNSPECIFIED: PreApplicationStatus
PRE_APPLICATION_STATUS_DRAFT: PreApplicationStatus
PRE_APPLICATION_STATUS_SUBMITTED: PreApplicationStatus
PRE_APPLICATION_STATUS_MORE_MATERIAL_NEEDED: PreApplicationStatus
PRE_APPLICATION_STATUS_APPROVED: PreApplicationStatus
PRE_APPLICATION_STATUS_REJECTED: PreApplicationStatus
FIELD_TYPE_UNSPECIFIED: FieldType
FIELD_TYPE_TEXT: FieldType
FIELD_TYPE_LONG_TEXT: FieldType
FIELD_TYPE_DATE: FieldType
FIELD_TYPE_NUMBER: FieldType
FIELD_TYPE_CHOICE: FieldType
DECISION_UNSPECIFIED: Decision
DECISION_APPROVE: Decision
DECISION_REJECT: Decision
DECISION_REQUEST_MATERIAL: Decision

class FormChoice(_message.Message):
    __slots__ = ("code", "label", "label_en")
    CODE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    LABEL_EN_FIELD_NUMBER: _ClassVar[int]
    code: str
    label: str
    label_en: str
    def __init__(self, code: _Optional[str] = ..., label: _Optional[str] = ..., label_en: _Optional[str] = ...) -> None: ...

class FormField(_message.Message):
    __slots__ = ("key", "type", "label", "label_en", "required", "choices", "help", "help_en", "max_length")
    KEY_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    LABEL_EN_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    HELP_FIELD_NUMBER: _ClassVar[int]
    HELP_EN_FIELD_NUMBER: _ClassVar[int]
    MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    key: str
    type: FieldType
    label: str
    label_en: str
    required: bool
    choices: _containers.RepeatedCompositeFieldContainer[FormChoice]
    help: str
    help_en: str
    max_length: int
    def __init__(self, key: _Optional[str] = ..., type: _Optional[_Union[FieldType, str]] = ..., label: _Optional[str] = ..., label_en: _Optional[str] = ..., required: _Optional[bool] = ..., choices: _Optional[_Iterable[_Union[FormChoice, _Mapping]]] = ..., help: _Optional[str] = ..., help_en: _Optional[str] = ..., max_length: _Optional[int] = ...) -> None: ...

class Form(_message.Message):
    __slots__ = ("city_code", "business_code", "business_name", "business_name_en", "fields", "min_attachments", "attachments_help", "attachments_help_en")
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    MIN_ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_HELP_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_HELP_EN_FIELD_NUMBER: _ClassVar[int]
    city_code: str
    business_code: str
    business_name: str
    business_name_en: str
    fields: _containers.RepeatedCompositeFieldContainer[FormField]
    min_attachments: int
    attachments_help: str
    attachments_help_en: str
    def __init__(self, city_code: _Optional[str] = ..., business_code: _Optional[str] = ..., business_name: _Optional[str] = ..., business_name_en: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[FormField, _Mapping]]] = ..., min_attachments: _Optional[int] = ..., attachments_help: _Optional[str] = ..., attachments_help_en: _Optional[str] = ...) -> None: ...

class Attachment(_message.Message):
    __slots__ = ("id", "media_type", "size", "label", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    media_type: str
    size: int
    label: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., media_type: _Optional[str] = ..., size: _Optional[int] = ..., label: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StateChange(_message.Message):
    __slots__ = ("at", "old_status", "new_status", "actor", "note")
    AT_FIELD_NUMBER: _ClassVar[int]
    OLD_STATUS_FIELD_NUMBER: _ClassVar[int]
    NEW_STATUS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    old_status: PreApplicationStatus
    new_status: PreApplicationStatus
    actor: str
    note: str
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., old_status: _Optional[_Union[PreApplicationStatus, str]] = ..., new_status: _Optional[_Union[PreApplicationStatus, str]] = ..., actor: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class Entitlement(_message.Message):
    __slots__ = ("expires_at", "booking_id")
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    expires_at: _timestamp_pb2.Timestamp
    booking_id: str
    def __init__(self, expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., booking_id: _Optional[str] = ...) -> None: ...

class PreApplication(_message.Message):
    __slots__ = ("id", "city_code", "business_code", "status", "answers", "created_at", "changed_at", "submitted_at", "note", "attachments", "history", "entitlement", "citizen_id")
    class AnswersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    ENTITLEMENT_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    city_code: str
    business_code: str
    status: PreApplicationStatus
    answers: _containers.ScalarMap[str, str]
    created_at: _timestamp_pb2.Timestamp
    changed_at: _timestamp_pb2.Timestamp
    submitted_at: _timestamp_pb2.Timestamp
    note: str
    attachments: _containers.RepeatedCompositeFieldContainer[Attachment]
    history: _containers.RepeatedCompositeFieldContainer[StateChange]
    entitlement: Entitlement
    citizen_id: str
    def __init__(self, id: _Optional[str] = ..., city_code: _Optional[str] = ..., business_code: _Optional[str] = ..., status: _Optional[_Union[PreApplicationStatus, str]] = ..., answers: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., note: _Optional[str] = ..., attachments: _Optional[_Iterable[_Union[Attachment, _Mapping]]] = ..., history: _Optional[_Iterable[_Union[StateChange, _Mapping]]] = ..., entitlement: _Optional[_Union[Entitlement, _Mapping]] = ..., citizen_id: _Optional[str] = ...) -> None: ...

class GetFormRequest(_message.Message):
    __slots__ = ("city_code", "business_code")
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    city_code: str
    business_code: str
    def __init__(self, city_code: _Optional[str] = ..., business_code: _Optional[str] = ...) -> None: ...

class GetFormResponse(_message.Message):
    __slots__ = ("form",)
    FORM_FIELD_NUMBER: _ClassVar[int]
    form: Form
    def __init__(self, form: _Optional[_Union[Form, _Mapping]] = ...) -> None: ...

class CreatePreApplicationRequest(_message.Message):
    __slots__ = ("city_code", "business_code")
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    city_code: str
    business_code: str
    def __init__(self, city_code: _Optional[str] = ..., business_code: _Optional[str] = ...) -> None: ...

class CreatePreApplicationResponse(_message.Message):
    __slots__ = ("pre_application",)
    PRE_APPLICATION_FIELD_NUMBER: _ClassVar[int]
    pre_application: PreApplication
    def __init__(self, pre_application: _Optional[_Union[PreApplication, _Mapping]] = ...) -> None: ...

class GetPreApplicationRequest(_message.Message):
    __slots__ = ("pre_application_id",)
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    pre_application_id: str
    def __init__(self, pre_application_id: _Optional[str] = ...) -> None: ...

class GetPreApplicationResponse(_message.Message):
    __slots__ = ("pre_application",)
    PRE_APPLICATION_FIELD_NUMBER: _ClassVar[int]
    pre_application: PreApplication
    def __init__(self, pre_application: _Optional[_Union[PreApplication, _Mapping]] = ...) -> None: ...

class ListPreApplicationsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPreApplicationsResponse(_message.Message):
    __slots__ = ("pre_applications",)
    PRE_APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    pre_applications: _containers.RepeatedCompositeFieldContainer[PreApplication]
    def __init__(self, pre_applications: _Optional[_Iterable[_Union[PreApplication, _Mapping]]] = ...) -> None: ...

class UpdateAnswersRequest(_message.Message):
    __slots__ = ("pre_application_id", "answers")
    class AnswersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    pre_application_id: str
    answers: _containers.ScalarMap[str, str]
    def __init__(self, pre_application_id: _Optional[str] = ..., answers: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UpdateAnswersResponse(_message.Message):
    __slots__ = ("pre_application",)
    PRE_APPLICATION_FIELD_NUMBER: _ClassVar[int]
    pre_application: PreApplication
    def __init__(self, pre_application: _Optional[_Union[PreApplication, _Mapping]] = ...) -> None: ...

class AddAttachmentRequest(_message.Message):
    __slots__ = ("pre_application_id", "content", "label")
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    pre_application_id: str
    content: bytes
    label: str
    def __init__(self, pre_application_id: _Optional[str] = ..., content: _Optional[bytes] = ..., label: _Optional[str] = ...) -> None: ...

class AddAttachmentResponse(_message.Message):
    __slots__ = ("attachment",)
    ATTACHMENT_FIELD_NUMBER: _ClassVar[int]
    attachment: Attachment
    def __init__(self, attachment: _Optional[_Union[Attachment, _Mapping]] = ...) -> None: ...

class GetAttachmentRequest(_message.Message):
    __slots__ = ("pre_application_id", "attachment_id")
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENT_ID_FIELD_NUMBER: _ClassVar[int]
    pre_application_id: str
    attachment_id: str
    def __init__(self, pre_application_id: _Optional[str] = ..., attachment_id: _Optional[str] = ...) -> None: ...

class GetAttachmentResponse(_message.Message):
    __slots__ = ("attachment", "content")
    ATTACHMENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    attachment: Attachment
    content: bytes
    def __init__(self, attachment: _Optional[_Union[Attachment, _Mapping]] = ..., content: _Optional[bytes] = ...) -> None: ...

class SubmitPreApplicationRequest(_message.Message):
    __slots__ = ("pre_application_id",)
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    pre_application_id: str
    def __init__(self, pre_application_id: _Optional[str] = ...) -> None: ...

class SubmitPreApplicationResponse(_message.Message):
    __slots__ = ("pre_application",)
    PRE_APPLICATION_FIELD_NUMBER: _ClassVar[int]
    pre_application: PreApplication
    def __init__(self, pre_application: _Optional[_Union[PreApplication, _Mapping]] = ...) -> None: ...

class ListQueueRequest(_message.Message):
    __slots__ = ("business_code", "statuses")
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    business_code: str
    statuses: _containers.RepeatedScalarFieldContainer[PreApplicationStatus]
    def __init__(self, business_code: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[PreApplicationStatus, str]]] = ...) -> None: ...

class ListQueueResponse(_message.Message):
    __slots__ = ("pre_applications",)
    PRE_APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    pre_applications: _containers.RepeatedCompositeFieldContainer[PreApplication]
    def __init__(self, pre_applications: _Optional[_Iterable[_Union[PreApplication, _Mapping]]] = ...) -> None: ...

class GetForReviewRequest(_message.Message):
    __slots__ = ("pre_application_id",)
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    pre_application_id: str
    def __init__(self, pre_application_id: _Optional[str] = ...) -> None: ...

class GetForReviewResponse(_message.Message):
    __slots__ = ("pre_application",)
    PRE_APPLICATION_FIELD_NUMBER: _ClassVar[int]
    pre_application: PreApplication
    def __init__(self, pre_application: _Optional[_Union[PreApplication, _Mapping]] = ...) -> None: ...

class GetAttachmentForReviewRequest(_message.Message):
    __slots__ = ("pre_application_id", "attachment_id")
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENT_ID_FIELD_NUMBER: _ClassVar[int]
    pre_application_id: str
    attachment_id: str
    def __init__(self, pre_application_id: _Optional[str] = ..., attachment_id: _Optional[str] = ...) -> None: ...

class GetAttachmentForReviewResponse(_message.Message):
    __slots__ = ("attachment", "content")
    ATTACHMENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    attachment: Attachment
    content: bytes
    def __init__(self, attachment: _Optional[_Union[Attachment, _Mapping]] = ..., content: _Optional[bytes] = ...) -> None: ...

class DecideRequest(_message.Message):
    __slots__ = ("pre_application_id", "decision", "note")
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    pre_application_id: str
    decision: Decision
    note: str
    def __init__(self, pre_application_id: _Optional[str] = ..., decision: _Optional[_Union[Decision, str]] = ..., note: _Optional[str] = ...) -> None: ...

class DecideResponse(_message.Message):
    __slots__ = ("pre_application",)
    PRE_APPLICATION_FIELD_NUMBER: _ClassVar[int]
    pre_application: PreApplication
    def __init__(self, pre_application: _Optional[_Union[PreApplication, _Mapping]] = ...) -> None: ...
