from mintong.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Handling(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HANDLING_UNSPECIFIED: _ClassVar[Handling]
    HANDLING_ONLINE: _ClassVar[Handling]
    HANDLING_WINDOW: _ClassVar[Handling]
    HANDLING_ONLINE_OR_WINDOW: _ClassVar[Handling]

class BusinessStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUSINESS_STATUS_UNSPECIFIED: _ClassVar[BusinessStatus]
    BUSINESS_STATUS_ACTIVE: _ClassVar[BusinessStatus]
    BUSINESS_STATUS_SUSPENDED: _ClassVar[BusinessStatus]

class CatalogueFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATALOGUE_FORMAT_UNSPECIFIED: _ClassVar[CatalogueFormat]
    CATALOGUE_FORMAT_YAML: _ClassVar[CatalogueFormat]
    CATALOGUE_FORMAT_JSON: _ClassVar[CatalogueFormat]
HANDLING_UNSPECIFIED: Handling
HANDLING_ONLINE: Handling
HANDLING_WINDOW: Handling
HANDLING_ONLINE_OR_WINDOW: Handling
BUSINESS_STATUS_UNSPECIFIED: BusinessStatus
BUSINESS_STATUS_ACTIVE: BusinessStatus
BUSINESS_STATUS_SUSPENDED: BusinessStatus
CATALOGUE_FORMAT_UNSPECIFIED: CatalogueFormat
CATALOGUE_FORMAT_YAML: CatalogueFormat
CATALOGUE_FORMAT_JSON: CatalogueFormat

class City(_message.Message):
    __slots__ = ("code", "name", "time_zone", "booking_policy", "name_en")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    BOOKING_POLICY_FIELD_NUMBER: _ClassVar[int]
    NAME_EN_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    time_zone: str
    booking_policy: BookingPolicy
    name_en: str
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., time_zone: _Optional[str] = ..., booking_policy: _Optional[_Union[BookingPolicy, _Mapping]] = ..., name_en: _Optional[str] = ...) -> None: ...

class BookingPolicy(_message.Message):
    __slots__ = ("horizon_days", "release_time", "cancel_cutoff_minutes", "hold_minutes", "entry_exit_reasons", "suspended_destinations")
    HORIZON_DAYS_FIELD_NUMBER: _ClassVar[int]
    RELEASE_TIME_FIELD_NUMBER: _ClassVar[int]
    CANCEL_CUTOFF_MINUTES_FIELD_NUMBER: _ClassVar[int]
    HOLD_MINUTES_FIELD_NUMBER: _ClassVar[int]
    ENTRY_EXIT_REASONS_FIELD_NUMBER: _ClassVar[int]
    SUSPENDED_DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    horizon_days: int
    release_time: _common_pb2.TimeOfDay
    cancel_cutoff_minutes: int
    hold_minutes: int
    entry_exit_reasons: _containers.RepeatedCompositeFieldContainer[EntryExitReason]
    suspended_destinations: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, horizon_days: _Optional[int] = ..., release_time: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ..., cancel_cutoff_minutes: _Optional[int] = ..., hold_minutes: _Optional[int] = ..., entry_exit_reasons: _Optional[_Iterable[_Union[EntryExitReason, _Mapping]]] = ..., suspended_destinations: _Optional[_Iterable[str]] = ...) -> None: ...

class EntryExitReason(_message.Message):
    __slots__ = ("code", "name", "name_en", "evidence", "evidence_en")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_EN_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_EN_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    name_en: str
    evidence: _containers.RepeatedScalarFieldContainer[str]
    evidence_en: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., name_en: _Optional[str] = ..., evidence: _Optional[_Iterable[str]] = ..., evidence_en: _Optional[_Iterable[str]] = ...) -> None: ...

