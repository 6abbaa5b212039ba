import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mintong.common.v1 import common_pb2 as _common_pb2
from mintong.events.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CatalogueLoaded(_message.Message):
    __slots__ = ("occurred_at", "city_codes", "office_count", "business_count")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CITY_CODES_FIELD_NUMBER: _ClassVar[int]
    OFFICE_COUNT_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_COUNT_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    city_codes: _containers.RepeatedScalarFieldContainer[str]
    office_count: int
    business_count: int
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., city_codes: _Optional[_Iterable[str]] = ..., office_count: _Optional[int] = ..., business_count: _Optional[int] = ...) -> None: ...

class SlotsPublished(_message.Message):
    __slots__ = ("occurred_at", "office_id", "from_date", "to_date", "created_count", "updated_count")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    office_id: str
    from_date: _common_pb2.Date
    to_date: _common_pb2.Date
    created_count: int
    updated_count: int
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., office_id: _Optional[str] = ..., from_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., to_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., created_count: _Optional[int] = ..., updated_count: _Optional[int] = ...) -> None: ...

class BusinessSuspended(_message.Message):
    __slots__ = ("occurred_at", "city_code", "business_code", "announcement", "announcement_en")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCEMENT_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCEMENT_EN_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    city_code: str
    business_code: str
    announcement: str
    announcement_en: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., city_code: _Optional[str] = ..., business_code: _Optional[str] = ..., announcement: _Optional[str] = ..., announcement_en: _Optional[str] = ...) -> None: ...

class BookingAffectedBySuspension(_message.Message):
    __slots__ = ("occurred_at", "booking_id", "citizen_id", "city_code", "business_code", "business_name", "office_name", "date", "start", "announcement", "business_name_en", "office_name_en", "announcement_en")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCEMENT_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCEMENT_EN_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    booking_id: str
    citizen_id: str
    city_code: str
    business_code: str
    business_name: str
    office_name: str
    date: _common_pb2.Date
    start: _common_pb2.TimeOfDay
    announcement: str
    business_name_en: str
    office_name_en: str
    announcement_en: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., booking_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., business_code: _Optional[str] = ..., business_name: _Optional[str] = ..., office_name: _Optional[str] = ..., date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., start: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ..., announcement: _Optional[str] = ..., business_name_en: _Optional[str] = ..., office_name_en: _Optional[str] = ..., announcement_en: _Optional[str] = ...) -> None: ...

class BusinessResumed(_message.Message):
    __slots__ = ("occurred_at", "city_code", "business_code")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    city_code: str
    business_code: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., city_code: _Optional[str] = ..., business_code: _Optional[str] = ...) -> None: ...

class BookingConfirmed(_message.Message):
    __slots__ = ("occurred_at", "booking_id", "citizen_id", "city_code", "business_name", "office_name", "office_address", "office_phone", "date", "start", "confirmation_code", "materials", "visit_requirements", "business_name_en", "office_name_en", "office_address_en", "materials_en", "visit_requirements_en")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    OFFICE_PHONE_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_CODE_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_FIELD_NUMBER: _ClassVar[int]
    VISIT_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ADDRESS_EN_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_EN_FIELD_NUMBER: _ClassVar[int]
    VISIT_REQUIREMENTS_EN_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    booking_id: str
    citizen_id: str
    city_code: str
    business_name: str
    office_name: str
    office_address: str
    office_phone: str
    date: _common_pb2.Date
    start: _common_pb2.TimeOfDay
    confirmation_code: str
    materials: _containers.RepeatedScalarFieldContainer[str]
    visit_requirements: _containers.RepeatedScalarFieldContainer[str]
    business_name_en: str
    office_name_en: str
    office_address_en: str
    materials_en: _containers.RepeatedScalarFieldContainer[str]
    visit_requirements_en: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., booking_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., business_name: _Optional[str] = ..., office_name: _Optional[str] = ..., office_address: _Optional[str] = ..., office_phone: _Optional[str] = ..., date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., start: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ..., confirmation_code: _Optional[str] = ..., materials: _Optional[_Iterable[str]] = ..., visit_requirements: _Optional[_Iterable[str]] = ..., business_name_en: _Optional[str] = ..., office_name_en: _Optional[str] = ..., office_address_en: _Optional[str] = ..., materials_en: _Optional[_Iterable[str]] = ..., visit_requirements_en: _Optional[_Iterable[str]] = ...) -> None: ...

