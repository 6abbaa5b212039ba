"""What happened in the booking domain, in the past tense."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# The catalogue's events live apart so that model.py, which emits them, need not
# import this module (it names bookings.py's classes, and bookings.py needs model.py).
from services.booking.domain.bookings import Booking, Snapshot, WaitlistEntry
from services.booking.domain.catalogue_events import (
    BusinessResumed,
    BusinessSuspended,
    CatalogueLoaded,
    SlotsPublished,
)
from services.booking.domain.hall import Ticket

__all__ = [
    "BookingAffectedBySuspension",
    "BookingCancelled",
    "BookingCancelledByClosure",
    "BookingConfirmed",
    "BookingRescheduled",
    "BusinessResumed",
    "BusinessSuspended",
    "CatalogueLoaded",
    "Event",
    "PolicyChanged",
    "PreApplicationApproved",
    "SlotsPublished",
    "TicketComingUp",
    "TicketIssued",
    "WaitlistOfferExpired",
    "WaitlistOfferMade",
]


@dataclass(frozen=True)
class BookingAffectedBySuspension:
    """One per active booking of a business just suspended: its citizen is told."""

    booking: Booking
    announcement: str
    announcement_en: str = ""


@dataclass(frozen=True)
class BookingConfirmed:
    booking: Booking


@dataclass(frozen=True)
class BookingCancelled:
    booking: Booking


@dataclass(frozen=True)
class BookingCancelledByClosure:
    """An office closure (a policy) cancelled this booking: its citizen is told, once."""

    booking: Booking
    policy_id: str
    first_day: dt.date
    last_day: dt.date
    reason: str
    reason_en: str = ""


@dataclass(frozen=True)
class PolicyChanged:
    """A policy was made, came into force or lapsed (decision 59)."""

    policy_id: str
    city_code: str
    kind: str
    subject: str
    state: str
    effective_from: dt.datetime
    effective_until: dt.datetime | None


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


@dataclass(frozen=True)
class TicketIssued:
    """A booking checked in: its citizen is told their number and the wait."""

    ticket: Ticket
    snapshot: Snapshot
    ahead: int
    wait_minutes: int


@dataclass(frozen=True)
class TicketComingUp:
    """Few enough tickets are ahead that the citizen should come to the counters."""

    ticket: Ticket
    snapshot: Snapshot
    ahead: int


Event = (
    CatalogueLoaded
    | SlotsPublished
    | BusinessSuspended
    | BookingAffectedBySuspension
    | BusinessResumed
    | BookingConfirmed
    | BookingCancelled
    | BookingCancelledByClosure
    | PolicyChanged
    | BookingRescheduled
    | WaitlistOfferMade
    | WaitlistOfferExpired
    | PreApplicationApproved
    | PreApplicationSubmitted
    | PreApplicationRejected
    | PreApplicationMaterialRequested
    | TicketIssued
    | TicketComingUp
)
