import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from mintong.common.v1 import common_pb2 as _common_pb2
from mintong.identity.v1 import identity_pb2 as _identity_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BindingKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BINDING_KIND_UNSPECIFIED: _ClassVar[BindingKind]
    BINDING_KIND_WECHAT: _ClassVar[BindingKind]
    BINDING_KIND_APP_DEVICE: _ClassVar[BindingKind]

class FaceResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FACE_RESULT_UNSPECIFIED: _ClassVar[FaceResult]
    FACE_RESULT_MATCH: _ClassVar[FaceResult]
    FACE_RESULT_NO_MATCH: _ClassVar[FaceResult]
BINDING_KIND_UNSPECIFIED: BindingKind
BINDING_KIND_WECHAT: BindingKind
BINDING_KIND_APP_DEVICE: BindingKind
FACE_RESULT_UNSPECIFIED: FaceResult
FACE_RESULT_MATCH: FaceResult
FACE_RESULT_NO_MATCH: FaceResult

class Binding(_message.Message):
    __slots__ = ("id", "kind", "city_code", "label", "created_at", "last_used_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: BindingKind
    city_code: str
    label: str
    created_at: _timestamp_pb2.Timestamp
    last_used_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[BindingKind, str]] = ..., city_code: _Optional[str] = ..., label: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_used_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BindWeChatRequest(_message.Message):
    __slots__ = ("access_token", "channel", "city_code", "code")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    channel: _common_pb2.Channel
    city_code: str
    code: str
    def __init__(self, access_token: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., city_code: _Optional[str] = ..., code: _Optional[str] = ...) -> None: ...

class BindWeChatResponse(_message.Message):
    __slots__ = ("binding", "created")
    BINDING_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    binding: Binding
    created: bool
    def __init__(self, binding: _Optional[_Union[Binding, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class BindDeviceRequest(_message.Message):
    __slots__ = ("access_token", "channel", "device_id", "public_key", "label")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    channel: _common_pb2.Channel
    device_id: str
    public_key: bytes
    label: str
    def __init__(self, access_token: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., device_id: _Optional[str] = ..., public_key: _Optional[bytes] = ..., label: _Optional[str] = ...) -> None: ...

class BindDeviceResponse(_message.Message):
    __slots__ = ("binding", "created")
    BINDING_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    binding: Binding
    created: bool
    def __init__(self, binding: _Optional[_Union[Binding, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class ListBindingsRequest(_message.Message):
    __slots__ = ("access_token", "channel")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    channel: _common_pb2.Channel
    def __init__(self, access_token: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ...) -> None: ...

class ListBindingsResponse(_message.Message):
    __slots__ = ("bindings",)
    BINDINGS_FIELD_NUMBER: _ClassVar[int]
    bindings: _containers.RepeatedCompositeFieldContainer[Binding]
    def __init__(self, bindings: _Optional[_Iterable[_Union[Binding, _Mapping]]] = ...) -> None: ...

class RemoveBindingRequest(_message.Message):
    __slots__ = ("access_token", "channel", "binding_id")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    BINDING_ID_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    channel: _common_pb2.Channel
    binding_id: str
    def __init__(self, access_token: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., binding_id: _Optional[str] = ...) -> None: ...

class RemoveBindingResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SignInWithWeChatRequest(_message.Message):
    __slots__ = ("city_code", "code", "channel")
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    city_code: str
    code: str
    channel: _common_pb2.Channel
    def __init__(self, city_code: _Optional[str] = ..., code: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ...) -> None: ...

class SignInWithWeChatResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _identity_pb2.Tokens
    def __init__(self, tokens: _Optional[_Union[_identity_pb2.Tokens, _Mapping]] = ...) -> None: ...

class CreateDeviceChallengeRequest(_message.Message):
    __slots__ = ("device_id", "channel", "client_ip")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    channel: _common_pb2.Channel
    client_ip: str
    def __init__(self, device_id: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., client_ip: _Optional[str] = ...) -> None: ...

class CreateDeviceChallengeResponse(_message.Message):
    __slots__ = ("nonce", "expires_in_seconds")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    nonce: str
    expires_in_seconds: int
    def __init__(self, nonce: _Optional[str] = ..., expires_in_seconds: _Optional[int] = ...) -> None: ...

class SignInWithDeviceRequest(_message.Message):
    __slots__ = ("device_id", "nonce", "signature", "channel")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    nonce: str
    signature: bytes
    channel: _common_pb2.Channel
    def __init__(self, device_id: _Optional[str] = ..., nonce: _Optional[str] = ..., signature: _Optional[bytes] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ...) -> None: ...

class SignInWithDeviceResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _identity_pb2.Tokens
    def __init__(self, tokens: _Optional[_Union[_identity_pb2.Tokens, _Mapping]] = ...) -> None: ...

class VerifyFaceRequest(_message.Message):
    __slots__ = ("access_token", "channel", "liveness_token")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LIVENESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    channel: _common_pb2.Channel
    liveness_token: str
    def __init__(self, access_token: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., liveness_token: _Optional[str] = ...) -> None: ...

class VerifyFaceResponse(_message.Message):
    __slots__ = ("result", "assurance_level", "assurance_expires_at", "failures_left")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    FAILURES_LEFT_FIELD_NUMBER: _ClassVar[int]
    result: FaceResult
    assurance_level: str
    assurance_expires_at: _timestamp_pb2.Timestamp
    failures_left: int
    def __init__(self, result: _Optional[_Union[FaceResult, str]] = ..., assurance_level: _Optional[str] = ..., assurance_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., failures_left: _Optional[int] = ...) -> None: ...

class DeclineFaceRequest(_message.Message):
    __slots__ = ("access_token", "channel")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    channel: _common_pb2.Channel
    def __init__(self, access_token: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ...) -> None: ...

class Alternative(_message.Message):
    __slots__ = ("kind", "business_code", "city_code", "detail")
    KIND_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    kind: str
    business_code: str
    city_code: str
    detail: str
    def __init__(self, kind: _Optional[str] = ..., business_code: _Optional[str] = ..., city_code: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class DeclineFaceResponse(_message.Message):
    __slots__ = ("alternative",)
    ALTERNATIVE_FIELD_NUMBER: _ClassVar[int]
    alternative: Alternative
    def __init__(self, alternative: _Optional[_Union[Alternative, _Mapping]] = ...) -> None: ...