class BookingCancelled(_message.Message):
    __slots__ = ("occurred_at", "booking_id", "citizen_id", "city_code", "business_name", "office_name", "date", "start", "business_name_en", "office_name_en")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    booking_id: str
    citizen_id: str
    city_code: str
    business_name: str
    office_name: str
    date: _common_pb2.Date
    start: _common_pb2.TimeOfDay
    business_name_en: str
    office_name_en: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., booking_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., business_name: _Optional[str] = ..., office_name: _Optional[str] = ..., date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., start: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ..., business_name_en: _Optional[str] = ..., office_name_en: _Optional[str] = ...) -> None: ...

class BookingCancelledByClosure(_message.Message):
    __slots__ = ("occurred_at", "booking_id", "citizen_id", "city_code", "business_name", "office_name", "date", "start", "business_name_en", "office_name_en", "policy_id", "closed_from", "closed_to", "reason", "reason_en")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FROM_FIELD_NUMBER: _ClassVar[int]
    CLOSED_TO_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REASON_EN_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    booking_id: str
    citizen_id: str
    city_code: str
    business_name: str
    office_name: str
    date: _common_pb2.Date
    start: _common_pb2.TimeOfDay
    business_name_en: str
    office_name_en: str
    policy_id: str
    closed_from: _common_pb2.Date
    closed_to: _common_pb2.Date
    reason: str
    reason_en: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., booking_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., business_name: _Optional[str] = ..., office_name: _Optional[str] = ..., date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., start: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ..., business_name_en: _Optional[str] = ..., office_name_en: _Optional[str] = ..., policy_id: _Optional[str] = ..., closed_from: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., closed_to: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., reason: _Optional[str] = ..., reason_en: _Optional[str] = ...) -> None: ...

class PolicyChanged(_message.Message):
    __slots__ = ("occurred_at", "policy_id", "city_code", "kind", "subject", "state", "effective_from", "effective_until")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    policy_id: str
    city_code: str
    kind: str
    subject: str
    state: str
    effective_from: _timestamp_pb2.Timestamp
    effective_until: _timestamp_pb2.Timestamp
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., policy_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., subject: _Optional[str] = ..., state: _Optional[str] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., effective_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BookingRescheduled(_message.Message):
    __slots__ = ("occurred_at", "booking_id", "citizen_id", "city_code", "business_name", "office_name", "office_address", "old_date", "old_start", "date", "start", "confirmation_code", "materials", "business_name_en", "office_name_en", "office_address_en", "materials_en")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    OLD_DATE_FIELD_NUMBER: _ClassVar[int]
    OLD_START_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_CODE_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ADDRESS_EN_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_EN_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    booking_id: str
    citizen_id: str
    city_code: str
    business_name: str
    office_name: str
    office_address: str
    old_date: _common_pb2.Date
    old_start: _common_pb2.TimeOfDay
    date: _common_pb2.Date
    start: _common_pb2.TimeOfDay
    confirmation_code: str
    materials: _containers.RepeatedScalarFieldContainer[str]
    business_name_en: str
    office_name_en: str
    office_address_en: str
    materials_en: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., booking_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., business_name: _Optional[str] = ..., office_name: _Optional[str] = ..., office_address: _Optional[str] = ..., old_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., old_start: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ..., date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., start: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ..., confirmation_code: _Optional[str] = ..., materials: _Optional[_Iterable[str]] = ..., business_name_en: _Optional[str] = ..., office_name_en: _Optional[str] = ..., office_address_en: _Optional[str] = ..., materials_en: _Optional[_Iterable[str]] = ...) -> None: ...

