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

class PolicyState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POLICY_STATE_UNSPECIFIED: _ClassVar[PolicyState]
    POLICY_STATE_SCHEDULED: _ClassVar[PolicyState]
    POLICY_STATE_IN_FORCE: _ClassVar[PolicyState]
    POLICY_STATE_LAPSED: _ClassVar[PolicyState]
POLICY_STATE_UNSPECIFIED: PolicyState
POLICY_STATE_SCHEDULED: PolicyState
POLICY_STATE_IN_FORCE: PolicyState
POLICY_STATE_LAPSED: PolicyState

class BusinessSuspensionPolicy(_message.Message):
    __slots__ = ("business_code", "announcement", "announcement_en")
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCEMENT_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCEMENT_EN_FIELD_NUMBER: _ClassVar[int]
    business_code: str
    announcement: str
    announcement_en: str
    def __init__(self, business_code: _Optional[str] = ..., announcement: _Optional[str] = ..., announcement_en: _Optional[str] = ...) -> None: ...

class DestinationSuspensionPolicy(_message.Message):
    __slots__ = ("destination",)
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    destination: str
    def __init__(self, destination: _Optional[str] = ...) -> None: ...

class EntryExitReasonPolicy(_message.Message):
    __slots__ = ("code", "allowed", "name", "name_en", "evidence", "evidence_en")
    CODE_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_EN_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_EN_FIELD_NUMBER: _ClassVar[int]
    code: str
    allowed: bool
    name: str
    name_en: str
    evidence: _containers.RepeatedScalarFieldContainer[str]
    evidence_en: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, code: _Optional[str] = ..., allowed: _Optional[bool] = ..., name: _Optional[str] = ..., name_en: _Optional[str] = ..., evidence: _Optional[_Iterable[str]] = ..., evidence_en: _Optional[_Iterable[str]] = ...) -> None: ...

class VisitRequirementsPolicy(_message.Message):
    __slots__ = ("office_id", "requirements", "requirements_en")
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_EN_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    requirements: _containers.RepeatedScalarFieldContainer[str]
    requirements_en: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, office_id: _Optional[str] = ..., requirements: _Optional[_Iterable[str]] = ..., requirements_en: _Optional[_Iterable[str]] = ...) -> None: ...

class OfficeClosurePolicy(_message.Message):
    __slots__ = ("office_id", "from_date", "to_date", "reason", "reason_en")
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REASON_EN_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    from_date: _common_pb2.Date
    to_date: _common_pb2.Date
    reason: str
    reason_en: str
    def __init__(self, office_id: _Optional[str] = ..., from_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., to_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., reason: _Optional[str] = ..., reason_en: _Optional[str] = ...) -> None: ...

class Policy(_message.Message):
    __slots__ = ("id", "city_code", "effective_from", "effective_until", "state", "created_at", "created_by", "cancelled_count", "business_suspension", "destination_suspension", "entry_exit_reason", "visit_requirements", "office_closure")
    ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_COUNT_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_SUSPENSION_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_SUSPENSION_FIELD_NUMBER: _ClassVar[int]
    ENTRY_EXIT_REASON_FIELD_NUMBER: _ClassVar[int]
    VISIT_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    OFFICE_CLOSURE_FIELD_NUMBER: _ClassVar[int]
    id: str
    city_code: str
    effective_from: _timestamp_pb2.Timestamp
    effective_until: _timestamp_pb2.Timestamp
    state: PolicyState
    created_at: _timestamp_pb2.Timestamp
    created_by: str
    cancelled_count: int
    business_suspension: BusinessSuspensionPolicy
    destination_suspension: DestinationSuspensionPolicy
    entry_exit_reason: EntryExitReasonPolicy
    visit_requirements: VisitRequirementsPolicy
    office_closure: OfficeClosurePolicy
    def __init__(self, id: _Optional[str] = ..., city_code: _Optional[str] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., effective_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[PolicyState, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., cancelled_count: _Optional[int] = ..., business_suspension: _Optional[_Union[BusinessSuspensionPolicy, _Mapping]] = ..., destination_suspension: _Optional[_Union[DestinationSuspensionPolicy, _Mapping]] = ..., entry_exit_reason: _Optional[_Union[EntryExitReasonPolicy, _Mapping]] = ..., visit_requirements: _Optional[_Union[VisitRequirementsPolicy, _Mapping]] = ..., office_closure: _Optional[_Union[OfficeClosurePolicy, _Mapping]] = ...) -> None: ...

class CreatePolicyRequest(_message.Message):
    __slots__ = ("city_code", "effective_from", "effective_until", "business_suspension", "destination_suspension", "entry_exit_reason", "visit_requirements", "office_closure")
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_SUSPENSION_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_SUSPENSION_FIELD_NUMBER: _ClassVar[int]
    ENTRY_EXIT_REASON_FIELD_NUMBER: _ClassVar[int]
    VISIT_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    OFFICE_CLOSURE_FIELD_NUMBER: _ClassVar[int]
    city_code: str
    effective_from: _timestamp_pb2.Timestamp
    effective_until: _timestamp_pb2.Timestamp
    business_suspension: BusinessSuspensionPolicy
    destination_suspension: DestinationSuspensionPolicy
    entry_exit_reason: EntryExitReasonPolicy
    visit_requirements: VisitRequirementsPolicy
    office_closure: OfficeClosurePolicy
    def __init__(self, city_code: _Optional[str] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., effective_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., business_suspension: _Optional[_Union[BusinessSuspensionPolicy, _Mapping]] = ..., destination_suspension: _Optional[_Union[DestinationSuspensionPolicy, _Mapping]] = ..., entry_exit_reason: _Optional[_Union[EntryExitReasonPolicy, _Mapping]] = ..., visit_requirements: _Optional[_Union[VisitRequirementsPolicy, _Mapping]] = ..., office_closure: _Optional[_Union[OfficeClosurePolicy, _Mapping]] = ...) -> None: ...

class CreatePolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: Policy
    def __init__(self, policy: _Optional[_Union[Policy, _Mapping]] = ...) -> None: ...

class ListPoliciesRequest(_message.Message):
    __slots__ = ("city_code", "states")
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    city_code: str
    states: _containers.RepeatedScalarFieldContainer[PolicyState]
    def __init__(self, city_code: _Optional[str] = ..., states: _Optional[_Iterable[_Union[PolicyState, str]]] = ...) -> None: ...

class ListPoliciesResponse(_message.Message):
    __slots__ = ("policies",)
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    policies: _containers.RepeatedCompositeFieldContainer[Policy]
    def __init__(self, policies: _Optional[_Iterable[_Union[Policy, _Mapping]]] = ...) -> None: ...

class EndPolicyRequest(_message.Message):
    __slots__ = ("policy_id",)
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    def __init__(self, policy_id: _Optional[str] = ...) -> None: ...

class EndPolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: Policy
    def __init__(self, policy: _Optional[_Union[Policy, _Mapping]] = ...) -> None: ...
