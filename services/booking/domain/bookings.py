"""Bookings and the waitlist: the rules a booking must pass, what a booking keeps,
and the waitlist's holds. Pure: the service layer brings the facts (the slot, the
business, the citizen's history, the time) and the database guards the counts."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import secrets
from dataclasses import dataclass

from services.booking.domain.model import Business, BusinessStatus, Channel, Handling, Office, Slot
from services.booking.domain.rules import ENTRY_EXIT_CATEGORY, BookingRules
from services.runtime.errors import Kind, ProblemError

#: Confirmation codes are read aloud and typed at kiosks: no 0/O, 1/I/L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


class BookingStatus(enum.Enum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    #: Its time passed without a check-in on record (freed the citizen's one active booking).
    LAPSED = "lapsed"
    NO_SHOW = "no_show"
    CHECKED_IN = "checked_in"


class WaitStatus(enum.Enum):
    WAITING = "waiting"
    #: A place is held for the citizen until ``hold_expires_at``.
    OFFERED = "offered"
    BOOKED = "booked"
    EXPIRED = "expired"
    LEFT = "left"


OPEN_WAIT_STATUSES = (WaitStatus.WAITING.value, WaitStatus.OFFERED.value)


class Refused(ProblemError):
    """A rule refused the request: 409 when the state of things is in the way
    (it may pass later), 422 when the request itself can never pass."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        conflict: bool = True,
        retry_after: dt.timedelta | None = None,
    ) -> None:
        super().__init__(code, detail, field=field, kind=Kind.CONFLICT if conflict else Kind.UNPROCESSABLE)
        if retry_after is not None:
            self.retry_after = int(retry_after.total_seconds()) + 1