class WaitlistOfferMade(_message.Message):
    __slots__ = ("occurred_at", "entry_id", "citizen_id", "city_code", "business_name", "office_name", "date", "start", "hold_expires_at", "hold_minutes", "business_name_en", "office_name_en")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    HOLD_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    HOLD_MINUTES_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    entry_id: str
    citizen_id: str
    city_code: str
    business_name: str
    office_name: str
    date: _common_pb2.Date
    start: _common_pb2.TimeOfDay
    hold_expires_at: _timestamp_pb2.Timestamp
    hold_minutes: int
    business_name_en: str
    office_name_en: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., entry_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., business_name: _Optional[str] = ..., office_name: _Optional[str] = ..., date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., start: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ..., hold_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., hold_minutes: _Optional[int] = ..., business_name_en: _Optional[str] = ..., office_name_en: _Optional[str] = ...) -> None: ...

class WaitlistOfferExpired(_message.Message):
    __slots__ = ("occurred_at", "entry_id", "citizen_id", "city_code", "business_name", "office_name", "date", "start", "business_name_en", "office_name_en")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    entry_id: str
    citizen_id: str
    city_code: str
    business_name: str
    office_name: str
    date: _common_pb2.Date
    start: _common_pb2.TimeOfDay
    business_name_en: str
    office_name_en: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., entry_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., business_name: _Optional[str] = ..., office_name: _Optional[str] = ..., date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., start: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ..., business_name_en: _Optional[str] = ..., office_name_en: _Optional[str] = ...) -> None: ...

class PreApplicationApproved(_message.Message):
    __slots__ = ("occurred_at", "pre_application_id", "citizen_id", "city_code", "business_name", "business_name_en", "expires_at", "note")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    pre_application_id: str
    citizen_id: str
    city_code: str
    business_name: str
    business_name_en: str
    expires_at: _timestamp_pb2.Timestamp
    note: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pre_application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., business_name: _Optional[str] = ..., business_name_en: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., note: _Optional[str] = ...) -> None: ...

class PreApplicationSubmitted(_message.Message):
    __slots__ = ("occurred_at", "pre_application_id", "citizen_id", "city_code", "business_code")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    pre_application_id: str
    citizen_id: str
    city_code: str
    business_code: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pre_application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., business_code: _Optional[str] = ...) -> None: ...

class PreApplicationRejected(_message.Message):
    __slots__ = ("occurred_at", "pre_application_id", "citizen_id", "city_code", "business_name", "business_name_en", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    pre_application_id: str
    citizen_id: str
    city_code: str
    business_name: str
    business_name_en: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pre_application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., business_name: _Optional[str] = ..., business_name_en: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PreApplicationMaterialRequested(_message.Message):
    __slots__ = ("occurred_at", "pre_application_id", "citizen_id", "city_code", "business_name", "business_name_en", "note")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    pre_application_id: str
    citizen_id: str
    city_code: str
    business_name: str
    business_name_en: str
    note: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pre_application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., business_name: _Optional[str] = ..., business_name_en: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class TicketIssued(_message.Message):
    __slots__ = ("occurred_at", "ticket_id", "citizen_id", "city_code", "ticket_code", "business_name", "business_name_en", "office_name", "office_name_en", "ahead", "wait_minutes")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TICKET_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    TICKET_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    AHEAD_FIELD_NUMBER: _ClassVar[int]
    WAIT_MINUTES_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    ticket_id: str
    citizen_id: str
    city_code: str
    ticket_code: str
    business_name: str
    business_name_en: str
    office_name: str
    office_name_en: str
    ahead: int
    wait_minutes: int
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ticket_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., ticket_code: _Optional[str] = ..., business_name: _Optional[str] = ..., business_name_en: _Optional[str] = ..., office_name: _Optional[str] = ..., office_name_en: _Optional[str] = ..., ahead: _Optional[int] = ..., wait_minutes: _Optional[int] = ...) -> None: ...

class TicketComingUp(_message.Message):
    __slots__ = ("occurred_at", "ticket_id", "citizen_id", "city_code", "ticket_code", "office_name", "office_name_en", "ahead")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TICKET_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    TICKET_CODE_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    AHEAD_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    ticket_id: str
    citizen_id: str
    city_code: str
    ticket_code: str
    office_name: str
    office_name_en: str
    ahead: int
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ticket_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., ticket_code: _Optional[str] = ..., office_name: _Optional[str] = ..., office_name_en: _Optional[str] = ..., ahead: _Optional[int] = ...) -> None: ...
