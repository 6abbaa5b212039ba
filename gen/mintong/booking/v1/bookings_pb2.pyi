import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mintong.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BookingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BOOKING_STATUS_UNSPECIFIED: _ClassVar[BookingStatus]
    BOOKING_STATUS_CONFIRMED: _ClassVar[BookingStatus]
    BOOKING_STATUS_CANCELLED: _ClassVar[BookingStatus]
    BOOKING_STATUS_LAPSED: _ClassVar[BookingStatus]
    BOOKING_STATUS_NO_SHOW: _ClassVar[BookingStatus]
    BOOKING_STATUS_CHECKED_IN: _ClassVar[BookingStatus]

class WaitStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WAIT_STATUS_UNSPECIFIED: _ClassVar[WaitStatus]
    WAIT_STATUS_WAITING: _ClassVar[WaitStatus]
    WAIT_STATUS_OFFERED: _ClassVar[WaitStatus]
    WAIT_STATUS_BOOKED: _ClassVar[WaitStatus]
    WAIT_STATUS_EXPIRED: _ClassVar[WaitStatus]
    WAIT_STATUS_LEFT: _ClassVar[WaitStatus]
BOOKING_STATUS_UNSPECIFIED: BookingStatus
BOOKING_STATUS_CONFIRMED: BookingStatus
BOOKING_STATUS_CANCELLED: BookingStatus
BOOKING_STATUS_LAPSED: BookingStatus
BOOKING_STATUS_NO_SHOW: BookingStatus
BOOKING_STATUS_CHECKED_IN: BookingStatus
WAIT_STATUS_UNSPECIFIED: WaitStatus
WAIT_STATUS_WAITING: WaitStatus
WAIT_STATUS_OFFERED: WaitStatus
WAIT_STATUS_BOOKED: WaitStatus
WAIT_STATUS_EXPIRED: WaitStatus
WAIT_STATUS_LEFT: WaitStatus

class BookingSnapshot(_message.Message):
    __slots__ = ("business_name", "service_guide", "materials", "phone", "office_name", "office_address", "office_phone", "visit_requirements", "business_name_en", "service_guide_en", "materials_en", "office_name_en", "office_address_en", "visit_requirements_en")
    BUSINESS_NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_GUIDE_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    OFFICE_PHONE_FIELD_NUMBER: _ClassVar[int]
    VISIT_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    SERVICE_GUIDE_EN_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_EN_FIELD_NUMBER: _ClassVar[int]
    OFFICE_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ADDRESS_EN_FIELD_NUMBER: _ClassVar[int]
    VISIT_REQUIREMENTS_EN_FIELD_NUMBER: _ClassVar[int]
    business_name: str
    service_guide: str
    materials: _containers.RepeatedScalarFieldContainer[str]
    phone: str
    office_name: str
    office_address: str
    office_phone: str
    visit_requirements: _containers.RepeatedScalarFieldContainer[str]
    business_name_en: str
    service_guide_en: str
    materials_en: _containers.RepeatedScalarFieldContainer[str]
    office_name_en: str
    office_address_en: str
    visit_requirements_en: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, business_name: _Optional[str] = ..., service_guide: _Optional[str] = ..., materials: _Optional[_Iterable[str]] = ..., phone: _Optional[str] = ..., office_name: _Optional[str] = ..., office_address: _Optional[str] = ..., office_phone: _Optional[str] = ..., visit_requirements: _Optional[_Iterable[str]] = ..., business_name_en: _Optional[str] = ..., service_guide_en: _Optional[str] = ..., materials_en: _Optional[_Iterable[str]] = ..., office_name_en: _Optional[str] = ..., office_address_en: _Optional[str] = ..., visit_requirements_en: _Optional[_Iterable[str]] = ...) -> None: ...

class Booking(_message.Message):
    __slots__ = ("id", "city_code", "business_code", "office_id", "slot_id", "date", "start", "end", "status", "confirmation_code", "qr_payload", "snapshot", "channel", "created_at", "reason_code", "destination", "pre_application_id", "citizen_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_CODE_FIELD_NUMBER: _ClassVar[int]
    QR_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    city_code: str
    business_code: str
    office_id: str
    slot_id: int
    date: _common_pb2.Date
    start: _common_pb2.TimeOfDay
    end: _common_pb2.TimeOfDay
    status: BookingStatus
    confirmation_code: str
    qr_payload: str
    snapshot: BookingSnapshot
    channel: _common_pb2.Channel
    created_at: _timestamp_pb2.Timestamp
    reason_code: str
    destination: str
    pre_application_id: str
    citizen_id: str
    def __init__(self, id: _Optional[str] = ..., city_code: _Optional[str] = ..., business_code: _Optional[str] = ..., office_id: _Optional[str] = ..., slot_id: _Optional[int] = ..., date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., start: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ..., end: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ..., status: _Optional[_Union[BookingStatus, str]] = ..., confirmation_code: _Optional[str] = ..., qr_payload: _Optional[str] = ..., snapshot: _Optional[_Union[BookingSnapshot, _Mapping]] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason_code: _Optional[str] = ..., destination: _Optional[str] = ..., pre_application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ...) -> None: ...

class BookRequest(_message.Message):
    __slots__ = ("slot_id", "business_code", "reason_code", "destination", "pre_application_id", "idempotency_key", "channel")
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    slot_id: int
    business_code: str
    reason_code: str
    destination: str
    pre_application_id: str
    idempotency_key: str
    channel: _common_pb2.Channel
    def __init__(self, slot_id: _Optional[int] = ..., business_code: _Optional[str] = ..., reason_code: _Optional[str] = ..., destination: _Optional[str] = ..., pre_application_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ...) -> None: ...

class BookResponse(_message.Message):
    __slots__ = ("booking", "replayed")
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    replayed: bool
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class CancelRequest(_message.Message):
    __slots__ = ("booking_id",)
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    def __init__(self, booking_id: _Optional[str] = ...) -> None: ...

class CancelResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ...) -> None: ...

