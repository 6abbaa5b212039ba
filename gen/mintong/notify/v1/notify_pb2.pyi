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

class DeliveryChannel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_CHANNEL_UNSPECIFIED: _ClassVar[DeliveryChannel]
    DELIVERY_CHANNEL_SMS: _ClassVar[DeliveryChannel]
    DELIVERY_CHANNEL_WECHAT: _ClassVar[DeliveryChannel]
    DELIVERY_CHANNEL_APP_PUSH: _ClassVar[DeliveryChannel]
    DELIVERY_CHANNEL_INBOX: _ClassVar[DeliveryChannel]

class DeliveryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_STATUS_UNSPECIFIED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_QUEUED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_SENDING: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_DELIVERED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_FAILED: _ClassVar[DeliveryStatus]

class SandboxMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SANDBOX_MODE_UNSPECIFIED: _ClassVar[SandboxMode]
    SANDBOX_MODE_DELIVER: _ClassVar[SandboxMode]
    SANDBOX_MODE_FAIL_PERMANENTLY: _ClassVar[SandboxMode]
    SANDBOX_MODE_FAIL_TRANSIENTLY: _ClassVar[SandboxMode]
    SANDBOX_MODE_SLOW: _ClassVar[SandboxMode]
    SANDBOX_MODE_AWAIT_RECEIPT: _ClassVar[SandboxMode]
DELIVERY_CHANNEL_UNSPECIFIED: DeliveryChannel
DELIVERY_CHANNEL_SMS: DeliveryChannel
DELIVERY_CHANNEL_WECHAT: DeliveryChannel
DELIVERY_CHANNEL_APP_PUSH: DeliveryChannel
DELIVERY_CHANNEL_INBOX: DeliveryChannel
DELIVERY_STATUS_UNSPECIFIED: DeliveryStatus
DELIVERY_STATUS_QUEUED: DeliveryStatus
DELIVERY_STATUS_SENDING: DeliveryStatus
DELIVERY_STATUS_DELIVERED: DeliveryStatus
DELIVERY_STATUS_FAILED: DeliveryStatus
SANDBOX_MODE_UNSPECIFIED: SandboxMode
SANDBOX_MODE_DELIVER: SandboxMode
SANDBOX_MODE_FAIL_PERMANENTLY: SandboxMode
SANDBOX_MODE_FAIL_TRANSIENTLY: SandboxMode
SANDBOX_MODE_SLOW: SandboxMode
SANDBOX_MODE_AWAIT_RECEIPT: SandboxMode

