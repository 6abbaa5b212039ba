"""The hall: check-in, queue tickets and counters (issue 11, decision 49).

Pure: the service layer brings the booking, the office, the city's hall rules and
the time; the database numbers tickets and decides which clerk gets which one."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from services.booking.domain.bookings import Booking, BookingStatus, Refused
from services.booking.domain.rules import HallRules

#: The rank of a ticket of no priority group (groups rank 0, 1, … in the city's order).
NO_PRIORITY = 100
#: Assumed service time until an office has served enough tickets to measure one.
DEFAULT_SERVICE_TIME = dt.timedelta(minutes=5)
#: How many recent served tickets the average service time is taken over.
RECENT_SERVED = 20


@dataclass(frozen=True)
class HallOffice:
    """What the hall needs of an office and its city, read in one query (the whole
    Office, with its slot groups, costs three: check-in and calling are hot paths)."""

    id: str
    city_code: str
    time_zone: str
    walk_in_allowed: bool
    name: str
    name_en: str
    rules: HallRules
    #: Days an office closure in force keeps it shut (decision 59), local dates.
    closed_dates: frozenset[dt.date] = frozenset()

    def local_now(self, now: dt.datetime) -> dt.datetime:
        """Wall-clock time at the office, naive like the slot times stored for it."""
        return now.astimezone(ZoneInfo(self.time_zone)).replace(tzinfo=None)


class TicketStatus(enum.Enum):
    WAITING = "waiting"
    #: Called to a counter; the clerk there serves it (at most one per clerk).
    CALLED = "called"
    SERVED = "served"
    NO_SHOW = "no_show"


@dataclass(frozen=True)
class Ticket:
    id: str
    office_id: str
    city_code: str
    #: The office's local day the ticket belongs to (numbers restart each day).
    day: dt.date
    prefix: str
    number: int
    business_code: str
    #: None for a walk-in.
    booking_id: str | None
    citizen_id: str | None
    priority_group: str
    priority_rank: int
    #: The queue order after priority: the appointment's start (a walk-in: when it came), UTC.
    order_at: dt.datetime
    status: TicketStatus
    issued_at: dt.datetime
    counter: int | None = None
    clerk_id: str | None = None
    #: Who issued it: the clerk (``clerk:<id>@<office>``) or the citizen at a kiosk.
    issued_by: str = ""
    calls: int = 0
    called_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @property
    def code(self) -> str:
        """What the display shows and the clerk calls out: ``A012``."""
        return f"{self.prefix}{self.number:03d}"


@dataclass(frozen=True)
class Place:
    """Where a waiting ticket stands: how many are called before it, how many
    counters have a ticket called now, and the office's recent average service
    time (None until it has served one today)."""

    ahead: int
    counters: int
    average_service: dt.timedelta | None

    def wait(self) -> dt.timedelta:
        """``ahead`` tickets to be served first, shared by the counters open now."""
        if self.ahead == 0:
            return dt.timedelta()
        return (self.average_service or DEFAULT_SERVICE_TIME) * self.ahead / max(self.counters, 1)


@dataclass(frozen=True)
class QueueState:
    """An office's queue today, as a display shows it: no personal data."""

    office_id: str
    day: dt.date
    waiting: list[Ticket]
    called: list[Ticket]
    average_service: dt.timedelta
    counters_open: int

    def estimated_wait(self, ahead: int) -> dt.timedelta:
        """``ahead`` tickets to be served first, shared by the counters open now."""
        return Place(ahead, self.counters_open, self.average_service).wait()


def priority_rank(group: str, rules: HallRules) -> int:
    if not group:
        return NO_PRIORITY
    if group not in rules.priority_groups:
        raise Refused(
            "unknown_priority_group",
            f"Priority groups here are: {', '.join(rules.priority_groups) or 'none'}; not {group!r}.",
            field="priority_group",
            conflict=False,
        )
    return rules.priority_groups.index(group)


def queued_before(earlier: Ticket, later: Ticket) -> bool:
    """Whether a waiting ticket issued before ``later`` is called before it: by
    priority rank, then time; at the same time, in issue order."""
    return earlier.priority_rank < later.priority_rank or (
        earlier.priority_rank == later.priority_rank and earlier.order_at <= later.order_at
    )


def check_office(booking: Booking, office: HallOffice) -> None:
    if booking.office_id != office.id:
        raise Refused(
            "booking_at_another_office",
            f"This booking is at office {booking.office_id}, not {office.id}.",
            field="office_id",
            conflict=False,
        )


def check_checkin(booking: Booking, office: HallOffice, now: dt.datetime) -> None:
    """A booking checks in at its own office, on its day, within the window around
    its start (``now``: UTC)."""
    rules, local_now = office.rules, office.local_now(now)
    check_office(booking, office)
    # Before the status: a closure cancels its days' bookings, and its reason is the answer.
    check_open(office, local_now.date())
    if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN):
        raise Refused("booking_not_active", f"This booking is {booking.status.value}.", field="booking_id")
    if booking.date != local_now.date():
        raise Refused(
            "not_booking_day",
            f"This booking is for {booking.date}; check in on that day.",
            field="booking_id",
            conflict=False,
        )
    opens, closes = booking.starts_at - rules.checkin_early, booking.starts_at + rules.checkin_late
    if now < opens:
        early = int(rules.checkin_early.total_seconds() // 60)
        raise Refused(
            "checkin_too_early",
            f"Check-in opens {early} minutes before the appointment at {booking.start:%H:%M}.",
            field="booking_id",
            retry_after=opens - now,
        )
    if now > closes:
        late = int(rules.checkin_late.total_seconds() // 60)
        raise Refused(
            "checkin_too_late",
            f"Check-in closed {late} minutes after the appointment at {booking.start:%H:%M}; "
            "please book again.",
            field="booking_id",
            conflict=False,
        )


def check_open(office: HallOffice, day: dt.date) -> None:
    """No ticket on a day an office closure keeps the office shut: a walk-in is sent
    away with the reason, as a booking on that day is (``office_closed``)."""
    if day in office.closed_dates:
        raise Refused(
            "office_closed",
            f"{office.name_en or office.name} is closed on {day}; come another day or to another office.",
            field="office_id",
        )


def check_walk_in(office: HallOffice, now: dt.datetime) -> None:
    """A walk-in is taken where the office takes them, on a day it is open."""
    check_open(office, office.local_now(now).date())
    if not office.walk_in_allowed:
        raise Refused(
            "walk_in_not_allowed",
            f"{office.name_en or office.name} serves appointments only: book a time first.",
            field="office_id",
            conflict=False,
        )


def becomes_no_show(ticket: Ticket, rules: HallRules, now: dt.datetime) -> bool:
    """A called ticket whose citizen did not come: called too often, or too long ago."""
    if ticket.status is not TicketStatus.CALLED:
        return False
    if ticket.calls >= rules.max_calls:
        return True
    return ticket.called_at is not None and now - ticket.called_at >= rules.no_show_grace