class RescheduleRequest(_message.Message):
    __slots__ = ("booking_id", "slot_id")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    slot_id: int
    def __init__(self, booking_id: _Optional[str] = ..., slot_id: _Optional[int] = ...) -> None: ...

class RescheduleResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ...) -> None: ...

class GetBookingRequest(_message.Message):
    __slots__ = ("booking_id",)
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    def __init__(self, booking_id: _Optional[str] = ...) -> None: ...

class GetBookingResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ...) -> None: ...

class ListBookingsRequest(_message.Message):
    __slots__ = ("statuses",)
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[BookingStatus]
    def __init__(self, statuses: _Optional[_Iterable[_Union[BookingStatus, str]]] = ...) -> None: ...

class ListBookingsResponse(_message.Message):
    __slots__ = ("bookings",)
    BOOKINGS_FIELD_NUMBER: _ClassVar[int]
    bookings: _containers.RepeatedCompositeFieldContainer[Booking]
    def __init__(self, bookings: _Optional[_Iterable[_Union[Booking, _Mapping]]] = ...) -> None: ...

class WaitlistEntry(_message.Message):
    __slots__ = ("id", "city_code", "business_code", "office_id", "slot_id", "status", "position", "held_slot_id", "hold_expires_at", "booking_id", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    HELD_SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    HOLD_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    city_code: str
    business_code: str
    office_id: str
    slot_id: int
    status: WaitStatus
    position: int
    held_slot_id: int
    hold_expires_at: _timestamp_pb2.Timestamp
    booking_id: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., city_code: _Optional[str] = ..., business_code: _Optional[str] = ..., office_id: _Optional[str] = ..., slot_id: _Optional[int] = ..., status: _Optional[_Union[WaitStatus, str]] = ..., position: _Optional[int] = ..., held_slot_id: _Optional[int] = ..., hold_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., booking_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JoinWaitlistRequest(_message.Message):
    __slots__ = ("business_code", "slot_id", "office_id", "reason_code", "destination", "pre_application_id", "channel")
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    SLOT_ID_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    PRE_APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    business_code: str
    slot_id: int
    office_id: str
    reason_code: str
    destination: str
    pre_application_id: str
    channel: _common_pb2.Channel
    def __init__(self, business_code: _Optional[str] = ..., slot_id: _Optional[int] = ..., office_id: _Optional[str] = ..., reason_code: _Optional[str] = ..., destination: _Optional[str] = ..., pre_application_id: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ...) -> None: ...

class JoinWaitlistResponse(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: WaitlistEntry
    def __init__(self, entry: _Optional[_Union[WaitlistEntry, _Mapping]] = ...) -> None: ...

class ConfirmOfferRequest(_message.Message):
    __slots__ = ("entry_id",)
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    def __init__(self, entry_id: _Optional[str] = ...) -> None: ...

class ConfirmOfferResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ...) -> None: ...

class LeaveWaitlistRequest(_message.Message):
    __slots__ = ("entry_id",)
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    def __init__(self, entry_id: _Optional[str] = ...) -> None: ...

class LeaveWaitlistResponse(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: WaitlistEntry
    def __init__(self, entry: _Optional[_Union[WaitlistEntry, _Mapping]] = ...) -> None: ...

class ListWaitlistRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWaitlistResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[WaitlistEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[WaitlistEntry, _Mapping]]] = ...) -> None: ...

class ListOfficeBookingsRequest(_message.Message):
    __slots__ = ("office_id", "date")
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    date: _common_pb2.Date
    def __init__(self, office_id: _Optional[str] = ..., date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ...) -> None: ...

class ListOfficeBookingsResponse(_message.Message):
    __slots__ = ("bookings",)
    BOOKINGS_FIELD_NUMBER: _ClassVar[int]
    bookings: _containers.RepeatedCompositeFieldContainer[Booking]
    def __init__(self, bookings: _Optional[_Iterable[_Union[Booking, _Mapping]]] = ...) -> None: ...

class MarkNoShowRequest(_message.Message):
    __slots__ = ("booking_id",)
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    def __init__(self, booking_id: _Optional[str] = ...) -> None: ...

class MarkNoShowResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ...) -> None: ...