class Delivery(_message.Message):
    __slots__ = ("id", "channel", "status", "reason", "attempts", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    channel: DeliveryChannel
    status: DeliveryStatus
    reason: str
    attempts: int
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., channel: _Optional[_Union[DeliveryChannel, str]] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., reason: _Optional[str] = ..., attempts: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("id", "citizen_id", "template", "title", "body", "created_at", "read", "deliveries")
    ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    id: str
    citizen_id: str
    template: str
    title: str
    body: str
    created_at: _timestamp_pb2.Timestamp
    read: bool
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    def __init__(self, id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., template: _Optional[str] = ..., title: _Optional[str] = ..., body: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., read: _Optional[bool] = ..., deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ...) -> None: ...

class SendMessageRequest(_message.Message):
    __slots__ = ("citizen_id", "template", "variables", "city_code", "idempotency_key", "phone")
    class VariablesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    citizen_id: str
    template: str
    variables: _containers.ScalarMap[str, str]
    city_code: str
    idempotency_key: str
    phone: str
    def __init__(self, citizen_id: _Optional[str] = ..., template: _Optional[str] = ..., variables: _Optional[_Mapping[str, str]] = ..., city_code: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., phone: _Optional[str] = ...) -> None: ...

class SendMessageResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: Message
    def __init__(self, message: _Optional[_Union[Message, _Mapping]] = ...) -> None: ...

class GetMessageRequest(_message.Message):
    __slots__ = ("message_id",)
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    def __init__(self, message_id: _Optional[str] = ...) -> None: ...

class GetMessageResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: Message
    def __init__(self, message: _Optional[_Union[Message, _Mapping]] = ...) -> None: ...

class ListInboxRequest(_message.Message):
    __slots__ = ("citizen_id", "page")
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    citizen_id: str
    page: _common_pb2.PageRequest
    def __init__(self, citizen_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListInboxResponse(_message.Message):
    __slots__ = ("messages", "page", "unread_count")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    UNREAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    page: _common_pb2.PageInfo
    unread_count: int
    def __init__(self, messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ..., unread_count: _Optional[int] = ...) -> None: ...

class MarkReadRequest(_message.Message):
    __slots__ = ("citizen_id", "message_id")
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    citizen_id: str
    message_id: str
    def __init__(self, citizen_id: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...

class MarkReadResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: Message
    def __init__(self, message: _Optional[_Union[Message, _Mapping]] = ...) -> None: ...

class Preferences(_message.Message):
    __slots__ = ("citizen_id", "language", "preferred_channel", "phone", "wechat_openids", "app_device_token")
    class WechatOpenidsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    WECHAT_OPENIDS_FIELD_NUMBER: _ClassVar[int]
    APP_DEVICE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    citizen_id: str
    language: str
    preferred_channel: DeliveryChannel
    phone: str
    wechat_openids: _containers.ScalarMap[str, str]
    app_device_token: str
    def __init__(self, citizen_id: _Optional[str] = ..., language: _Optional[str] = ..., preferred_channel: _Optional[_Union[DeliveryChannel, str]] = ..., phone: _Optional[str] = ..., wechat_openids: _Optional[_Mapping[str, str]] = ..., app_device_token: _Optional[str] = ...) -> None: ...

class GetPreferencesRequest(_message.Message):
    __slots__ = ("citizen_id",)
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    citizen_id: str
    def __init__(self, citizen_id: _Optional[str] = ...) -> None: ...

class GetPreferencesResponse(_message.Message):
    __slots__ = ("preferences",)
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    preferences: Preferences
    def __init__(self, preferences: _Optional[_Union[Preferences, _Mapping]] = ...) -> None: ...

class SetPreferencesRequest(_message.Message):
    __slots__ = ("preferences",)
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    preferences: Preferences
    def __init__(self, preferences: _Optional[_Union[Preferences, _Mapping]] = ...) -> None: ...

class SetPreferencesResponse(_message.Message):
    __slots__ = ("preferences",)
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    preferences: Preferences
    def __init__(self, preferences: _Optional[_Union[Preferences, _Mapping]] = ...) -> None: ...

class SetLanguageRequest(_message.Message):
    __slots__ = ("citizen_id", "language")
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    citizen_id: str
    language: str
    def __init__(self, citizen_id: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class SetLanguageResponse(_message.Message):
    __slots__ = ("preferences",)
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    preferences: Preferences
    def __init__(self, preferences: _Optional[_Union[Preferences, _Mapping]] = ...) -> None: ...

class SandboxMessage(_message.Message):
    __slots__ = ("provider", "channel", "to", "title", "body", "delivery_id", "recorded_at")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    provider: str
    channel: DeliveryChannel
    to: str
    title: str
    body: str
    delivery_id: str
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, provider: _Optional[str] = ..., channel: _Optional[_Union[DeliveryChannel, str]] = ..., to: _Optional[str] = ..., title: _Optional[str] = ..., body: _Optional[str] = ..., delivery_id: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListSandboxMessagesRequest(_message.Message):
    __slots__ = ("to", "limit")
    TO_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    to: str
    limit: int
    def __init__(self, to: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListSandboxMessagesResponse(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[SandboxMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[SandboxMessage, _Mapping]]] = ...) -> None: ...

class SetSandboxBehaviourRequest(_message.Message):
    __slots__ = ("channel", "mode", "times", "delay_seconds")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    TIMES_FIELD_NUMBER: _ClassVar[int]
    DELAY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    channel: DeliveryChannel
    mode: SandboxMode
    times: int
    delay_seconds: float
    def __init__(self, channel: _Optional[_Union[DeliveryChannel, str]] = ..., mode: _Optional[_Union[SandboxMode, str]] = ..., times: _Optional[int] = ..., delay_seconds: _Optional[float] = ...) -> None: ...

class SetSandboxBehaviourResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RecordReceiptRequest(_message.Message):
    __slots__ = ("provider", "provider_ref", "status", "reason")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_REF_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    provider: str
    provider_ref: str
    status: DeliveryStatus
    reason: str
    def __init__(self, provider: _Optional[str] = ..., provider_ref: _Optional[str] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class RecordReceiptResponse(_message.Message):
    __slots__ = ("delivery",)
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery: Delivery
    def __init__(self, delivery: _Optional[_Union[Delivery, _Mapping]] = ...) -> None: ...
