"""gRPC servicers of bookings and the waitlist: proto ↔ domain, and who may call.

A citizen acts only on their own bookings and entries: the service layer looks
them up by (id, caller's citizen id), so anyone else's is NOT_FOUND whatever the
gateway did. A window clerk acts only for the office in their caller identity."""

from __future__ import annotations

import base64
import hmac

from prometheus_client import Counter

from mintong.booking.v1 import bookings_pb2 as pb
from mintong.booking.v1 import bookings_pb2_grpc as pb_grpc
from services.booking.domain.bookings import Booking, BookingRequest, BookingStatus, WaitlistEntry, WaitStatus
from services.booking.domain.model import Channel
from services.booking.entrypoints.grpc_servicer import CHANNELS
from services.booking.service_layer import bookings
from services.booking.service_layer.unit_of_work import UnitOfWork
from services.runtime.clock import Clock
from services.runtime.context import CallerKind, Role, require_role
from services.runtime.db import retry_transient
from services.runtime.errors import InvalidArgument, Kind, ProblemError
from services.runtime.proto_values import (
    channel_name,
    date_from_proto,
    date_to_proto,
    time_to_proto,
    timestamp_to_proto,
)
from services.runtime.text import check_text

CITIZEN = CallerKind.CITIZEN

#: Bookings asked for, by outcome (made, replayed: an Idempotency-Key answered again,
#: refused), the problem code of a refusal ("" otherwise) and the channel: the
#: business signal beside the request counts (a flash crowd's slot_full, a
#: one_active_booking wave after a release).
BOOKINGS = Counter(
    "mintong_bookings",
    "Bookings asked for, by outcome (made, replayed, refused), refusal code and channel.",
    ["outcome", "code", "channel"],
)


def _channel_label(value: int) -> str:
    try:
        return channel_name(value)
    except ProblemError:
        return "none"


_STATUS = {
    BookingStatus.CONFIRMED: pb.BOOKING_STATUS_CONFIRMED,
    BookingStatus.CANCELLED: pb.BOOKING_STATUS_CANCELLED,
    BookingStatus.LAPSED: pb.BOOKING_STATUS_LAPSED,
    BookingStatus.NO_SHOW: pb.BOOKING_STATUS_NO_SHOW,
    BookingStatus.CHECKED_IN: pb.BOOKING_STATUS_CHECKED_IN,
}
_STATUS_FROM_PROTO = {v: k for k, v in _STATUS.items()}
_WAIT = {
    WaitStatus.WAITING: pb.WAIT_STATUS_WAITING,
    WaitStatus.OFFERED: pb.WAIT_STATUS_OFFERED,
    WaitStatus.BOOKED: pb.WAIT_STATUS_BOOKED,
    WaitStatus.EXPIRED: pb.WAIT_STATUS_EXPIRED,
    WaitStatus.LEFT: pb.WAIT_STATUS_LEFT,
}


def _checked(request: pb.BookRequest | pb.JoinWaitlistRequest, slot_id: int | None = None) -> BookingRequest:
    """What the citizen asks for, its text checked before anything stores it."""
    return BookingRequest(
        slot_id=request.slot_id if slot_id is None else slot_id,
        business_code=check_text(request.business_code, "business", max_length=64),
        reason_code=check_text(request.reason_code, "reason_code", max_length=64),
        destination=check_text(request.destination, "destination", max_length=64),
        pre_application_id=check_text(request.pre_application_id, "pre_application_id", max_length=64),
    )


