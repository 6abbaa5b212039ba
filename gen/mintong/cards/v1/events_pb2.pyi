import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mintong.events.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ApplicationSubmitted(_message.Message):
    __slots__ = ("occurred_at", "application_id", "citizen_id", "city_code", "kind", "kind_name", "kind_name_en", "delivery_method", "office_id", "tracking_number", "from_status", "status", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., kind_name: _Optional[str] = ..., kind_name_en: _Optional[str] = ..., delivery_method: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., from_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApplicationChecksFailed(_message.Message):
    __slots__ = ("occurred_at", "application_id", "citizen_id", "city_code", "kind", "kind_name", "kind_name_en", "delivery_method", "office_id", "tracking_number", "from_status", "status", "reason", "reason_codes")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REASON_CODES_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    reason_codes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., kind_name: _Optional[str] = ..., kind_name_en: _Optional[str] = ..., delivery_method: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., from_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., reason_codes: _Optional[_Iterable[str]] = ...) -> None: ...

class ApplicationChecksPassed(_message.Message):
    __slots__ = ("occurred_at", "application_id", "citizen_id", "city_code", "kind", "kind_name", "kind_name_en", "delivery_method", "office_id", "tracking_number", "from_status", "status", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., kind_name: _Optional[str] = ..., kind_name_en: _Optional[str] = ..., delivery_method: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., from_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApplicationApproved(_message.Message):
    __slots__ = ("occurred_at", "application_id", "citizen_id", "city_code", "kind", "kind_name", "kind_name_en", "delivery_method", "office_id", "tracking_number", "from_status", "status", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., kind_name: _Optional[str] = ..., kind_name_en: _Optional[str] = ..., delivery_method: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., from_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApplicationRejected(_message.Message):
    __slots__ = ("occurred_at", "application_id", "citizen_id", "city_code", "kind", "kind_name", "kind_name_en", "delivery_method", "office_id", "tracking_number", "from_status", "status", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., kind_name: _Optional[str] = ..., kind_name_en: _Optional[str] = ..., delivery_method: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., from_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApplicationInProduction(_message.Message):
    __slots__ = ("occurred_at", "application_id", "citizen_id", "city_code", "kind", "kind_name", "kind_name_en", "delivery_method", "office_id", "tracking_number", "from_status", "status", "reason", "batch_id")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    batch_id: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., kind_name: _Optional[str] = ..., kind_name_en: _Optional[str] = ..., delivery_method: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., from_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., batch_id: _Optional[str] = ...) -> None: ...

class CardProduced(_message.Message):
    __slots__ = ("occurred_at", "application_id", "citizen_id", "city_code", "kind", "kind_name", "kind_name_en", "delivery_method", "office_id", "tracking_number", "from_status", "status", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., kind_name: _Optional[str] = ..., kind_name_en: _Optional[str] = ..., delivery_method: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., from_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApplicationShipped(_message.Message):
    __slots__ = ("occurred_at", "application_id", "citizen_id", "city_code", "kind", "kind_name", "kind_name_en", "delivery_method", "office_id", "tracking_number", "from_status", "status", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., kind_name: _Optional[str] = ..., kind_name_en: _Optional[str] = ..., delivery_method: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., from_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApplicationDelivered(_message.Message):
    __slots__ = ("occurred_at", "application_id", "citizen_id", "city_code", "kind", "kind_name", "kind_name_en", "delivery_method", "office_id", "tracking_number", "from_status", "status", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., kind_name: _Optional[str] = ..., kind_name_en: _Optional[str] = ..., delivery_method: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., from_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApplicationDeliveryFailed(_message.Message):
    __slots__ = ("occurred_at", "application_id", "citizen_id", "city_code", "kind", "kind_name", "kind_name_en", "delivery_method", "office_id", "tracking_number", "from_status", "status", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., kind_name: _Optional[str] = ..., kind_name_en: _Optional[str] = ..., delivery_method: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., from_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApplicationReturned(_message.Message):
    __slots__ = ("occurred_at", "application_id", "citizen_id", "city_code", "kind", "kind_name", "kind_name_en", "delivery_method", "office_id", "tracking_number", "from_status", "status", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., kind_name: _Optional[str] = ..., kind_name_en: _Optional[str] = ..., delivery_method: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., from_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApplicationReadyForPickup(_message.Message):
    __slots__ = ("occurred_at", "application_id", "citizen_id", "city_code", "kind", "kind_name", "kind_name_en", "delivery_method", "office_id", "tracking_number", "from_status", "status", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., kind_name: _Optional[str] = ..., kind_name_en: _Optional[str] = ..., delivery_method: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., from_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApplicationCollected(_message.Message):
    __slots__ = ("occurred_at", "application_id", "citizen_id", "city_code", "kind", "kind_name", "kind_name_en", "delivery_method", "office_id", "tracking_number", "from_status", "status", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., kind_name: _Optional[str] = ..., kind_name_en: _Optional[str] = ..., delivery_method: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., from_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApplicationCancelled(_message.Message):
    __slots__ = ("occurred_at", "application_id", "citizen_id", "city_code", "kind", "kind_name", "kind_name_en", "delivery_method", "office_id", "tracking_number", "from_status", "status", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_NAME_EN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_METHOD_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., city_code: _Optional[str] = ..., kind: _Optional[str] = ..., kind_name: _Optional[str] = ..., kind_name_en: _Optional[str] = ..., delivery_method: _Optional[str] = ..., office_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., from_status: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
