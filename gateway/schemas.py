"""The JSON shapes of the gateway, and their translation from the services' protos."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from gateway.language import pick, pick_list
from mintong.booking.v1 import catalogue_pb2 as pb
from services.runtime.proto_values import CHANNEL_NAMES, date_of, hhmm
from services.runtime.text import LONG, SHORT, text_problem

_HANDLING = {
    pb.HANDLING_ONLINE: "online",
    pb.HANDLING_WINDOW: "window",
    pb.HANDLING_ONLINE_OR_WINDOW: "online_or_window",
}
_STATUS = {pb.BUSINESS_STATUS_ACTIVE: "active", pb.BUSINESS_STATUS_SUSPENDED: "suspended"}


# Text the services may store: one rule (services/runtime/text.py), checked here
# before any service sees it, and stated in the schema as far as JSON Schema can.

_ONE_LINE = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
_MULTILINE = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"


@dataclass(frozen=True)
class Stored:
    """``Annotated[str, Stored(64)]``: a string a service may store. No NUL, control
    characters (tabs and line breaks too unless ``multiline``) or lone surrogates,
    ``min_length`` to ``max_length`` characters; refused as ``invalid_text`` naming
    the field. Works in bodies and in ``Query``/``Path``/``Header`` parameters."""

    max_length: int = SHORT
    min_length: int = 0
    multiline: bool = False

    def _check(self, value: str) -> str:
        reason = text_problem(value, multiline=self.multiline, max_length=self.max_length)
        if reason is not None:
            # The error's type is the problem's code (problems._OWN_CODES).
            raise PydanticCustomError("invalid_text", "{reason}", {"reason": reason})
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        checked = core_schema.str_schema(min_length=self.min_length or None, max_length=self.max_length)
        return core_schema.no_info_after_validator_function(self._check, checked)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        answer: dict[str, Any] = handler(schema)
        answer["pattern"] = _MULTILINE if self.multiline else _ONE_LINE
        return answer


Text = Annotated[str, Stored()]
LongText = Annotated[str, Stored(LONG, multiline=True)]


def _iso_date(value: object) -> object:
    # Pydantic takes a number as a Unix time ("0" is 1970-01-01); the API documents
    # YYYY-MM-DD and takes nothing else.
    if isinstance(value, int | float) or (isinstance(value, str) and not ISO_DATE.fullmatch(value)):
        raise PydanticCustomError("date_format", "must be a date as YYYY-MM-DD")
    return value


def either(first: tuple[str, str], second: tuple[str, str]) -> dict[str, Any]:
    """JSON Schema for "exactly one of two fields" (each ``(name, JSON type)``), the
    other absent or null: a rule the gateway or a service checks, stated."""

    def only(one: tuple[str, str], other: tuple[str, str]) -> dict[str, Any]:
        return {"required": [one[0]], "properties": {one[0]: {"type": one[1]}, other[0]: {"type": "null"}}}

    return {"oneOf": [only(first, second), only(second, first)]}


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: A day, as YYYY-MM-DD only.
Day = Annotated[dt.date, BeforeValidator(_iso_date)]
#: A code of the catalogue (city, business, office): what its file allows.
CodeText = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class EntryExitReason(BaseModel):
    code: str = Field(description="What a booking gives as `reason_code`.")
    name: str = Field(description="In the language of Accept-Language.")
    evidence: list[str] = Field(
        default=[],
        description="What to bring to show the reason (a policy's, decision 59), in that language.",
    )

    @classmethod
    def all_of(cls, reasons: Iterable[pb.EntryExitReason], language: str) -> list[EntryExitReason]:
        return [
            cls(
                code=r.code,
                name=pick(language, r.name, r.name_en),
                evidence=pick_list(language, r.evidence, r.evidence_en),
            )
            for r in reasons
        ]


class BookingPolicy(BaseModel):
    horizon_days: int = Field(description="Slots can be booked this many days ahead, today included…")
    release_time: str = Field(description="…and the last of those days opens at this local time (HH:MM).")
    cancel_cutoff_minutes: int = Field(description="Cancel or move a booking until this long before it.")
    hold_minutes: int = Field(description="How long a place freed for the waitlist is held for its first.")
    entry_exit_reasons: list[EntryExitReason] = Field(
        description="Entry-exit appointments are only for these reasons (`reason_code` when booking)."
    )
    suspended_destinations: list[str] = Field(
        description="Entry-exit appointments are refused for these destinations (ISO 3166 alpha-2)."
    )


class City(BaseModel):
    code: str
    name: str = Field(description="In the language of Accept-Language.")
    time_zone: str
    booking_policy: BookingPolicy

    @classmethod
    def of(cls, c: pb.City, language: str) -> City:
        p = c.booking_policy
        return cls(
            code=c.code,
            name=pick(language, c.name, c.name_en),
            time_zone=c.time_zone,
            booking_policy=BookingPolicy(
                horizon_days=p.horizon_days,
                release_time=hhmm(p.release_time),
                cancel_cutoff_minutes=p.cancel_cutoff_minutes,
                hold_minutes=p.hold_minutes,
                entry_exit_reasons=EntryExitReason.all_of(p.entry_exit_reasons, language),
                suspended_destinations=list(p.suspended_destinations),
            ),
        )


class Business(BaseModel):
    """Texts in the language of Accept-Language."""

    code: str
    category: str
    name: str
    service_guide: str
    materials: list[str]
    phone: str
    duration_minutes: int
    handling: Literal["online", "window", "online_or_window"]
    requires_pre_application: bool
    channels: list[Literal["app", "wechat", "web"]]
    offered_on_this_channel: bool = Field(description="Whether the channel of the request offers it.")
    status: Literal["active", "suspended"]
    announcement: str = Field(description="Why it is suspended, as the bureau announced it.")
    entry_exit_reasons: list[EntryExitReason] = Field(
        default=[], description="Entry-exit businesses: the reasons a booking may give (`reason_code`)."
    )
    suspended_destinations: list[str] = Field(
        default=[], description="Entry-exit businesses: destinations (ISO 3166 alpha-2) refused for now."
    )

    @classmethod
    def of(cls, b: pb.Business, channel: str, language: str) -> Business:
        channels = [CHANNEL_NAMES[c] for c in b.channels]
        return cls(
            code=b.code,
            category=b.category,
            name=pick(language, b.name, b.name_en),
            service_guide=pick(language, b.service_guide, b.service_guide_en),
            materials=pick_list(language, b.materials, b.materials_en),
            phone=b.phone,
            duration_minutes=b.duration_minutes,
            handling=_HANDLING[b.handling],  # type: ignore[arg-type]
            requires_pre_application=b.requires_pre_application,
            channels=channels,  # type: ignore[arg-type]
            offered_on_this_channel=channel in channels,
            status=_STATUS[b.status],  # type: ignore[arg-type]
            announcement=pick(language, b.announcement, b.announcement_en),
            entry_exit_reasons=EntryExitReason.all_of(b.entry_exit_reasons, language),
            suspended_destinations=list(b.suspended_destinations),
        )


class Location(BaseModel):
    lat: float
    lng: float


class OpeningHours(BaseModel):
    weekday: int = Field(description="ISO weekday: 1 = Monday … 7 = Sunday.")
    opens: str
    closes: str


class Office(BaseModel):
    """Texts in the language of Accept-Language."""

    id: str
    city: str
    name: str
    kind: str
    address: str
    location: Location
    phone: str
    opening_hours: list[OpeningHours]
    walk_in_allowed: bool
    visit_requirements: list[str]
    businesses: list[str]

    @classmethod
    def of(cls, o: pb.Office, language: str) -> Office:
        return cls(
            id=o.id,
            city=o.city_code,
            name=pick(language, o.name, o.name_en),
            kind=o.kind,
            address=pick(language, o.address, o.address_en),
            location=Location(lat=o.location.latitude, lng=o.location.longitude),
            phone=o.phone,
            opening_hours=[
                OpeningHours(weekday=h.weekday, opens=hhmm(h.opens), closes=hhmm(h.closes))
                for h in o.opening_hours
            ],
            walk_in_allowed=o.walk_in_allowed,
            visit_requirements=pick_list(language, o.visit_requirements, o.visit_requirements_en),
            businesses=list(o.business_codes),
        )


class Slot(BaseModel):
    id: int
    office_id: str
    date: dt.date
    start: str
    end: str
    capacity: int
    remaining: int = Field(description="Seats still free: capacity minus bookings.")

    @classmethod
    def of(cls, s: pb.Slot) -> Slot:
        return cls(
            id=s.id,
            office_id=s.office_id,
            date=date_of(s.date),
            start=hhmm(s.start),
            end=hhmm(s.end),
            capacity=s.capacity,
            remaining=s.remaining,
        )


class OfficeEntry(BaseModel):
    office: Office
    distance_km: float | None = Field(None, description="Set when lat and lng were given.")
    earliest_available_slot: Slot | None = Field(
        None, description="The first slot with vacancy for the business asked about."
    )


class Cities(BaseModel):
    cities: list[City]


class Businesses(BaseModel):
    businesses: list[Business]


class Offices(BaseModel):
    offices: list[OfficeEntry]


class Slots(BaseModel):
    slots: list[Slot]
