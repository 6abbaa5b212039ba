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
    __slots__ = ("occurred_at", "city_code", "business_code", "announcement")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCEMENT_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    city_code: str
    business_code: str
    announcement: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., city_code: _Optional[str] = ..., business_code: _Optional[str] = ..., announcement: _Optional[str] = ...) -> None: ...

class BusinessResumed(_message.Message):
    __slots__ = ("occurred_at", "city_code", "business_code")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    city_code: str
    business_code: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., city_code: _Optional[str] = ..., business_code: _Optional[str] = ...) -> None: ...