class QrSigner:
    """The QR payload a kiosk scans: ``MT1.<booking id>.<code>.<mac>``. The MAC lets
    a scanner refuse a forged or altered code before asking anyone."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def payload(self, booking: Booking) -> str:
        body = f"MT1.{booking.id}.{booking.confirmation_code}"
        return f"{body}.{self._mac(body)}"

    def _mac(self, body: str) -> str:
        # The one-shot digest: no HMAC object made and keyed for each answer.
        mac = hmac.digest(self.key, body.encode(), "sha256")[:12]
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def verify(self, payload: str) -> tuple[str, str] | None:
        """(booking id, confirmation code) of a payload this key signed; None otherwise."""
        parts = payload.strip().split(".")
        if len(parts) != 4 or parts[0] != "MT1":
            return None
        body = ".".join(parts[:3])
        if not hmac.compare_digest(self._mac(body), parts[3]):
            return None
        return parts[1], parts[2]


def _channel(value: int) -> Channel:
    return Channel(channel_name(value))


def _citizen() -> str:
    return require_role(CITIZEN).subject


class BookingServicer(pb_grpc.BookingServiceServicer):
    def __init__(self, uow: UnitOfWork, clock: Clock, qr: QrSigner) -> None:
        self.uow = uow
        self.clock = clock
        self.qr = qr

    def to_proto(self, b: Booking, *, staff: bool = False) -> pb.Booking:
        s = b.snapshot
        return pb.Booking(
            id=b.id,
            city_code=b.city_code,
            business_code=b.business_code,
            office_id=b.office_id,
            slot_id=b.slot_id,
            date=date_to_proto(b.date),
            start=time_to_proto(b.start),
            end=time_to_proto(b.end),
            status=_STATUS[b.status],
            confirmation_code=b.confirmation_code,
            qr_payload=self.qr.payload(b),
            snapshot=pb.BookingSnapshot(
                business_name=s.business_name,
                service_guide=s.service_guide,
                materials=s.materials,
                phone=s.phone,
                office_name=s.office_name,
                office_address=s.office_address,
                office_phone=s.office_phone,
                visit_requirements=s.visit_requirements,
                business_name_en=s.business_name_en,
                service_guide_en=s.service_guide_en,
                materials_en=s.materials_en,
                office_name_en=s.office_name_en,
                office_address_en=s.office_address_en,
                visit_requirements_en=s.visit_requirements_en,
            ),
            channel=CHANNELS[b.channel],
            created_at=timestamp_to_proto(b.created_at),
            reason_code=b.reason_code,
            destination=b.destination,
            pre_application_id=b.pre_application_id,
            citizen_id=b.citizen_id if staff else "",
        )

    async def Book(self, request: pb.BookRequest, context) -> pb.BookResponse:
        try:
            answer = await self._book(request)
        except ProblemError as refused:
            BOOKINGS.labels("refused", refused.code, _channel_label(request.channel)).inc()
            raise
        BOOKINGS.labels("replayed" if answer.replayed else "made", "", _channel_label(request.channel)).inc()
        return answer

    async def _book(self, request: pb.BookRequest) -> pb.BookResponse:
        citizen = _citizen()
        wanted = _checked(request)
        channel = _channel(request.channel)
        # The answer is built once: the message whose bytes the key's retries replay
        # is the one this request answers with (the last rendered: the booking made).
        rendered: list[pb.Booking] = []

        def render(booking: Booking) -> bytes:
            rendered.append(self.to_proto(booking))
            return rendered[-1].SerializeToString()

        booked = await retry_transient(
            lambda: bookings.book(
                self.uow,
                self.clock,
                citizen,
                channel,
                wanted,
                check_text(request.idempotency_key, "Idempotency-Key", max_length=255),
                render,
            )
        )
        if booked.replayed is not None:
            return pb.BookResponse(booking=pb.Booking.FromString(booked.replayed), replayed=True)
        assert booked.booking is not None and rendered[-1].id == booked.booking.id
        return pb.BookResponse(booking=rendered[-1])

    async def Cancel(self, request: pb.CancelRequest, context) -> pb.CancelResponse:
        citizen = _citizen()
        booking = await retry_transient(
            lambda: bookings.cancel(self.uow, self.clock, citizen, request.booking_id)
        )
        return pb.CancelResponse(booking=self.to_proto(booking))

    async def Reschedule(self, request: pb.RescheduleRequest, context) -> pb.RescheduleResponse:
        citizen = _citizen()
        booking = await retry_transient(
            lambda: bookings.reschedule(self.uow, self.clock, citizen, request.booking_id, request.slot_id)
        )
        return pb.RescheduleResponse(booking=self.to_proto(booking))

    async def GetBooking(self, request: pb.GetBookingRequest, context) -> pb.GetBookingResponse:
        booking = await bookings.get_booking(self.uow, _citizen(), request.booking_id)
        return pb.GetBookingResponse(booking=self.to_proto(booking))

    async def ListBookings(self, request: pb.ListBookingsRequest, context) -> pb.ListBookingsResponse:
        statuses = [_STATUS_FROM_PROTO[s] for s in request.statuses if s in _STATUS_FROM_PROTO]
        found = await bookings.list_bookings(self.uow, _citizen(), statuses)
        return pb.ListBookingsResponse(bookings=[self.to_proto(b) for b in found])

    async def JoinWaitlist(self, request: pb.JoinWaitlistRequest, context) -> pb.JoinWaitlistResponse:
        citizen = _citizen()
        slot_id = request.slot_id if request.HasField("slot_id") else 0
        if bool(slot_id) == bool(request.office_id):
            raise InvalidArgument(
                "slot_or_office_required",
                "Wait either for one full slot (slot_id) or for the earliest place at an office (office_id).",
                field="slot_id",
            )
        entry = await bookings.join_waitlist(
            self.uow,
            self.clock,
            citizen,
            _channel(request.channel),
            _checked(request, slot_id),
            check_text(request.office_id, "office_id", max_length=64),
        )
        position = await bookings.position_in_line(self.uow, entry)
        return pb.JoinWaitlistResponse(entry=entry_to_proto(entry, position))

    async def ConfirmOffer(self, request: pb.ConfirmOfferRequest, context) -> pb.ConfirmOfferResponse:
        citizen = _citizen()
        booking = await retry_transient(
            lambda: bookings.confirm_offer(self.uow, self.clock, citizen, request.entry_id)
        )
        return pb.ConfirmOfferResponse(booking=self.to_proto(booking))

    async def LeaveWaitlist(self, request: pb.LeaveWaitlistRequest, context) -> pb.LeaveWaitlistResponse:
        citizen = _citizen()
        entry = await retry_transient(
            lambda: bookings.leave_waitlist(self.uow, self.clock, citizen, request.entry_id)
        )
        return pb.LeaveWaitlistResponse(entry=entry_to_proto(entry, 0))

    async def ListWaitlist(self, request: pb.ListWaitlistRequest, context) -> pb.ListWaitlistResponse:
        entries = await bookings.list_waitlist(self.uow, _citizen())
        return pb.ListWaitlistResponse(entries=[entry_to_proto(e, position) for e, position in entries])


def entry_to_proto(e: WaitlistEntry, position: int) -> pb.WaitlistEntry:
    message = pb.WaitlistEntry(
        id=e.id,
        city_code=e.city_code,
        business_code=e.business_code,
        office_id=e.office_id,
        status=_WAIT[e.status],
        position=position,
        booking_id=e.booking_id or "",
        created_at=timestamp_to_proto(e.created_at),
    )
    if e.slot_id is not None:
        message.slot_id = e.slot_id
    if e.status is WaitStatus.OFFERED and e.held_slot_id is not None:
        message.held_slot_id = e.held_slot_id
        if e.hold_expires_at is not None:
            message.hold_expires_at.CopyFrom(timestamp_to_proto(e.hold_expires_at))
    return message


def _may_act_for(office_id: str) -> None:
    """Administrators act for every office; a window clerk for their own only."""
    me = require_role(Role.WINDOW_CLERK, Role.ADMINISTRATOR)
    if me.role is not Role.ADMINISTRATOR and me.office != office_id:
        raise ProblemError(
            "wrong_office", "Window clerks act only for their own office.", kind=Kind.FORBIDDEN
        )


class BookingStaffServicer(pb_grpc.BookingStaffServiceServicer):
    def __init__(self, uow: UnitOfWork, clock: Clock, bookings_servicer: BookingServicer) -> None:
        self.uow = uow
        self.clock = clock
        self.render = bookings_servicer.to_proto

    async def ListOfficeBookings(
        self, request: pb.ListOfficeBookingsRequest, context
    ) -> pb.ListOfficeBookingsResponse:
        _may_act_for(request.office_id)
        date = date_from_proto(request.date, "date")
        if date is None:
            raise InvalidArgument("date_required", "Name the day.", field="date")
        found = await bookings.office_bookings(self.uow, request.office_id, date)
        return pb.ListOfficeBookingsResponse(bookings=[self.render(b, staff=True) for b in found])

    async def MarkNoShow(self, request: pb.MarkNoShowRequest, context) -> pb.MarkNoShowResponse:
        require_role(Role.WINDOW_CLERK, Role.ADMINISTRATOR)
        booking = await retry_transient(
            lambda: bookings.mark_no_show(self.uow, self.clock, request.booking_id, _may_act_for)
        )
        return pb.MarkNoShowResponse(booking=self.render(booking, staff=True))