@dataclass(frozen=True)
class BookingRequest:
    """What a citizen asks for; its fingerprint tells a retry from a different request."""

    slot_id: int
    business_code: str
    reason_code: str = ""
    destination: str = ""
    pre_application_id: str = ""

    def fingerprint(self) -> str:
        canonical = json.dumps(
            [self.slot_id, self.business_code, self.reason_code, self.destination, self.pre_application_id]
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """What the citizen was told when they booked, kept even if the catalogue changes:
    the Chinese texts, each with its English twin (empty: the Chinese serves)."""

    business_name: str
    service_guide: str
    materials: tuple[str, ...]
    phone: str
    office_name: str
    office_address: str
    office_phone: str
    visit_requirements: tuple[str, ...]
    business_name_en: str = ""
    service_guide_en: str = ""
    materials_en: tuple[str, ...] = ()
    office_name_en: str = ""
    office_address_en: str = ""
    visit_requirements_en: tuple[str, ...] = ()

    @classmethod
    def of(cls, business: Business, office: Office) -> Snapshot:
        return cls(
            business.name,
            business.service_guide,
            business.materials,
            business.phone,
            office.name,
            office.address,
            office.phone,
            office.visit_requirements,
            business.name_en,
            business.service_guide_en,
            business.materials_en,
            office.name_en,
            office.address_en,
            office.visit_requirements_en,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "business_name": self.business_name,
            "service_guide": self.service_guide,
            "materials": list(self.materials),
            "phone": self.phone,
            "office_name": self.office_name,
            "office_address": self.office_address,
            "office_phone": self.office_phone,
            "visit_requirements": list(self.visit_requirements),
            "business_name_en": self.business_name_en,
            "service_guide_en": self.service_guide_en,
            "materials_en": list(self.materials_en),
            "office_name_en": self.office_name_en,
            "office_address_en": self.office_address_en,
            "visit_requirements_en": list(self.visit_requirements_en),
        }

    @classmethod
    def from_json(cls, d: dict[str, object]) -> Snapshot:
        # Bookings made before the catalogue spoke two languages have no `_en` keys.
        return cls(
            str(d["business_name"]),
            str(d["service_guide"]),
            tuple(d["materials"]),  # type: ignore[arg-type]
            str(d["phone"]),
            str(d["office_name"]),
            str(d["office_address"]),
            str(d["office_phone"]),
            tuple(d["visit_requirements"]),  # type: ignore[arg-type]
            str(d.get("business_name_en", "")),
            str(d.get("service_guide_en", "")),
            tuple(d.get("materials_en", ())),  # type: ignore[arg-type]
            str(d.get("office_name_en", "")),
            str(d.get("office_address_en", "")),
            tuple(d.get("visit_requirements_en", ())),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class Booking:
    id: str
    citizen_id: str
    city_code: str
    business_code: str
    office_id: str
    slot_id: int
    date: dt.date
    start: dt.time
    end: dt.time
    starts_at: dt.datetime  # UTC
    status: BookingStatus
    confirmation_code: str
    channel: Channel
    snapshot: Snapshot
    created_at: dt.datetime
    reason_code: str = ""
    destination: str = ""
    pre_application_id: str = ""
    #: When its status or slot last changed.
    changed_at: dt.datetime | None = None


@dataclass(frozen=True)
class WaitlistEntry:
    id: str
    citizen_id: str
    city_code: str
    business_code: str
    office_id: str
    group_code: str
    #: None: the earliest place at this office for this business.
    slot_id: int | None
    status: WaitStatus
    channel: Channel
    created_at: dt.datetime
    request: BookingRequest | None = None
    held_slot_id: int | None = None
    hold_expires_at: dt.datetime | None = None
    booking_id: str | None = None


def new_confirmation_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def check_office_open(office: Office, slot: Slot) -> None:
    """An office closure (a policy in force, decision 59) takes no booking on its
    days; the slots' ``closed`` flag refuses one in the database as well."""
    if slot.date in office.closed_dates:
        raise Refused(
            "office_closed",
            f"{office.name_en or office.name} is closed on {slot.date}; choose another day or office.",
            field="slot_id",
        )


def check_business(
    business: Business, channel: Channel, request: BookingRequest, rules: BookingRules
) -> None:
    """The rules a business and the request's own fields impose, before any slot."""
    if business.status is BusinessStatus.SUSPENDED:
        raise Refused(
            "business_suspended",
            f"{business.english_name} is suspended: {business.english_announcement}",
            field="business",
        )
    if business.handling is Handling.ONLINE:
        raise Refused(
            "business_online_only",
            f"{business.english_name} is handled fully online; there is no window appointment to book.",
            field="business",
            conflict=False,
        )
    if channel not in business.channels:
        offered = ", ".join(sorted(c.value for c in business.channels)) or "no channel"
        raise Refused(
            "channel_not_offered",
            f"{business.english_name} cannot be booked on {channel.value}; it is offered on {offered}.",
            field="X-Mintong-Channel",
            conflict=False,
        )
    if business.requires_pre_application and not request.pre_application_id:
        raise Refused(
            "pre_application_required",
            f"{business.english_name} needs an approved online pre-application first; "
            "book once you have the notice that it can be handled.",
            field="pre_application_id",
            conflict=False,
        )
    if business.category == ENTRY_EXIT_CATEGORY:
        if request.reason_code not in rules.entry_exit_reasons:
            raise Refused(
                "entry_exit_reason_not_allowed",
                "Entry-exit documents are issued only for these reasons: "
                + ", ".join(rules.entry_exit_reasons)
                + (
                    f"; not {request.reason_code!r}." if request.reason_code else "; name one in reason_code."
                ),
                field="reason_code",
                conflict=False,
            )
        destination = request.destination.strip().upper()
        if not destination:
            raise Refused(
                "destination_required", "Name the destination country.", field="destination", conflict=False
            )
        if destination in rules.suspended_destinations:
            raise Refused(
                "destination_suspended",
                f"Endorsements to {destination} are suspended; no appointment can be booked for it.",
                field="destination",
                conflict=False,
            )


def check_slot_open(slot: Slot, rules: BookingRules, local_now: dt.datetime) -> None:
    """The slot has not started and lies within the open booking horizon."""
    if dt.datetime.combine(slot.date, slot.start) <= local_now:
        raise Refused("slot_started", "That slot has already started.", field="slot_id", conflict=False)
    last = rules.last_bookable_date(local_now)
    if slot.date > last:
        if slot.date == last + dt.timedelta(days=1) and local_now.time() < rules.release_time:
            opens = dt.datetime.combine(local_now.date(), rules.release_time)
            raise Refused(
                "not_yet_released",
                f"Slots for {slot.date} open at {rules.release_time:%H:%M} today.",
                field="slot_id",
                retry_after=opens - local_now,
            )
        raise Refused(
            "outside_booking_horizon",
            f"Bookings open {rules.horizon_days} days ahead; {slot.date} is beyond {last}.",
            field="slot_id",
            conflict=False,
        )


def check_no_shows(no_shows: list[dt.datetime], rules: BookingRules, now: dt.datetime) -> None:
    """``no_shows``: when each of the citizen's no-shows was, newest first (UTC)."""
    for i in range(len(no_shows) - rules.no_show_limit + 1):
        window = no_shows[i : i + rules.no_show_limit]
        if window[0] - window[-1] <= rules.no_show_window:
            until = window[0] + rules.no_show_block
            if now < until:
                raise Refused(
                    "no_show_limit",
                    f"{rules.no_show_limit} missed appointments within {rules.no_show_window.days} days: "
                    f"booking is blocked until {until:%Y-%m-%d}.",
                    retry_after=until - now,
                )
            return


def check_cancellable(booking: Booking, rules: BookingRules, now: dt.datetime) -> None:
    if booking.status is not BookingStatus.CONFIRMED:
        raise Refused(
            "booking_not_active",
            f"This booking is {booking.status.value}; it cannot be changed.",
            field="booking_id",
        )
    if now > booking.starts_at - rules.cancel_cutoff:
        minutes = int(rules.cancel_cutoff.total_seconds() // 60)
        raise Refused(
            "cancellation_cutoff_passed",
            f"Bookings can be cancelled or moved until {minutes} minutes before they start.",
        )
