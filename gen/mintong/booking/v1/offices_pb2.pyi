from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FindOfficesRequest(_message.Message):
    __slots__ = ("office_ids",)
    OFFICE_IDS_FIELD_NUMBER: _ClassVar[int]
    office_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, office_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class KnownOffice(_message.Message):
    __slots__ = ("id", "city_code", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    city_code: str
    name: str
    def __init__(self, id: _Optional[str] = ..., city_code: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class FindOfficesResponse(_message.Message):
    __slots__ = ("offices",)
    OFFICES_FIELD_NUMBER: _ClassVar[int]
    offices: _containers.RepeatedCompositeFieldContainer[KnownOffice]
    def __init__(self, offices: _Optional[_Iterable[_Union[KnownOffice, _Mapping]]] = ...) -> None: ...
