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

class ImportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMPORT_FORMAT_UNSPECIFIED: _ClassVar[ImportFormat]
    IMPORT_FORMAT_JSON_LINES: _ClassVar[ImportFormat]
    IMPORT_FORMAT_CSV: _ClassVar[ImportFormat]
IMPORT_FORMAT_UNSPECIFIED: ImportFormat
IMPORT_FORMAT_JSON_LINES: ImportFormat
IMPORT_FORMAT_CSV: ImportFormat

class RequestCodeRequest(_message.Message):
    __slots__ = ("id_number", "name", "channel", "client_ip")
    ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    id_number: str
    name: str
    channel: _common_pb2.Channel
    client_ip: str
    def __init__(self, id_number: _Optional[str] = ..., name: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ..., client_ip: _Optional[str] = ...) -> None: ...

class RequestCodeResponse(_message.Message):
    __slots__ = ("resend_after_seconds",)
    RESEND_AFTER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    resend_after_seconds: int
    def __init__(self, resend_after_seconds: _Optional[int] = ...) -> None: ...

class SignInRequest(_message.Message):
    __slots__ = ("id_number", "name", "code", "channel")
    ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    id_number: str
    name: str
    code: str
    channel: _common_pb2.Channel
    def __init__(self, id_number: _Optional[str] = ..., name: _Optional[str] = ..., code: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ...) -> None: ...

class Tokens(_message.Message):
    __slots__ = ("access_token", "expires_in_seconds", "refresh_token", "citizen_id")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    expires_in_seconds: int
    refresh_token: str
    citizen_id: str
    def __init__(self, access_token: _Optional[str] = ..., expires_in_seconds: _Optional[int] = ..., refresh_token: _Optional[str] = ..., citizen_id: _Optional[str] = ...) -> None: ...

class SignInResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: Tokens
    def __init__(self, tokens: _Optional[_Union[Tokens, _Mapping]] = ...) -> None: ...

class RefreshResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: Tokens
    def __init__(self, tokens: _Optional[_Union[Tokens, _Mapping]] = ...) -> None: ...

class RefreshRequest(_message.Message):
    __slots__ = ("refresh_token", "channel")
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    refresh_token: str
    channel: _common_pb2.Channel
    def __init__(self, refresh_token: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ...) -> None: ...

class SignOutRequest(_message.Message):
    __slots__ = ("access_token", "channel")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    channel: _common_pb2.Channel
    def __init__(self, access_token: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ...) -> None: ...

class SignOutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AuthenticateRequest(_message.Message):
    __slots__ = ("access_token", "channel")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    channel: _common_pb2.Channel
    def __init__(self, access_token: _Optional[str] = ..., channel: _Optional[_Union[_common_pb2.Channel, str]] = ...) -> None: ...

class AuthenticateResponse(_message.Message):
    __slots__ = ("citizen_id", "session_id", "assurance_level", "assurance_expires_at")
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    citizen_id: str
    session_id: str
    assurance_level: str
    assurance_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, citizen_id: _Optional[str] = ..., session_id: _Optional[str] = ..., assurance_level: _Optional[str] = ..., assurance_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetSigningKeysRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SigningKey(_message.Message):
    __slots__ = ("key_id", "algorithm", "public_key")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    algorithm: str
    public_key: bytes
    def __init__(self, key_id: _Optional[str] = ..., algorithm: _Optional[str] = ..., public_key: _Optional[bytes] = ...) -> None: ...

class GetSigningKeysResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[SigningKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[SigningKey, _Mapping]]] = ...) -> None: ...

class GetMeRequest(_message.Message):
    __slots__ = ("citizen_id",)
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    citizen_id: str
    def __init__(self, citizen_id: _Optional[str] = ...) -> None: ...

class GetMeResponse(_message.Message):
    __slots__ = ("citizen_id", "masked_id_number", "name", "masked_phone", "city_code", "gender", "birth_date", "card_status", "card_expires_on")
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    MASKED_ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MASKED_PHONE_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    CARD_STATUS_FIELD_NUMBER: _ClassVar[int]
    CARD_EXPIRES_ON_FIELD_NUMBER: _ClassVar[int]
    citizen_id: str
    masked_id_number: str
    name: str
    masked_phone: str
    city_code: str
    gender: str
    birth_date: _common_pb2.Date
    card_status: str
    card_expires_on: _common_pb2.Date
    def __init__(self, citizen_id: _Optional[str] = ..., masked_id_number: _Optional[str] = ..., name: _Optional[str] = ..., masked_phone: _Optional[str] = ..., city_code: _Optional[str] = ..., gender: _Optional[str] = ..., birth_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., card_status: _Optional[str] = ..., card_expires_on: _Optional[_Union[_common_pb2.Date, _Mapping]] = ...) -> None: ...

class StartResidentImportRequest(_message.Message):
    __slots__ = ("format", "content")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    format: ImportFormat
    content: bytes
    def __init__(self, format: _Optional[_Union[ImportFormat, str]] = ..., content: _Optional[bytes] = ...) -> None: ...

class StartResidentImportResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: ResidentImport
    def __init__(self, job: _Optional[_Union[ResidentImport, _Mapping]] = ...) -> None: ...

class GetResidentImportRequest(_message.Message):
    __slots__ = ("import_id",)
    IMPORT_ID_FIELD_NUMBER: _ClassVar[int]
    import_id: str
    def __init__(self, import_id: _Optional[str] = ...) -> None: ...

class GetResidentImportResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: ResidentImport
    def __init__(self, job: _Optional[_Union[ResidentImport, _Mapping]] = ...) -> None: ...

class RowProblem(_message.Message):
    __slots__ = ("line", "field", "reason")
    LINE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    line: int
    field: str
    reason: str
    def __init__(self, line: _Optional[int] = ..., field: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ResidentImport(_message.Message):
    __slots__ = ("import_id", "state", "rows_done", "imported", "updated", "unchanged", "rejected", "rejections", "rows_per_second", "created_at", "started_at", "finished_at", "bytes_received", "error_code", "error")
    IMPORT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ROWS_DONE_FIELD_NUMBER: _ClassVar[int]
    IMPORTED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    ROWS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    BYTES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    import_id: str
    state: str
    rows_done: int
    imported: int
    updated: int
    unchanged: int
    rejected: int
    rejections: _containers.RepeatedCompositeFieldContainer[RowProblem]
    rows_per_second: float
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    bytes_received: int
    error_code: str
    error: RowProblem
    def __init__(self, import_id: _Optional[str] = ..., state: _Optional[str] = ..., rows_done: _Optional[int] = ..., imported: _Optional[int] = ..., updated: _Optional[int] = ..., unchanged: _Optional[int] = ..., rejected: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[RowProblem, _Mapping]]] = ..., rows_per_second: _Optional[float] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bytes_received: _Optional[int] = ..., error_code: _Optional[str] = ..., error: _Optional[_Union[RowProblem, _Mapping]] = ...) -> None: ...
