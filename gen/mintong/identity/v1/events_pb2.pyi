import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mintong.events.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CitizenContactsChanged(_message.Message):
    __slots__ = ("occurred_at", "citizen_id", "phone_sealed", "wechat_openids_sealed", "app_device_sealed")
    class WechatOpenidsSealedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_SEALED_FIELD_NUMBER: _ClassVar[int]
    WECHAT_OPENIDS_SEALED_FIELD_NUMBER: _ClassVar[int]
    APP_DEVICE_SEALED_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    citizen_id: str
    phone_sealed: str
    wechat_openids_sealed: _containers.ScalarMap[str, str]
    app_device_sealed: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., citizen_id: _Optional[str] = ..., phone_sealed: _Optional[str] = ..., wechat_openids_sealed: _Optional[_Mapping[str, str]] = ..., app_device_sealed: _Optional[str] = ...) -> None: ...
