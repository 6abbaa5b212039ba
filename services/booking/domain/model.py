"""The catalogue a citizen browses: cities, businesses, offices and slots.

Texts a citizen reads are Chinese first: ``name`` holds the zh-CN text and
``name_en`` its English twin, empty when the bureau wrote none (the Chinese then
serves every language). Lists (materials, visit requirements) have an ``_en`` twin
of the same length, or an empty one."""

from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass, field, replace

from services.booking.domain import catalogue_events as events
from services.booking.domain.rules import BookingRules
from services.runtime.errors import InvalidArgument, Kind

#: A citizen may ask for at most this many days of slots at once.
MAX_RANGE_DAYS = 31


class Handling(enum.Enum):
    ONLINE = "online"
    WINDOW = "window"
    ONLINE_OR_WINDOW = "online_or_window"


class BusinessStatus(enum.Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Channel(enum.Enum):
    APP = "app"
    WECHAT = "wechat"
    WEB = "web"


@dataclass(frozen=True)
class GeoPoint:
    latitude: float
    longitude: float

    def distance_km(self, other: GeoPoint) -> float:
        """Great-circle (haversine) distance; plenty for "which hall is nearest"."""
        lat1, lat2 = math.radians(self.latitude), math.radians(other.latitude)
        d_lat = lat2 - lat1
        d_lng = math.radians(other.longitude - self.longitude)
        a = math.sin(d_lat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(d_lng / 2) ** 2
        return 2 * 6371.0088 * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class City:
    code: str
    name: str
    time_zone: str
    rules: BookingRules = field(default_factory=BookingRules)
    name_en: str = ""


@dataclass(frozen=True)
class Business:
    city_code: str
    code: str
    category: str
    name: str
    service_guide: str
    materials: tuple[str, ...]
    phone: str
    duration_minutes: int
    handling: Handling
    requires_pre_application: bool
    channels: frozenset[Channel]
    status: BusinessStatus = BusinessStatus.ACTIVE
    announcement: str = ""
    name_en: str = ""
    service_guide_en: str = ""
    materials_en: tuple[str, ...] = ()
    announcement_en: str = ""

    @property
    def english_name(self) -> str:
        """For problem details, which are written in English: the Chinese where no
        English was written."""
        return self.name_en or self.name

    @property
    def english_announcement(self) -> str:
        return self.announcement_en or self.announcement

    def suspend(
        self, announcement: str, announcement_en: str = ""
    ) -> tuple[Business, events.BusinessSuspended]:
        if not announcement.strip():
            raise InvalidArgument(
                "announcement_required",
                "A suspension must tell citizens why, in an announcement.",
                field="announcement",
            )
        suspended = replace(
            self,
            status=BusinessStatus.SUSPENDED,
            announcement=announcement.strip(),
            announcement_en=announcement_en.strip(),
        )
        return suspended, events.BusinessSuspended(
            self.city_code, self.code, suspended.announcement, suspended.announcement_en
        )

    def resume(self) -> tuple[Business, events.BusinessResumed | None]:
        """Resuming an active business changes nothing and tells no one."""
        if self.status is BusinessStatus.ACTIVE:
            return self, None
        resumed = replace(self, status=BusinessStatus.ACTIVE, announcement="", announcement_en="")
        return resumed, events.BusinessResumed(self.city_code, self.code)


@dataclass(frozen=True)
class OpeningPeriod:
    weekday: int  # ISO: 1 = Monday
    opens: dt.time
    closes: dt.time


@dataclass(frozen=True)
class SlotGroup:
    """Businesses sharing one set of counters, hence one capacity per slot."""

    code: str
    business_codes: tuple[str, ...]
    capacity: int
    slot_minutes: int


@dataclass(frozen=True)
class Office:
    id: str
    city_code: str
    name: str
    kind: str
    address: str
    location: GeoPoint
    phone: str
    opening_hours: tuple[OpeningPeriod, ...]
    walk_in_allowed: bool
    visit_requirements: tuple[str, ...]
    slot_groups: tuple[SlotGroup, ...]
    closed_dates: frozenset[dt.date] = field(default_factory=frozenset)
    name_en: str = ""
    address_en: str = ""
    visit_requirements_en: tuple[str, ...] = ()

    @property
    def business_codes(self) -> tuple[str, ...]:
        return tuple(code for group in self.slot_groups for code in group.business_codes)

    def group_for(self, business_code: str) -> SlotGroup | None:
        return next((g for g in self.slot_groups if business_code in g.business_codes), None)

    def plan_slots(self, first: dt.date, last: dt.date) -> list[Slot]:
        """Slots the opening hours give for each group over ``first..last``: each
        opening period cut into slot-length pieces; a piece that would run past
        closing time is not offered."""
        planned: list[Slot] = []
        for day in dates_between(first, last):
            if day in self.closed_dates:
                continue
            for period in (p for p in self.opening_hours if p.weekday == day.isoweekday()):
                for group in self.slot_groups:
                    step = dt.timedelta(minutes=group.slot_minutes)
                    start = dt.datetime.combine(day, period.opens)
                    end_of_period = dt.datetime.combine(day, period.closes)
                    while start + step <= end_of_period:
                        planned.append(
                            Slot(
                                id=None,
                                office_id=self.id,
                                group=group.code,
                                date=day,
                                start=start.time(),
                                end=(start + step).time(),
                                capacity=group.capacity,
                                booked=0,
                            )
                        )
                        start += step
        return planned


@dataclass(frozen=True)
class Slot:
    id: int | None
    office_id: str
    group: str
    date: dt.date
    start: dt.time
    end: dt.time
    capacity: int
    booked: int
    #: Places held for citizens from the waitlist (taken until confirmed or expired).
    held: int = 0

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked - self.held, 0)

    def starts_at(self, tz: dt.tzinfo) -> dt.datetime:
        return dt.datetime.combine(self.date, self.start, tzinfo=tz)


@dataclass(frozen=True)
class OfficeEntry:
    """An office as a citizen looking for one sees it."""

    office: Office
    distance_km: float | None
    earliest_available: Slot | None


def dates_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def check_date_range(first: dt.date, last: dt.date, *, from_field: str = "from") -> None:
    if first > last:
        raise InvalidArgument(
            "invalid_date_range",
            f"{from_field} ({first}) is after to ({last}).",
            field=from_field,
            # Two well-formed dates a rule refuses together (no schema can say it): 422.
            kind=Kind.UNPROCESSABLE,
        )
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidArgument(
            "date_range_too_long",
            f"Ask for at most {MAX_RANGE_DAYS} days at once, not {(last - first).days + 1}.",
            field="to",
            kind=Kind.UNPROCESSABLE,
        )
