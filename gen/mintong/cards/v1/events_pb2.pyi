import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mintong.cards.v1 import cards_pb2 as _cards_pb2
from mintong.events.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ApplicationSubmitted(_message.Message):
    __slots__ = ("occurred_at", "application")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application: _cards_pb2.ApplicationFacts
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[_Union[_cards_pb2.ApplicationFacts, _Mapping]] = ...) -> None: ...

class ApplicationChecksFailed(_message.Message):
    __slots__ = ("occurred_at", "application", "reason_codes")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    REASON_CODES_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application: _cards_pb2.ApplicationFacts
    reason_codes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[_Union[_cards_pb2.ApplicationFacts, _Mapping]] = ..., reason_codes: _Optional[_Iterable[str]] = ...) -> None: ...

class ApplicationChecksPassed(_message.Message):
    __slots__ = ("occurred_at", "application")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application: _cards_pb2.ApplicationFacts
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[_Union[_cards_pb2.ApplicationFacts, _Mapping]] = ...) -> None: ...

class ApplicationApproved(_message.Message):
    __slots__ = ("occurred_at", "application")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application: _cards_pb2.ApplicationFacts
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[_Union[_cards_pb2.ApplicationFacts, _Mapping]] = ...) -> None: ...

class ApplicationRejected(_message.Message):
    __slots__ = ("occurred_at", "application")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application: _cards_pb2.ApplicationFacts
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[_Union[_cards_pb2.ApplicationFacts, _Mapping]] = ...) -> None: ...

class ApplicationInProduction(_message.Message):
    __slots__ = ("occurred_at", "application", "batch_id")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application: _cards_pb2.ApplicationFacts
    batch_id: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[_Union[_cards_pb2.ApplicationFacts, _Mapping]] = ..., batch_id: _Optional[str] = ...) -> None: ...

class CardProduced(_message.Message):
    __slots__ = ("occurred_at", "application")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application: _cards_pb2.ApplicationFacts
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[_Union[_cards_pb2.ApplicationFacts, _Mapping]] = ...) -> None: ...

class ApplicationShipped(_message.Message):
    __slots__ = ("occurred_at", "application")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application: _cards_pb2.ApplicationFacts
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[_Union[_cards_pb2.ApplicationFacts, _Mapping]] = ...) -> None: ...

class ApplicationDelivered(_message.Message):
    __slots__ = ("occurred_at", "application")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application: _cards_pb2.ApplicationFacts
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[_Union[_cards_pb2.ApplicationFacts, _Mapping]] = ...) -> None: ...

class ApplicationDeliveryFailed(_message.Message):
    __slots__ = ("occurred_at", "application")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application: _cards_pb2.ApplicationFacts
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[_Union[_cards_pb2.ApplicationFacts, _Mapping]] = ...) -> None: ...

class ApplicationReturned(_message.Message):
    __slots__ = ("occurred_at", "application")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application: _cards_pb2.ApplicationFacts
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[_Union[_cards_pb2.ApplicationFacts, _Mapping]] = ...) -> None: ...

class ApplicationReadyForPickup(_message.Message):
    __slots__ = ("occurred_at", "application")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application: _cards_pb2.ApplicationFacts
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[_Union[_cards_pb2.ApplicationFacts, _Mapping]] = ...) -> None: ...

class ApplicationCollected(_message.Message):
    __slots__ = ("occurred_at", "application")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application: _cards_pb2.ApplicationFacts
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[_Union[_cards_pb2.ApplicationFacts, _Mapping]] = ...) -> None: ...

class ApplicationCancelled(_message.Message):
    __slots__ = ("occurred_at", "application")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    application: _cards_pb2.ApplicationFacts
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., application: _Optional[_Union[_cards_pb2.ApplicationFacts, _Mapping]] = ...) -> None: ...
