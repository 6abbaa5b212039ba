"""What happened in the booking domain, in the past tense."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # bookings.py needs model.py, which emits events: no import at run time
    from services.booking.domain.bookings import Booking, Snapshot, WaitlistEntry


@dataclass(frozen=True)
class CatalogueLoaded:
    city_codes: tuple[str, ...]
    office_count: int
    business_count: int


@dataclass(frozen=True)
class SlotsPublished:
    office_id: str
    first: dt.date
    last: dt.date
    created: int
    updated: int


@dataclass(frozen=True)
class BusinessSuspended:
    city_code: str
    business_code: str
    announcement: str
    announcement_en: str = ""


@dataclass(frozen=True)
class BookingAffectedBySuspension:
    """One per active booking of a business just suspended: its citizen is told."""

    booking: Booking
    announcement: str
    announcement_en: str = ""


@dataclass(frozen=True)
class BusinessResumed:
    city_code: str
    business_code: str


@dataclass(frozen=True)
class BookingConfirmed:
    booking: Booking


@dataclass(frozen=True)
class BookingCancelled:
    booking: Booking


@dataclass(frozen=True)
class BookingRescheduled:
    booking: Booking
    old_date: dt.date
    old_start: dt.time


@dataclass(frozen=True)
class WaitlistOfferMade:
    entry: WaitlistEntry
    snapshot: Snapshot
    date: dt.date
    start: dt.time
    hold_minutes: int


@dataclass(frozen=True)
class WaitlistOfferExpired:
    entry: WaitlistEntry
    snapshot: Snapshot
    date: dt.date
    start: dt.time


@dataclass(frozen=True)
class PreApplicationApproved:
    pre_application_id: str
    citizen_id: str
    city_code: str
    business_name: str
    business_name_en: str = ""
    #: Until when the booking entitlement the approval issued can be used.
    expires_at: dt.datetime | None = None
    note: str = ""


@dataclass(frozen=True)
class PreApplicationSubmitted:
    """A citizen submitted (or resubmitted) a pre-application: it joins the queue."""

    pre_application_id: str
    citizen_id: str
    city_code: str
    business_code: str


@dataclass(frozen=True)
class PreApplicationRejected:
    pre_application_id: str
    citizen_id: str
    city_code: str
    business_name: str
    business_name_en: str
    reason: str


@dataclass(frozen=True)
class PreApplicationMaterialRequested:
    """A reviewer asked for more material; the citizen adds it and resubmits."""

    pre_application_id: str
    citizen_id: str
    city_code: str
    business_name: str
    business_name_en: str
    note: str


Event = (
    CatalogueLoaded
    | SlotsPublished
    | BusinessSuspended
    | BookingAffectedBySuspension
    | BusinessResumed
    | BookingConfirmed
    | BookingCancelled
    | BookingRescheduled
    | WaitlistOfferMade
    | WaitlistOfferExpired
    | PreApplicationApproved
    | PreApplicationSubmitted
    | PreApplicationRejected
    | PreApplicationMaterialRequested
)
