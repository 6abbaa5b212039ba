"""Citizens' bookings and waitlist entries, and the window staff's view of them.

Thin on purpose: the booking service checks ownership, rules and capacity; the
gateway authenticates, names the channel and translates JSON."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.deps import CHANNEL_PROTO, Services, SignedIn, Staff, edge_of, require_office, services_of, staff
from gateway.language import AcceptLanguage, Language, answer_in, pick, pick_list
from gateway.problems import declare
from gateway.schemas import Day, Stored, either
from mintong.booking.v1 import bookings_pb2 as pb
from mintong.identity.v1 import citizens_pb2
from services.runtime.proto_values import CHANNEL_NAMES, date_of, date_to_proto, hhmm, timestamp_of

#: What the booking service answers on these routes (its rules: docs/architecture.md).
_REFUSALS = {
    400: ["invalid_idempotency_key", "slot_or_office_required"],
    404: [
        "booking_not_found",
        "waitlist_entry_not_found",
        "slot_not_found",
        "business_not_found",
        "office_not_found",
    ],
    409: [
        "slot_full",
        "one_active_booking",
        "business_suspended",
        "booking_not_active",
        "booking_changed",
        "entry_changed",
        "already_waiting",
        "vacancy_available",
        "no_offer",
        "hold_expired",
        "idempotency_key_reused",
        "cancellation_cutoff_passed",
        "not_yet_released",
        "not_started",
        "no_show_limit",
        "entitlement_used",
        "entitlement_expired",
    ],
    422: [
        "business_online_only",
        "channel_not_offered",
        "pre_application_required",
        "pre_application_not_approved",
        "entry_exit_reason_not_allowed",
        "destination_suspended",
        "outside_booking_horizon",
        "slot_started",
    ],
}
router = APIRouter(tags=["bookings"], responses=declare(_REFUSALS))
staff_router = APIRouter(prefix="/staff", tags=["window staff"], responses=declare(_REFUSALS))

Id = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$", description="A booking or waitlist entry id.")]
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Short = Annotated[str, Stored(64)]
# At most 2**53 - 1: every JSON client reads it exactly (a double's integers).
SlotId = Annotated[int, Field(ge=1, le=2**53 - 1, description="A slot id from the slot list.")]

BookingStatus = Literal["confirmed", "cancelled", "lapsed", "no_show", "checked_in"]
_STATUS: dict[pb.BookingStatus, BookingStatus] = {
    pb.BOOKING_STATUS_CONFIRMED: "confirmed",
    pb.BOOKING_STATUS_CANCELLED: "cancelled",
    pb.BOOKING_STATUS_LAPSED: "lapsed",
    pb.BOOKING_STATUS_NO_SHOW: "no_show",
    pb.BOOKING_STATUS_CHECKED_IN: "checked_in",
}
_STATUS_PROTO = {v: k for k, v in _STATUS.items()}
WaitStatus = Literal["waiting", "offered", "booked", "expired", "left"]
_WAIT: dict[pb.WaitStatus, WaitStatus] = {
    pb.WAIT_STATUS_WAITING: "waiting",
    pb.WAIT_STATUS_OFFERED: "offered",
    pb.WAIT_STATUS_BOOKED: "booked",
    pb.WAIT_STATUS_EXPIRED: "expired",
    pb.WAIT_STATUS_LEFT: "left",
}


class BookingRequest(BaseModel):
    slot_id: SlotId
    business: Code = Field(description="The business code, e.g. ID_CARD_RENEWAL.")
    reason_code: Short = Field(default="", description="Entry-exit only: the emergency reason.")
    destination: Short = Field(
        default="", description="Entry-exit only: the destination country (ISO 3166 alpha-2)."
    )
    pre_application_id: Short = Field(
        default="", description="Where the business needs it: the approved pre-application."
    )


class Snapshot(BaseModel):
    """What the citizen was told when they booked; it does not change afterwards.
    Texts in the language of Accept-Language."""

    business_name: str
    service_guide: str
    materials: list[str]
    phone: str
    office_name: str
    office_address: str
    office_phone: str
    visit_requirements: list[str]


class Booking(BaseModel):
    id: str
    status: BookingStatus
    confirmation_code: str = Field(description="Short code for check-in at a kiosk or window.")
    qr_payload: str = Field(description="What the check-in QR code encodes.")
    city: str
    business: str
    office_id: str
    slot_id: int
    date: dt.date
    start: str
    end: str
    channel: Literal["app", "wechat", "web"]
    created_at: dt.datetime
    reason_code: str
    destination: str
    pre_application_id: str
    snapshot: Snapshot
    citizen_id: str | None = Field(default=None, description="Staff answers only.")
    citizen_masked_name: str | None = Field(
        default=None, description="Staff answers only: the first character of the citizen's name, e.g. 张*."
    )

    @classmethod
    def of(cls, b: pb.Booking, language: str) -> Booking:
        s = b.snapshot
        return cls(
            id=b.id,
            status=_STATUS[b.status],
            confirmation_code=b.confirmation_code,
            qr_payload=b.qr_payload,
            city=b.city_code,
            business=b.business_code,
            office_id=b.office_id,
            slot_id=b.slot_id,
            date=date_of(b.date),
            start=hhmm(b.start),
            end=hhmm(b.end),
            channel=CHANNEL_NAMES[b.channel],  # type: ignore[arg-type]
            created_at=timestamp_of(b.created_at),
            reason_code=b.reason_code,
            destination=b.destination,
            pre_application_id=b.pre_application_id,
            snapshot=Snapshot(
                business_name=pick(language, s.business_name, s.business_name_en),
                service_guide=pick(language, s.service_guide, s.service_guide_en),
                materials=pick_list(language, s.materials, s.materials_en),
                phone=s.phone,
                office_name=pick(language, s.office_name, s.office_name_en),
                office_address=pick(language, s.office_address, s.office_address_en),
                office_phone=s.office_phone,
                visit_requirements=pick_list(language, s.visit_requirements, s.visit_requirements_en),
            ),
            citizen_id=b.citizen_id or None,
        )


class Bookings(BaseModel):
    bookings: list[Booking]


IdempotencyKey = Annotated[
    Annotated[str, Stored(255, min_length=1)],
    Header(
        alias="Idempotency-Key",
        description="A new UUID per booking; send the same one when retrying it.",
    ),
]


@router.post(
    "/bookings",
    response_model=Booking,
    status_code=201,
    summary="Book a place in a slot (at most once per Idempotency-Key)",
    response_description="The booking; a retry with the same key and body gets the first answer again, "
    "marked with the header Idempotent-Replayed: true.",
)
async def book(
    request: Request,
    body: BookingRequest,
    idempotency_key: IdempotencyKey,
    citizen: SignedIn,
    response: Response,
    accept_language: AcceptLanguage = None,
) -> Booking:
    # A slot this process knows is full: booking's refusal, without asking booking
    # (decision 65). Any doubt (places, not known, retries that replay) asks booking.
    if (
        full := edge_of(request).refusal(body.slot_id, body.business, citizen.id, idempotency_key)
    ) is not None:
        raise full
    # The services from the app's state, not a dependency solved for every booking
    # and refusal (decision 109).
    answer = await services_of(request).bookings.Book(
        pb.BookRequest(
            slot_id=body.slot_id,
            business_code=body.business,
            reason_code=body.reason_code,
            destination=body.destination,
            pre_application_id=body.pre_application_id,
            idempotency_key=idempotency_key,
            channel=CHANNEL_PROTO[citizen.channel],
        ),
        **citizen.call.options,
    )
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return Booking.of(answer.booking, answer_in(response, accept_language))


@router.get("/bookings", response_model=Bookings, summary="My bookings, latest appointment first")
async def list_bookings(
    citizen: SignedIn,
    services: Services,
    language: Language,
    status: Annotated[list[BookingStatus] | None, Query(description="Only these statuses.")] = None,
) -> Bookings:
    answer = await services.bookings.ListBookings(
        pb.ListBookingsRequest(statuses=[_STATUS_PROTO[s] for s in status or []]), **citizen.call.options
    )
    return Bookings(bookings=[Booking.of(b, language) for b in answer.bookings])


@router.get("/bookings/{booking_id}", response_model=Booking, summary="One of my bookings")
async def get_booking(booking_id: Id, citizen: SignedIn, services: Services, language: Language) -> Booking:
    answer = await services.bookings.GetBooking(
        pb.GetBookingRequest(booking_id=booking_id), **citizen.call.options
    )
    return Booking.of(answer.booking, language)


@router.post("/bookings/{booking_id}/cancel", response_model=Booking, summary="Cancel my booking")
async def cancel(
    request: Request, booking_id: Id, citizen: SignedIn, services: Services, language: Language
) -> Booking:
    answer = await services.bookings.Cancel(pb.CancelRequest(booking_id=booking_id), **citizen.call.options)
    edge_of(request).freed(answer.booking.slot_id)  # booked again at once: not refused here meanwhile
    return Booking.of(answer.booking, language)


class Reschedule(BaseModel):
    slot_id: SlotId


@router.post(
    "/bookings/{booking_id}/reschedule",
    response_model=Booking,
    summary="Move my booking to another slot (or keep it, if that one is full)",
)
async def reschedule(
    booking_id: Id, body: Reschedule, citizen: SignedIn, services: Services, language: Language
) -> Booking:
    answer = await services.bookings.Reschedule(
        pb.RescheduleRequest(booking_id=booking_id, slot_id=body.slot_id), **citizen.call.options
    )
    return Booking.of(answer.booking, language)


# the waitlist


class JoinWaitlist(BaseModel):
    # Either slot_id or office_id (booking checks it: slot_or_office_required).
    model_config = ConfigDict(json_schema_extra=either(("slot_id", "integer"), ("office_id", "string")))
    business: Code
    slot_id: SlotId | None = Field(default=None, description="Wait for this full slot…")
    office_id: Code | None = Field(default=None, description="…or for the earliest place at this office.")
    reason_code: Short = ""
    destination: Short = ""
    pre_application_id: Short = ""


class WaitlistEntry(BaseModel):
    id: str
    status: WaitStatus
    city: str
    business: str
    office_id: str
    slot_id: int | None = Field(description="None: the earliest place at the office.")
    position: int | None = Field(description="Place in line while waiting (1 = next).")
    held_slot_id: int | None = Field(description="While offered: the slot whose place is held for you.")
    hold_expires_at: dt.datetime | None = Field(description="While offered: confirm before this.")
    booking_id: str | None
    created_at: dt.datetime

    @classmethod
    def of(cls, e: pb.WaitlistEntry) -> WaitlistEntry:
        offered = e.HasField("held_slot_id")
        return cls(
            id=e.id,
            status=_WAIT[e.status],
            city=e.city_code,
            business=e.business_code,
            office_id=e.office_id,
            slot_id=e.slot_id if e.HasField("slot_id") else None,
            position=e.position or None,
            held_slot_id=e.held_slot_id if offered else None,
            hold_expires_at=timestamp_of(e.hold_expires_at) if offered else None,
            booking_id=e.booking_id or None,
            created_at=timestamp_of(e.created_at),
        )


class WaitlistEntries(BaseModel):
    entries: list[WaitlistEntry]


@router.post("/waitlist", response_model=WaitlistEntry, status_code=201, summary="Wait for a place")
async def join_waitlist(body: JoinWaitlist, citizen: SignedIn, services: Services) -> WaitlistEntry:
    request = pb.JoinWaitlistRequest(
        business_code=body.business,
        office_id=body.office_id or "",
        reason_code=body.reason_code,
        destination=body.destination,
        pre_application_id=body.pre_application_id,
        channel=CHANNEL_PROTO[citizen.channel],
    )
    if body.slot_id is not None:
        request.slot_id = body.slot_id
    answer = await services.bookings.JoinWaitlist(request, **citizen.call.options)
    return WaitlistEntry.of(answer.entry)


@router.get("/waitlist", response_model=WaitlistEntries, summary="My waitlist entries")
async def list_waitlist(citizen: SignedIn, services: Services) -> WaitlistEntries:
    answer = await services.bookings.ListWaitlist(pb.ListWaitlistRequest(), **citizen.call.options)
    return WaitlistEntries(entries=[WaitlistEntry.of(e) for e in answer.entries])


@router.post(
    "/waitlist/{entry_id}/confirm",
    response_model=Booking,
    summary="Book the place held for me",
)
async def confirm_offer(entry_id: Id, citizen: SignedIn, services: Services, language: Language) -> Booking:
    answer = await services.bookings.ConfirmOffer(
        pb.ConfirmOfferRequest(entry_id=entry_id), **citizen.call.options
    )
    return Booking.of(answer.booking, language)


@router.post("/waitlist/{entry_id}/leave", response_model=WaitlistEntry, summary="Stop waiting")
async def leave_waitlist(entry_id: Id, citizen: SignedIn, services: Services) -> WaitlistEntry:
    answer = await services.bookings.LeaveWaitlist(
        pb.LeaveWaitlistRequest(entry_id=entry_id), **citizen.call.options
    )
    return WaitlistEntry.of(answer.entry)


# window staff

Clerk = Annotated[Staff, Depends(staff("window_clerk", "administrator"))]


@staff_router.get(
    "/offices/{office_id}/bookings",
    response_model=Bookings,
    summary="An office's bookings of a day (window clerks: their own office)",
)
async def office_bookings(
    office_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
    date: Annotated[Day, Query(description="The day, e.g. 2030-01-07.")],
    member: Clerk,
    services: Services,
    language: Language,
) -> Bookings:
    require_office(member, office_id)
    answer = await services.booking_staff.ListOfficeBookings(
        pb.ListOfficeBookingsRequest(office_id=office_id, date=date_to_proto(date)), **member.call.options
    )
    # Whom the clerk serves, masked: one question to identity for the whole day.
    names: dict[str, str] = {}
    if answer.bookings:
        who = await services.citizens.GetCitizens(
            citizens_pb2.GetCitizensRequest(citizen_ids=sorted({b.citizen_id for b in answer.bookings})),
            **member.call.options,
        )
        names = {c.citizen_id: c.masked_name for c in who.citizens}
    return Bookings(
        bookings=[
            Booking.of(b, language).model_copy(update={"citizen_masked_name": names.get(b.citizen_id)})
            for b in answer.bookings
        ]
    )


@staff_router.post(
    "/bookings/{booking_id}/no-show",
    response_model=Booking,
    summary="Record that the citizen did not come",
)
async def mark_no_show(booking_id: Id, member: Clerk, services: Services, language: Language) -> Booking:
    answer = await services.booking_staff.MarkNoShow(
        pb.MarkNoShowRequest(booking_id=booking_id), **member.call.options
    )
    return Booking.of(answer.booking, language)
