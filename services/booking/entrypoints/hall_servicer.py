"""gRPC servicers of the hall (decision 49): proto ↔ domain, and who may call.

A citizen sees only their own tickets (looked up by id and the caller's citizen
id: anyone else's is NOT_FOUND); a window clerk acts for the office in their
caller identity, an administrator for any."""

from __future__ import annotations

import datetime as dt

from mintong.booking.v1 import hall_pb2 as pb
from mintong.booking.v1 import hall_pb2_grpc as pb_grpc
from services.booking.domain.hall import QueueState, Ticket, TicketStatus
from services.booking.entrypoints.bookings_servicer import QrSigner, _may_act_for
from services.booking.service_layer import hall
from services.booking.service_layer.unit_of_work import UnitOfWork
from services.runtime.clock import Clock
from services.runtime.context import CallerKind, Role, require_role
from services.runtime.db import retry_transient
from services.runtime.errors import InvalidArgument, Kind
from services.runtime.proto_values import timestamp_to_proto
from services.runtime.text import check_text

_STATUS = {
    TicketStatus.WAITING: pb.TICKET_STATUS_WAITING,
    TicketStatus.CALLED: pb.TICKET_STATUS_CALLED,
    TicketStatus.SERVED: pb.TICKET_STATUS_SERVED,
    TicketStatus.NO_SHOW: pb.TICKET_STATUS_NO_SHOW,
}
#: Counters are numbered from 1; no hall has a thousand.
MAX_COUNTER = 999


