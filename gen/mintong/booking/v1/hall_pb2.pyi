import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TicketStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TICKET_STATUS_UNSPECIFIED: _ClassVar[TicketStatus]
    TICKET_STATUS_WAITING: _ClassVar[TicketStatus]
    TICKET_STATUS_CALLED: _ClassVar[TicketStatus]
    TICKET_STATUS_SERVED: _ClassVar[TicketStatus]
    TICKET_STATUS_NO_SHOW: _ClassVar[TicketStatus]
TICKET_STATUS_UNSPECIFIED: TicketStatus
TICKET_STATUS_WAITING: TicketStatus
TICKET_STATUS_CALLED: TicketStatus
TICKET_STATUS_SERVED: TicketStatus
TICKET_STATUS_NO_SHOW: TicketStatus

class Ticket(_message.Message):
    __slots__ = ("id", "code", "office_id", "business_code", "status", "counter", "calls", "priority_group", "booking_id", "issued_at", "ahead", "wait_minutes")
    ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COUNTER_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_GROUP_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    AHEAD_FIELD_NUMBER: _ClassVar[int]
    WAIT_MINUTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    code: str
    office_id: str
    business_code: str
    status: TicketStatus
    counter: int
    calls: int
    priority_group: str
    booking_id: str
    issued_at: _timestamp_pb2.Timestamp
    ahead: int
    wait_minutes: int
    def __init__(self, id: _Optional[str] = ..., code: _Optional[str] = ..., office_id: _Optional[str] = ..., business_code: _Optional[str] = ..., status: _Optional[_Union[TicketStatus, str]] = ..., counter: _Optional[int] = ..., calls: _Optional[int] = ..., priority_group: _Optional[str] = ..., booking_id: _Optional[str] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ahead: _Optional[int] = ..., wait_minutes: _Optional[int] = ...) -> None: ...

class CheckInRequest(_message.Message):
    __slots__ = ("office_id", "confirmation_code", "qr_payload", "walk_in_business_code", "priority_group")
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_CODE_FIELD_NUMBER: _ClassVar[int]
    QR_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    WALK_IN_BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_GROUP_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    confirmation_code: str
    qr_payload: str
    walk_in_business_code: str
    priority_group: str
    def __init__(self, office_id: _Optional[str] = ..., confirmation_code: _Optional[str] = ..., qr_payload: _Optional[str] = ..., walk_in_business_code: _Optional[str] = ..., priority_group: _Optional[str] = ...) -> None: ...

class SelfCheckInRequest(_message.Message):
    __slots__ = ("office_id", "booking_id")
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    booking_id: str
    def __init__(self, office_id: _Optional[str] = ..., booking_id: _Optional[str] = ...) -> None: ...

class CheckInResponse(_message.Message):
    __slots__ = ("ticket", "newly_issued")
    TICKET_FIELD_NUMBER: _ClassVar[int]
    NEWLY_ISSUED_FIELD_NUMBER: _ClassVar[int]
    ticket: Ticket
    newly_issued: bool
    def __init__(self, ticket: _Optional[_Union[Ticket, _Mapping]] = ..., newly_issued: _Optional[bool] = ...) -> None: ...

class SelfCheckInResponse(_message.Message):
    __slots__ = ("ticket", "newly_issued")
    TICKET_FIELD_NUMBER: _ClassVar[int]
    NEWLY_ISSUED_FIELD_NUMBER: _ClassVar[int]
    ticket: Ticket
    newly_issued: bool
    def __init__(self, ticket: _Optional[_Union[Ticket, _Mapping]] = ..., newly_issued: _Optional[bool] = ...) -> None: ...

class GetTicketRequest(_message.Message):
    __slots__ = ("ticket_id",)
    TICKET_ID_FIELD_NUMBER: _ClassVar[int]
    ticket_id: str
    def __init__(self, ticket_id: _Optional[str] = ...) -> None: ...

class GetTicketResponse(_message.Message):
    __slots__ = ("ticket",)
    TICKET_FIELD_NUMBER: _ClassVar[int]
    ticket: Ticket
    def __init__(self, ticket: _Optional[_Union[Ticket, _Mapping]] = ...) -> None: ...

class GetQueueRequest(_message.Message):
    __slots__ = ("office_id",)
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    def __init__(self, office_id: _Optional[str] = ...) -> None: ...

class GetQueueResponse(_message.Message):
    __slots__ = ("office_id", "waiting", "called", "average_service_seconds", "counters_open")
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    WAITING_FIELD_NUMBER: _ClassVar[int]
    CALLED_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_SERVICE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COUNTERS_OPEN_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    waiting: _containers.RepeatedCompositeFieldContainer[Ticket]
    called: _containers.RepeatedCompositeFieldContainer[Ticket]
    average_service_seconds: int
    counters_open: int
    def __init__(self, office_id: _Optional[str] = ..., waiting: _Optional[_Iterable[_Union[Ticket, _Mapping]]] = ..., called: _Optional[_Iterable[_Union[Ticket, _Mapping]]] = ..., average_service_seconds: _Optional[int] = ..., counters_open: _Optional[int] = ...) -> None: ...

class CallNextRequest(_message.Message):
    __slots__ = ("office_id", "counter")
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTER_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    counter: int
    def __init__(self, office_id: _Optional[str] = ..., counter: _Optional[int] = ...) -> None: ...

class CallNextResponse(_message.Message):
    __slots__ = ("ticket",)
    TICKET_FIELD_NUMBER: _ClassVar[int]
    ticket: Ticket
    def __init__(self, ticket: _Optional[_Union[Ticket, _Mapping]] = ...) -> None: ...

class RecallRequest(_message.Message):
    __slots__ = ("office_id", "counter")
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTER_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    counter: int
    def __init__(self, office_id: _Optional[str] = ..., counter: _Optional[int] = ...) -> None: ...

class RecallResponse(_message.Message):
    __slots__ = ("ticket",)
    TICKET_FIELD_NUMBER: _ClassVar[int]
    ticket: Ticket
    def __init__(self, ticket: _Optional[_Union[Ticket, _Mapping]] = ...) -> None: ...

class MarkServedRequest(_message.Message):
    __slots__ = ("office_id", "counter")
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTER_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    counter: int
    def __init__(self, office_id: _Optional[str] = ..., counter: _Optional[int] = ...) -> None: ...

class MarkServedResponse(_message.Message):
    __slots__ = ("ticket",)
    TICKET_FIELD_NUMBER: _ClassVar[int]
    ticket: Ticket
    def __init__(self, ticket: _Optional[_Union[Ticket, _Mapping]] = ...) -> None: ...

class MarkTicketNoShowRequest(_message.Message):
    __slots__ = ("office_id", "counter")
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTER_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    counter: int
    def __init__(self, office_id: _Optional[str] = ..., counter: _Optional[int] = ...) -> None: ...

class MarkTicketNoShowResponse(_message.Message):
    __slots__ = ("ticket",)
    TICKET_FIELD_NUMBER: _ClassVar[int]
    ticket: Ticket
    def __init__(self, ticket: _Optional[_Union[Ticket, _Mapping]] = ...) -> None: ...
