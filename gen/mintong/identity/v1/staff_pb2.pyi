from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StaffRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAFF_ROLE_UNSPECIFIED: _ClassVar[StaffRole]
    STAFF_ROLE_WINDOW_CLERK: _ClassVar[StaffRole]
    STAFF_ROLE_REVIEWER: _ClassVar[StaffRole]
    STAFF_ROLE_ADMINISTRATOR: _ClassVar[StaffRole]
    STAFF_ROLE_SRE: _ClassVar[StaffRole]
STAFF_ROLE_UNSPECIFIED: StaffRole
STAFF_ROLE_WINDOW_CLERK: StaffRole
STAFF_ROLE_REVIEWER: StaffRole
STAFF_ROLE_ADMINISTRATOR: StaffRole
STAFF_ROLE_SRE: StaffRole

class StaffMember(_message.Message):
    __slots__ = ("staff_id", "username", "display_name", "role", "office_id", "active")
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    staff_id: str
    username: str
    display_name: str
    role: StaffRole
    office_id: str
    active: bool
    def __init__(self, staff_id: _Optional[str] = ..., username: _Optional[str] = ..., display_name: _Optional[str] = ..., role: _Optional[_Union[StaffRole, str]] = ..., office_id: _Optional[str] = ..., active: _Optional[bool] = ...) -> None: ...

class StaffServiceSignInRequest(_message.Message):
    __slots__ = ("username", "password", "client_ip")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    username: str
    password: str
    client_ip: str
    def __init__(self, username: _Optional[str] = ..., password: _Optional[str] = ..., client_ip: _Optional[str] = ...) -> None: ...

class StaffServiceSignInResponse(_message.Message):
    __slots__ = ("access_token", "expires_in_seconds", "staff")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STAFF_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    expires_in_seconds: int
    staff: StaffMember
    def __init__(self, access_token: _Optional[str] = ..., expires_in_seconds: _Optional[int] = ..., staff: _Optional[_Union[StaffMember, _Mapping]] = ...) -> None: ...

class StaffServiceSignOutRequest(_message.Message):
    __slots__ = ("access_token",)
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    def __init__(self, access_token: _Optional[str] = ...) -> None: ...

class StaffServiceSignOutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StaffServiceAuthenticateRequest(_message.Message):
    __slots__ = ("access_token",)
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    def __init__(self, access_token: _Optional[str] = ...) -> None: ...

class StaffServiceAuthenticateResponse(_message.Message):
    __slots__ = ("staff_id", "username", "role", "office_id", "session_id")
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    staff_id: str
    username: str
    role: StaffRole
    office_id: str
    session_id: str
    def __init__(self, staff_id: _Optional[str] = ..., username: _Optional[str] = ..., role: _Optional[_Union[StaffRole, str]] = ..., office_id: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class CreateStaffRequest(_message.Message):
    __slots__ = ("username", "display_name", "role", "office_id", "password")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    username: str
    display_name: str
    role: StaffRole
    office_id: str
    password: str
    def __init__(self, username: _Optional[str] = ..., display_name: _Optional[str] = ..., role: _Optional[_Union[StaffRole, str]] = ..., office_id: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class CreateStaffResponse(_message.Message):
    __slots__ = ("staff",)
    STAFF_FIELD_NUMBER: _ClassVar[int]
    staff: StaffMember
    def __init__(self, staff: _Optional[_Union[StaffMember, _Mapping]] = ...) -> None: ...

class ListStaffRequest(_message.Message):
    __slots__ = ("role", "office_id")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    role: StaffRole
    office_id: str
    def __init__(self, role: _Optional[_Union[StaffRole, str]] = ..., office_id: _Optional[str] = ...) -> None: ...

class ListStaffResponse(_message.Message):
    __slots__ = ("staff",)
    STAFF_FIELD_NUMBER: _ClassVar[int]
    staff: _containers.RepeatedCompositeFieldContainer[StaffMember]
    def __init__(self, staff: _Optional[_Iterable[_Union[StaffMember, _Mapping]]] = ...) -> None: ...

class SetStaffActiveRequest(_message.Message):
    __slots__ = ("staff_id", "active")
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    staff_id: str
    active: bool
    def __init__(self, staff_id: _Optional[str] = ..., active: _Optional[bool] = ...) -> None: ...

class SetStaffActiveResponse(_message.Message):
    __slots__ = ("staff",)
    STAFF_FIELD_NUMBER: _ClassVar[int]
    staff: StaffMember
    def __init__(self, staff: _Optional[_Union[StaffMember, _Mapping]] = ...) -> None: ...

class SetStaffRoleRequest(_message.Message):
    __slots__ = ("staff_id", "role", "office_id")
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    staff_id: str
    role: StaffRole
    office_id: str
    def __init__(self, staff_id: _Optional[str] = ..., role: _Optional[_Union[StaffRole, str]] = ..., office_id: _Optional[str] = ...) -> None: ...

class SetStaffRoleResponse(_message.Message):
    __slots__ = ("staff",)
    STAFF_FIELD_NUMBER: _ClassVar[int]
    staff: StaffMember
    def __init__(self, staff: _Optional[_Union[StaffMember, _Mapping]] = ...) -> None: ...
