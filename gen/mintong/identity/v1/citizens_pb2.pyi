from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CitizenSummary(_message.Message):
    __slots__ = ("citizen_id", "masked_name", "masked_id_number", "city_code")
    CITIZEN_ID_FIELD_NUMBER: _ClassVar[int]
    MASKED_NAME_FIELD_NUMBER: _ClassVar[int]
    MASKED_ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    citizen_id: str
    masked_name: str
    masked_id_number: str
    city_code: str
    def __init__(self, citizen_id: _Optional[str] = ..., masked_name: _Optional[str] = ..., masked_id_number: _Optional[str] = ..., city_code: _Optional[str] = ...) -> None: ...

class FindCitizenRequest(_message.Message):
    __slots__ = ("id_number",)
    ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    id_number: str
    def __init__(self, id_number: _Optional[str] = ...) -> None: ...

class FindCitizenResponse(_message.Message):
    __slots__ = ("citizen",)
    CITIZEN_FIELD_NUMBER: _ClassVar[int]
    citizen: CitizenSummary
    def __init__(self, citizen: _Optional[_Union[CitizenSummary, _Mapping]] = ...) -> None: ...

class GetCitizensRequest(_message.Message):
    __slots__ = ("citizen_ids",)
    CITIZEN_IDS_FIELD_NUMBER: _ClassVar[int]
    citizen_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, citizen_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetCitizensResponse(_message.Message):
    __slots__ = ("citizens",)
    CITIZENS_FIELD_NUMBER: _ClassVar[int]
    citizens: _containers.RepeatedCompositeFieldContainer[CitizenSummary]
    def __init__(self, citizens: _Optional[_Iterable[_Union[CitizenSummary, _Mapping]]] = ...) -> None: ...