class Business(_message.Message):
    __slots__ = ("city_code", "code", "category", "name", "service_guide", "materials", "phone", "duration_minutes", "handling", "requires_pre_application", "channels", "status", "announcement", "name_en", "service_guide_en", "materials_en", "announcement_en", "entry_exit_reasons", "suspended_destinations")
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_GUIDE_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    HANDLING_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_PRE_APPLICATION_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCEMENT_FIELD_NUMBER: _ClassVar[int]
    NAME_EN_FIELD_NUMBER: _ClassVar[int]
    SERVICE_GUIDE_EN_FIELD_NUMBER: _ClassVar[int]
    MATERIALS_EN_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCEMENT_EN_FIELD_NUMBER: _ClassVar[int]
    ENTRY_EXIT_REASONS_FIELD_NUMBER: _ClassVar[int]
    SUSPENDED_DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    city_code: str
    code: str
    category: str
    name: str
    service_guide: str
    materials: _containers.RepeatedScalarFieldContainer[str]
    phone: str
    duration_minutes: int
    handling: Handling
    requires_pre_application: bool
    channels: _containers.RepeatedScalarFieldContainer[_common_pb2.Channel]
    status: BusinessStatus
    announcement: str
    name_en: str
    service_guide_en: str
    materials_en: _containers.RepeatedScalarFieldContainer[str]
    announcement_en: str
    entry_exit_reasons: _containers.RepeatedCompositeFieldContainer[EntryExitReason]
    suspended_destinations: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, city_code: _Optional[str] = ..., code: _Optional[str] = ..., category: _Optional[str] = ..., name: _Optional[str] = ..., service_guide: _Optional[str] = ..., materials: _Optional[_Iterable[str]] = ..., phone: _Optional[str] = ..., duration_minutes: _Optional[int] = ..., handling: _Optional[_Union[Handling, str]] = ..., requires_pre_application: _Optional[bool] = ..., channels: _Optional[_Iterable[_Union[_common_pb2.Channel, str]]] = ..., status: _Optional[_Union[BusinessStatus, str]] = ..., announcement: _Optional[str] = ..., name_en: _Optional[str] = ..., service_guide_en: _Optional[str] = ..., materials_en: _Optional[_Iterable[str]] = ..., announcement_en: _Optional[str] = ..., entry_exit_reasons: _Optional[_Iterable[_Union[EntryExitReason, _Mapping]]] = ..., suspended_destinations: _Optional[_Iterable[str]] = ...) -> None: ...

class OpeningHours(_message.Message):
    __slots__ = ("weekday", "opens", "closes")
    WEEKDAY_FIELD_NUMBER: _ClassVar[int]
    OPENS_FIELD_NUMBER: _ClassVar[int]
    CLOSES_FIELD_NUMBER: _ClassVar[int]
    weekday: int
    opens: _common_pb2.TimeOfDay
    closes: _common_pb2.TimeOfDay
    def __init__(self, weekday: _Optional[int] = ..., opens: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ..., closes: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ...) -> None: ...

class Office(_message.Message):
    __slots__ = ("id", "city_code", "name", "kind", "address", "location", "phone", "opening_hours", "walk_in_allowed", "visit_requirements", "business_codes", "name_en", "address_en", "visit_requirements_en")
    ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    OPENING_HOURS_FIELD_NUMBER: _ClassVar[int]
    WALK_IN_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    VISIT_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODES_FIELD_NUMBER: _ClassVar[int]
    NAME_EN_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_EN_FIELD_NUMBER: _ClassVar[int]
    VISIT_REQUIREMENTS_EN_FIELD_NUMBER: _ClassVar[int]
    id: str
    city_code: str
    name: str
    kind: str
    address: str
    location: _common_pb2.GeoPoint
    phone: str
    opening_hours: _containers.RepeatedCompositeFieldContainer[OpeningHours]
    walk_in_allowed: bool
    visit_requirements: _containers.RepeatedScalarFieldContainer[str]
    business_codes: _containers.RepeatedScalarFieldContainer[str]
    name_en: str
    address_en: str
    visit_requirements_en: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., city_code: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., address: _Optional[str] = ..., location: _Optional[_Union[_common_pb2.GeoPoint, _Mapping]] = ..., phone: _Optional[str] = ..., opening_hours: _Optional[_Iterable[_Union[OpeningHours, _Mapping]]] = ..., walk_in_allowed: _Optional[bool] = ..., visit_requirements: _Optional[_Iterable[str]] = ..., business_codes: _Optional[_Iterable[str]] = ..., name_en: _Optional[str] = ..., address_en: _Optional[str] = ..., visit_requirements_en: _Optional[_Iterable[str]] = ...) -> None: ...

class Slot(_message.Message):
    __slots__ = ("id", "office_id", "group", "date", "start", "end", "capacity", "booked", "remaining")
    ID_FIELD_NUMBER: _ClassVar[int]
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    BOOKED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    id: int
    office_id: str
    group: str
    date: _common_pb2.Date
    start: _common_pb2.TimeOfDay
    end: _common_pb2.TimeOfDay
    capacity: int
    booked: int
    remaining: int
    def __init__(self, id: _Optional[int] = ..., office_id: _Optional[str] = ..., group: _Optional[str] = ..., date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., start: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ..., end: _Optional[_Union[_common_pb2.TimeOfDay, _Mapping]] = ..., capacity: _Optional[int] = ..., booked: _Optional[int] = ..., remaining: _Optional[int] = ...) -> None: ...

class ListCitiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCitiesResponse(_message.Message):
    __slots__ = ("cities",)
    CITIES_FIELD_NUMBER: _ClassVar[int]
    cities: _containers.RepeatedCompositeFieldContainer[City]
    def __init__(self, cities: _Optional[_Iterable[_Union[City, _Mapping]]] = ...) -> None: ...

class ListBusinessesRequest(_message.Message):
    __slots__ = ("city_code",)
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    city_code: str
    def __init__(self, city_code: _Optional[str] = ...) -> None: ...

class ListBusinessesResponse(_message.Message):
    __slots__ = ("businesses",)
    BUSINESSES_FIELD_NUMBER: _ClassVar[int]
    businesses: _containers.RepeatedCompositeFieldContainer[Business]
    def __init__(self, businesses: _Optional[_Iterable[_Union[Business, _Mapping]]] = ...) -> None: ...