def ticket_to_proto(t: Ticket, ahead: int = 0, wait: dt.timedelta = dt.timedelta()) -> pb.Ticket:
    return pb.Ticket(
        id=t.id,
        code=t.code,
        office_id=t.office_id,
        business_code=t.business_code,
        status=_STATUS[t.status],
        counter=t.counter or 0,
        calls=t.calls,
        priority_group=t.priority_group,
        booking_id=t.booking_id or "",
        issued_at=timestamp_to_proto(t.issued_at),
        ahead=ahead,
        wait_minutes=int(wait.total_seconds() // 60),
    )


def queue_to_proto(q: QueueState) -> pb.GetQueueResponse:
    return pb.GetQueueResponse(
        office_id=q.office_id,
        waiting=[ticket_to_proto(t, n, q.estimated_wait(n)) for n, t in enumerate(q.waiting)],
        called=[ticket_to_proto(t) for t in q.called],
        average_service_seconds=int(q.average_service.total_seconds()),
        counters_open=q.counters_open,
    )


def _office(value: str) -> str:
    return check_text(value, "office_id", max_length=64)


def _counter(value: int) -> int:
    if not 1 <= value <= MAX_COUNTER:
        raise InvalidArgument(
            "invalid_counter", f"Counters are numbered 1 to {MAX_COUNTER}.", field="counter"
        )
    return value


class HallServicer(pb_grpc.HallServiceServicer):
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    async def SelfCheckIn(self, request: pb.SelfCheckInRequest, context) -> pb.SelfCheckInResponse:
        citizen = require_role(CallerKind.CITIZEN).subject
        booking_id = check_text(request.booking_id, "booking_id", max_length=36)
        if not booking_id:
            raise InvalidArgument("booking_required", "Name your booking.", field="booking_id")
        issued = await retry_transient(
            lambda: hall.check_in(
                self.uow,
                self.clock,
                _office(request.office_id),
                booking_id=booking_id,
                citizen_id=citizen,
                issued_by=f"citizen:{citizen}",
            )
        )
        return pb.SelfCheckInResponse(
            ticket=ticket_to_proto(issued.ticket, issued.ahead, issued.wait), newly_issued=issued.new
        )

    async def GetTicket(self, request: pb.GetTicketRequest, context) -> pb.GetTicketResponse:
        citizen = require_role(CallerKind.CITIZEN).subject
        standing = await hall.own_ticket(
            self.uow, citizen, check_text(request.ticket_id, "ticket_id", max_length=36)
        )
        return pb.GetTicketResponse(ticket=ticket_to_proto(standing.ticket, standing.ahead, standing.wait))

    async def GetQueue(self, request: pb.GetQueueRequest, context) -> pb.GetQueueResponse:
        # Open to every caller: a hall's display shows it to everyone in the hall.
        return queue_to_proto(await hall.queue(self.uow, self.clock, _office(request.office_id)))


class HallStaffServicer(pb_grpc.HallStaffServiceServicer):
    def __init__(self, uow: UnitOfWork, clock: Clock, qr: QrSigner) -> None:
        self.uow = uow
        self.clock = clock
        self.qr = qr
        self.hall = hall.Hall(uow, clock)

    async def CheckIn(self, request: pb.CheckInRequest, context) -> pb.CheckInResponse:
        office_id = _office(request.office_id)
        _may_act_for(office_id)
        issued_by = str(require_role(Role.WINDOW_CLERK, Role.ADMINISTRATOR))
        code = check_text(request.confirmation_code, "code", max_length=16)
        qr = check_text(request.qr_payload, "qr_payload", max_length=200)
        walk_in = check_text(request.walk_in_business_code, "walk_in_business", max_length=64)
        priority = check_text(request.priority_group, "priority_group", max_length=64)
        if sum(bool(x) for x in (code, qr, walk_in)) != 1:
            raise InvalidArgument(
                "booking_required",
                "Name one of: the booking's confirmation code, its QR payload, or a walk-in's business.",
                field="code",
            )
        if walk_in:
            asked = hall.WalkIn(walk_in, priority, issued_by)
            issued = await retry_transient(lambda: self.hall.walk_in(office_id, asked))
        else:
            booking_id = ""
            if qr:
                verified = self.qr.verify(qr)
                if verified is None:
                    # Well-formed, but no booking of ours: 422, as a rule refusing it.
                    raise InvalidArgument(
                        "invalid_qr_payload",
                        "That QR code is not one of ours, or was altered.",
                        field="qr_payload",
                        kind=Kind.UNPROCESSABLE,
                    )
                booking_id, code = verified
            issued = await retry_transient(
                lambda: hall.check_in(
                    self.uow,
                    self.clock,
                    office_id,
                    booking_id=booking_id,
                    confirmation_code=code,
                    priority_group=priority,
                    issued_by=issued_by,
                )
            )
        return pb.CheckInResponse(
            ticket=ticket_to_proto(issued.ticket, issued.ahead, issued.wait), newly_issued=issued.new
        )

    async def CallNext(self, request: pb.CallNextRequest, context) -> pb.CallNextResponse:
        office_id, counter = _office(request.office_id), _counter(request.counter)
        _may_act_for(office_id)
        me = require_role(Role.WINDOW_CLERK, Role.ADMINISTRATOR)
        ticket = await retry_transient(lambda: self.hall.call_next(office_id, counter, me.subject))
        return pb.CallNextResponse(ticket=ticket_to_proto(ticket) if ticket else None)

    async def Recall(self, request: pb.RecallRequest, context) -> pb.RecallResponse:
        office_id, counter = _office(request.office_id), _counter(request.counter)
        _may_act_for(office_id)
        ticket = await retry_transient(lambda: hall.recall(self.uow, self.clock, office_id, counter))
        return pb.RecallResponse(ticket=ticket_to_proto(ticket))

    async def MarkServed(self, request: pb.MarkServedRequest, context) -> pb.MarkServedResponse:
        office_id, counter = _office(request.office_id), _counter(request.counter)
        _may_act_for(office_id)
        ticket = await retry_transient(lambda: self.hall.mark_served(office_id, counter))
        return pb.MarkServedResponse(ticket=ticket_to_proto(ticket))

    async def MarkTicketNoShow(
        self, request: pb.MarkTicketNoShowRequest, context
    ) -> pb.MarkTicketNoShowResponse:
        office_id, counter = _office(request.office_id), _counter(request.counter)
        _may_act_for(office_id)
        ticket = await retry_transient(
            lambda: hall.finish(self.uow, self.clock, office_id, counter, served=False)
        )
        return pb.MarkTicketNoShowResponse(ticket=ticket_to_proto(ticket))
