"""The hall (decision 49): check-in, queue tickets, counters and the queue display.

Thin on purpose: the booking service checks the window, the office, ownership and
who may call; the gateway authenticates and translates JSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field

from gateway.clients import Clients
from gateway.deps import AnonymousCall, Call, Services, SignedIn, Staff, require_office, staff
from gateway.hall_feed import Change, QueueFeed
from gateway.problems import declare
from gateway.schemas import Stored
from mintong.booking.v1 import hall_pb2 as pb

_REFUSALS = {
    400: ["booking_required", "invalid_counter"],
    404: ["booking_not_found", "office_not_found", "business_not_found", "ticket_not_found"],
    409: [
        "booking_not_active",
        "office_closed",
        "booking_changed",
        "checkin_too_early",
        "ticket_in_service",
        "no_ticket_called",
        "ticket_changed",
    ],
    422: [
        "booking_at_another_office",
        "not_booking_day",
        "checkin_too_late",
        "walk_in_not_allowed",
        "unknown_priority_group",
        "invalid_qr_payload",
    ],
}
router = APIRouter(tags=["hall"], responses=declare(_REFUSALS))
staff_router = APIRouter(prefix="/staff", tags=["hall: window staff"], responses=declare(_REFUSALS))

OfficeId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="An office id.")]
CounterNumber = Annotated[int, Path(ge=1, le=999, description="The counter's number in the hall.")]
TicketStatus = Literal["waiting", "called", "served", "no_show"]
_STATUS: dict[pb.TicketStatus, TicketStatus] = {
    pb.TICKET_STATUS_WAITING: "waiting",
    pb.TICKET_STATUS_CALLED: "called",
    pb.TICKET_STATUS_SERVED: "served",
    pb.TICKET_STATUS_NO_SHOW: "no_show",
}


class Ticket(BaseModel):
    id: str
    code: str = Field(description='What the display shows and the clerk calls out, e.g. "A012".')
    office_id: str
    business: str
    status: TicketStatus
    counter: int | None = Field(description="Called: the counter to go to.")
    calls: int
    priority_group: str | None
    booking_id: str | None = Field(description="None for a walk-in.")
    issued_at: dt.datetime
    ahead: int = Field(description="Waiting: how many tickets are called first.")
    estimated_wait_minutes: int = Field(description="Waiting: from the office's recent service times.")

    @classmethod
    def of(cls, t: pb.Ticket) -> Ticket:
        return cls(
            id=t.id,
            code=t.code,
            office_id=t.office_id,
            business=t.business_code,
            status=_STATUS[t.status],
            counter=t.counter or None,
            calls=t.calls,
            priority_group=t.priority_group or None,
            booking_id=t.booking_id or None,
            issued_at=t.issued_at.ToDatetime(tzinfo=dt.UTC),
            ahead=t.ahead,
            estimated_wait_minutes=t.wait_minutes,
        )


class CheckedIn(BaseModel):
    ticket: Ticket
    newly_issued: bool = Field(description="False when the booking had checked in before: the same ticket.")


class DisplayTicket(BaseModel):
    """A ticket as the hall's display shows it: nobody's booking or name."""

    code: str
    status: TicketStatus
    counter: int | None
    ahead: int
    estimated_wait_minutes: int


class Queue(BaseModel):
    office_id: str
    waiting: list[DisplayTicket]
    called: list[DisplayTicket]
    average_service_seconds: int
    counters_open: int


class Counter(BaseModel):
    ticket: Ticket | None = Field(description="None when nobody was waiting.")


def _exactly_one(*names: str) -> dict[str, Any]:
    """JSON Schema for "exactly one of these string fields", the others absent or null
    (the booking service checks it: booking_required)."""
    return {
        "oneOf": [
            {
                "required": [name],
                "properties": {other: {"type": "string" if other == name else "null"} for other in names},
            }
            for name in names
        ]
    }


class StaffCheckIn(BaseModel):
    """Exactly one of: the booking's confirmation code, its QR payload, or (at an
    office that takes walk-ins) the business a walk-in comes for."""

    model_config = ConfigDict(json_schema_extra=_exactly_one("code", "qr_payload", "walk_in_business"))
    code: Annotated[str, Stored(16, min_length=1)] | None = Field(
        default=None, description="The confirmation code."
    )
    qr_payload: Annotated[str, Stored(200, min_length=1)] | None = None
    walk_in_business: Annotated[str, Stored(64, min_length=1)] | None = None
    priority_group: Annotated[str, Stored(64)] | None = Field(
        default=None, description="One of the city's priority groups (e.g. elderly), served first."
    )


class SelfCheckIn(BaseModel):
    booking_id: Annotated[str, Field(pattern=r"^[0-9a-f-]{36}$")]


def _display(t: pb.Ticket) -> DisplayTicket:
    return DisplayTicket(
        code=t.code,
        status=_STATUS[t.status],
        counter=t.counter or None,
        ahead=t.ahead,
        estimated_wait_minutes=t.wait_minutes,
    )


# citizens and the hall's display


@router.post(
    "/offices/{office_id}/checkins",
    response_model=CheckedIn,
    summary="Check in my booking at a kiosk of its office: my queue ticket",
)
async def self_check_in(
    office_id: OfficeId, body: SelfCheckIn, citizen: SignedIn, services: Services
) -> CheckedIn:
    answer = await services.hall.SelfCheckIn(
        pb.SelfCheckInRequest(office_id=office_id, booking_id=body.booking_id), **citizen.call.options
    )
    return CheckedIn(ticket=Ticket.of(answer.ticket), newly_issued=answer.newly_issued)


@router.get("/tickets/{ticket_id}", response_model=Ticket, summary="My queue ticket and where it stands")
async def get_ticket(
    ticket_id: Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")], citizen: SignedIn, services: Services
) -> Ticket:
    answer = await services.hall.GetTicket(pb.GetTicketRequest(ticket_id=ticket_id), **citizen.call.options)
    return Ticket.of(answer.ticket)


async def read_queue(services: Clients, call: Call, office_id: str) -> Queue:
    answer = await services.hall.GetQueue(pb.GetQueueRequest(office_id=office_id), **call.options)
    return Queue(
        office_id=answer.office_id,
        waiting=[_display(t) for t in answer.waiting],
        called=[_display(t) for t in answer.called],
        average_service_seconds=answer.average_service_seconds,
        counters_open=answer.counters_open,
    )


@router.get(
    "/offices/{office_id}/queue",
    response_model=Queue,
    summary="An office's queue today, as its display shows it",
)
async def get_queue(office_id: OfficeId, call: AnonymousCall, services: Services) -> Queue:
    return await read_queue(services, call, office_id)


class QueueChange(BaseModel):
    ticket_code: str
    counter: int | None
    change: Literal["issued", "called", "recalled", "served", "no_show"]


class QueueUpdate(BaseModel):
    """One server-sent event of the queue stream (event name ``queue``)."""

    change: QueueChange | None = Field(
        description="What moved; None for the first snapshot and after the gateway reconnected to NATS."
    )
    queue: Queue


async def _known_office(office_id: OfficeId, call: AnonymousCall, services: Services) -> str:
    """An unknown office is the API's 404 before the stream starts (after it, an
    error could only end the stream)."""
    await read_queue(services, call, office_id)
    return office_id


@router.get(
    "/offices/{office_id}/queue/stream",
    response_class=EventSourceResponse,
    summary="An office's queue as server-sent events: now, then at every change (the display board)",
    description="Each event is named `queue` and carries a QueueUpdate: the office's whole queue "
    "and what changed. The first comes at once; the next within a second of each issue, call, "
    "recall, served or no-show. A comment line is sent when nothing moved for a while.",
)
async def stream_queue(
    office_id: Annotated[str, Depends(_known_office)], request: Request
) -> AsyncIterator[ServerSentEvent]:
    feed: QueueFeed = request.app.state.queue_feed
    with feed.watch(office_id) as board:
        # Read after watching, so that no change falls between the two.
        first = await feed.snapshot(office_id)
        yield _event(None, first)
        while True:
            change, queue = await board.get()
            yield _event(change, queue)


def _event(change: Change | None, queue: str) -> ServerSentEvent:
    """A QueueUpdate, its queue the JSON text the feed read once for every board and
    change that share it (a model validated and encoded again per board and change
    was most of the gateway's CPU with two boards on a busy hall's queue)."""
    moved = QueueChange.model_validate(vars(change)).model_dump_json() if change else "null"
    return ServerSentEvent(event="queue", raw_data=f'{{"change":{moved},"queue":{queue}}}')


# window staff

Clerk = Annotated[Staff, Depends(staff("window_clerk", "administrator"))]


@staff_router.post(
    "/offices/{office_id}/checkins",
    response_model=CheckedIn,
    summary="Check a booking in (confirmation code or QR payload) or a walk-in: a queue ticket",
)
async def check_in(office_id: OfficeId, body: StaffCheckIn, member: Clerk, services: Services) -> CheckedIn:
    require_office(member, office_id)
    answer = await services.hall_staff.CheckIn(
        pb.CheckInRequest(
            office_id=office_id,
            confirmation_code=body.code or "",
            qr_payload=body.qr_payload or "",
            walk_in_business_code=body.walk_in_business or "",
            priority_group=body.priority_group or "",
        ),
        **member.call.options,
    )
    return CheckedIn(ticket=Ticket.of(answer.ticket), newly_issued=answer.newly_issued)


@staff_router.post(
    "/offices/{office_id}/counters/{counter}/call",
    response_model=Counter,
    summary="Call the next ticket to this counter (none: nobody waits)",
)
async def call_next(
    office_id: OfficeId, counter: CounterNumber, member: Clerk, services: Services
) -> Counter:
    require_office(member, office_id)
    answer = await services.hall_staff.CallNext(
        pb.CallNextRequest(office_id=office_id, counter=counter), **member.call.options
    )
    return Counter(ticket=Ticket.of(answer.ticket) if answer.HasField("ticket") else None)


async def _at_counter(rpc: str, office_id: str, counter: int, member: Staff, services: Services) -> Counter:
    require_office(member, office_id)
    # Each counter RPC has its own request type (RecallRequest, …) with the same fields.
    request = getattr(pb, f"{rpc}Request")(office_id=office_id, counter=counter)
    answer = await getattr(services.hall_staff, rpc)(request, **member.call.options)
    return Counter(ticket=Ticket.of(answer.ticket))


@staff_router.post(
    "/offices/{office_id}/counters/{counter}/recall",
    response_model=Counter,
    summary="Call this counter's ticket again (past the city's number of calls: a no-show)",
)
async def recall(office_id: OfficeId, counter: CounterNumber, member: Clerk, services: Services) -> Counter:
    return await _at_counter("Recall", office_id, counter, member, services)


@staff_router.post(
    "/offices/{office_id}/counters/{counter}/served",
    response_model=Counter,
    summary="This counter's ticket was served",
)
async def served(office_id: OfficeId, counter: CounterNumber, member: Clerk, services: Services) -> Counter:
    return await _at_counter("MarkServed", office_id, counter, member, services)


@staff_router.post(
    "/offices/{office_id}/counters/{counter}/no-show",
    response_model=Counter,
    summary="This counter's citizen did not come: the ticket and its booking are no-shows",
)
async def no_show(office_id: OfficeId, counter: CounterNumber, member: Clerk, services: Services) -> Counter:
    return await _at_counter("MarkTicketNoShow", office_id, counter, member, services)