class ListOfficesRequest(_message.Message):
    __slots__ = ("city_code", "business_code", "origin")
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    city_code: str
    business_code: str
    origin: _common_pb2.GeoPoint
    def __init__(self, city_code: _Optional[str] = ..., business_code: _Optional[str] = ..., origin: _Optional[_Union[_common_pb2.GeoPoint, _Mapping]] = ...) -> None: ...

class OfficeEntry(_message.Message):
    __slots__ = ("office", "distance_km", "earliest_available_slot")
    OFFICE_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_KM_FIELD_NUMBER: _ClassVar[int]
    EARLIEST_AVAILABLE_SLOT_FIELD_NUMBER: _ClassVar[int]
    office: Office
    distance_km: float
    earliest_available_slot: Slot
    def __init__(self, office: _Optional[_Union[Office, _Mapping]] = ..., distance_km: _Optional[float] = ..., earliest_available_slot: _Optional[_Union[Slot, _Mapping]] = ...) -> None: ...

class ListOfficesResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[OfficeEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[OfficeEntry, _Mapping]]] = ...) -> None: ...

class ListSlotsRequest(_message.Message):
    __slots__ = ("office_id", "business_code", "from_date", "to_date", "free_only")
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    FREE_ONLY_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    business_code: str
    from_date: _common_pb2.Date
    to_date: _common_pb2.Date
    free_only: bool
    def __init__(self, office_id: _Optional[str] = ..., business_code: _Optional[str] = ..., from_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., to_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., free_only: _Optional[bool] = ...) -> None: ...

class ListSlotsResponse(_message.Message):
    __slots__ = ("slots",)
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    slots: _containers.RepeatedCompositeFieldContainer[Slot]
    def __init__(self, slots: _Optional[_Iterable[_Union[Slot, _Mapping]]] = ...) -> None: ...

class LoadCatalogueRequest(_message.Message):
    __slots__ = ("content", "format")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    format: CatalogueFormat
    def __init__(self, content: _Optional[bytes] = ..., format: _Optional[_Union[CatalogueFormat, str]] = ...) -> None: ...

class LoadCatalogueResponse(_message.Message):
    __slots__ = ("city_codes", "office_count", "business_count")
    CITY_CODES_FIELD_NUMBER: _ClassVar[int]
    OFFICE_COUNT_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_COUNT_FIELD_NUMBER: _ClassVar[int]
    city_codes: _containers.RepeatedScalarFieldContainer[str]
    office_count: int
    business_count: int
    def __init__(self, city_codes: _Optional[_Iterable[str]] = ..., office_count: _Optional[int] = ..., business_count: _Optional[int] = ...) -> None: ...

class PublishSlotsRequest(_message.Message):
    __slots__ = ("office_id", "city_code", "from_date", "to_date")
    OFFICE_ID_FIELD_NUMBER: _ClassVar[int]
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    office_id: str
    city_code: str
    from_date: _common_pb2.Date
    to_date: _common_pb2.Date
    def __init__(self, office_id: _Optional[str] = ..., city_code: _Optional[str] = ..., from_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ..., to_date: _Optional[_Union[_common_pb2.Date, _Mapping]] = ...) -> None: ...

class PublishSlotsResponse(_message.Message):
    __slots__ = ("created_count", "updated_count")
    CREATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    created_count: int
    updated_count: int
    def __init__(self, created_count: _Optional[int] = ..., updated_count: _Optional[int] = ...) -> None: ...

class SuspendBusinessRequest(_message.Message):
    __slots__ = ("city_code", "business_code", "announcement", "announcement_en")
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCEMENT_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCEMENT_EN_FIELD_NUMBER: _ClassVar[int]
    city_code: str
    business_code: str
    announcement: str
    announcement_en: str
    def __init__(self, city_code: _Optional[str] = ..., business_code: _Optional[str] = ..., announcement: _Optional[str] = ..., announcement_en: _Optional[str] = ...) -> None: ...

class SuspendBusinessResponse(_message.Message):
    __slots__ = ("business",)
    BUSINESS_FIELD_NUMBER: _ClassVar[int]
    business: Business
    def __init__(self, business: _Optional[_Union[Business, _Mapping]] = ...) -> None: ...

class ResumeBusinessRequest(_message.Message):
    __slots__ = ("city_code", "business_code")
    CITY_CODE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_CODE_FIELD_NUMBER: _ClassVar[int]
    city_code: str
    business_code: str
    def __init__(self, city_code: _Optional[str] = ..., business_code: _Optional[str] = ...) -> None: ...

class ResumeBusinessResponse(_message.Message):
    __slots__ = ("business",)
    BUSINESS_FIELD_NUMBER: _ClassVar[int]
    business: Business
    def __init__(self, business: _Optional[_Union[Business, _Mapping]] = ...) -> None: ...
