from mintong.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetCardHolderRequest(_message.Message):
    __slots__ = ("citizen_id",)
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    citizen_id: str
    def __init__(self, citizen_id: _Optional[str] = ...) -> None: ...

class CardHolder(_message.Message):
    __slots__ = ("citizen_id", "id_number", "name", "gender", "birth_date", "phone", "city_code", "household_address", "photo_captured_on", "fingerprint_on_file", "card_number", "card_issued_on", "card_expires_on", "card_status", "residence_city_code", "residence_address", "residence_registered_on")
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    HOUSEHOLD_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PHOTO_CAPTURED_ON_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_ON_FILE_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CARD_ISSUED_ON_FIELD_NUMBER: _ClassVar[int]
    CARD_EXPIRES_ON_FIELD_NUMBER: _ClassVar[int]
    CARD_STATUS_FIELD_NUMBER: _ClassVar[int]
    RESIDENCE_CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    RESIDENCE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    RESIDENCE_REGISTERED_ON_FIELD_NUMBER: _ClassVar[int]
    citizen_id: str
    id_number: str
    name: str
    gender: str
    birth_date: _common_pb2.Date
    phone: str
    city_code: str
    household_address: str
    photo_captured_on: _common_pb2.Date
    fingerprint_on_file: bool
    card_number: str
    card_issued_on: _common_pb2.Date
    card_expires_on: _common_pb2.Date
    card_status: str
    residence_city_code: str
    residence_address: str
    residence_registered_on: _common_pb2.Date
    def __init__(self, citizen_id: _Optional[str] = ..., id_number: _Optional[str] = ..., name: _Optional[str] = ..., gender: _Optional[str] = ..., birth_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., phone: _Optional[str] = ..., city_code: _Optional[str] = ..., household_address: _Optional[str] = ..., photo_captured_on: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., fingerprint_on_file: _Optional[bool] = ..., card_number: _Optional[str] = ..., card_issued_on: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., card_expires_on: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., card_status: _Optional[str] = ..., residence_city_code: _Optional[str] = ..., residence_address: _Optional[str] = ..., residence_registered_on: _Optional[_Union[_common_pb2.Date, _Mapping]] = ...) -> None: ...

class GetCardHolderResponse(_message.Message):
    __slots__ = ("holder",)
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    holder: CardHolder
    def __init__(self, holder: _Optional[_Union[CardHolder, _Mapping]] = ...) -> None: ...

class GetCardHoldersRequest(_message.Message):
    __slots__ = ("citizen_ids", "session_ids")
    CITIZEN_IDS_FIELD_NUMBER: _ClassVar[int]
    SESSION_IDS_FIELD_NUMBER: _ClassVar[int]
    citizen_ids: _containers.RepeatedScalarFieldContainer[str]
    session_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, citizen_ids: _Optional[_Iterable[str]] = ..., session_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SessionAssurance(_message.Message):
    __slots__ = ("session_id", "citizen_id", "assurance_level")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    citizen_id: str
    assurance_level: str
    def __init__(self, session_id: _Optional[str] = ..., citizen_id: _Optional[str] = ..., assurance_level: _Optional[str] = ...) -> None: ...

class GetCardHoldersResponse(_message.Message):
    __slots__ = ("holders", "sessions")
    HOLDERS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    holders: _containers.RepeatedCompositeFieldContainer[CardHolder]
    sessions: _containers.RepeatedCompositeFieldContainer[SessionAssurance]
    def __init__(self, holders: _Optional[_Iterable[_Union[CardHolder, _Mapping]]] = ..., sessions: _Optional[_Iterable[_Union[SessionAssurance, _Mapping]]] = ...) -> None: ...

class ReportCardLostRequest(_message.Message):
    __slots__ = ("citizen_id", "application_id")
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    citizen_id: str
    application_id: str
    def __init__(self, citizen_id: _Optional[str] = ..., application_id: _Optional[str] = ...) -> None: ...

class ReportCardLostResponse(_message.Message):
    __slots__ = ("card_status",)
    CARD_STATUS_FIELD_NUMBER: _ClassVar[int]
    card_status: str
    def __init__(self, card_status: _Optional[str] = ...) -> None: ...

class RecordNewCardRequest(_message.Message):
    __slots__ = ("citizen_id", "application_id", "card_number", "issued_on", "expires_on")
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ISSUED_ON_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_ON_FIELD_NUMBER: _ClassVar[int]
    citizen_id: str
    application_id: str
    card_number: str
    issued_on: _common_pb2.Date
    expires_on: _common_pb2.Date
    def __init__(self, citizen_id: _Optional[str] = ..., application_id: _Optional[str] = ..., card_number: _Optional[str] = ..., issued_on: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., expires_on: _Optional[_Union[_common_pb2.Date, _Mapping]] = ...) -> None: ...

class RecordNewCardResponse(_message.Message):
    __slots__ = ("card_status",)
    CARD_STATUS_FIELD_NUMBER: _ClassVar[int]
    card_status: str
    def __init__(self, card_status: _Optional[str] = ...) -> None: ...

class ReportCardsLostRequest(_message.Message):
    __slots__ = ("reports",)
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[ReportCardLostRequest]
    def __init__(self, reports: _Optional[_Iterable[_Union[ReportCardLostRequest, _Mapping]]] = ...) -> None: ...

class RecordNewCardsRequest(_message.Message):
    __slots__ = ("cards",)
    CARDS_FIELD_NUMBER: _ClassVar[int]
    cards: _containers.RepeatedCompositeFieldContainer[RecordNewCardRequest]
    def __init__(self, cards: _Optional[_Iterable[_Union[RecordNewCardRequest, _Mapping]]] = ...) -> None: ...

class CardChange(_message.Message):
    __slots__ = ("card_status", "problem")
    CARD_STATUS_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    card_status: str
    problem: _common_pb2.Problem
    def __init__(self, card_status: _Optional[str] = ..., problem: _Optional[_Union[_common_pb2.Problem, _Mapping]] = ...) -> None: ...

class ReportCardsLostResponse(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[CardChange]
    def __init__(self, changes: _Optional[_Iterable[_Union[CardChange, _Mapping]]] = ...) -> None: ...

class RecordNewCardsResponse(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[CardChange]
    def __init__(self, changes: _Optional[_Iterable[_Union[CardChange, _Mapping]]] = ...) -> None: ...
