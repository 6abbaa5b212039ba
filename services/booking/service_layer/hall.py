"""Use cases of the hall: check-in, calling counters, the queue (decision 49).

Each change is one write transaction: the booking's status, the ticket and the
outbox events together. Numbering and calling are decided by the database (an
atomic sequence row; a row lock that other clerks skip), never by a read made
before. Calls, walk-ins and served tickets of one office that come while a batch
of their kind is in flight go together in the next (``Hall``, decision 131), each
answered as if they had come one after the other."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from services.booking.domain import events
from services.booking.domain.bookings import Booking, BookingStatus, Refused
from services.booking.domain.hall import (
    DEFAULT_SERVICE_TIME,
    HallOffice,
    Place,
    QueueState,
    Ticket,
    TicketStatus,
    becomes_no_show,
    check_checkin,
    check_office,
    check_walk_in,
    priority_rank,
    queued_before,
)
from services.booking.service_layer.unit_of_work import Occupied, OfficeChanged, Transaction, UnitOfWork
from services.runtime.clock import Clock
from services.runtime.coalesce import Coalescer
from services.runtime.errors import InvalidArgument, NotFound, ProblemError


@dataclass(frozen=True)
class Issued:
    ticket: Ticket
    ahead: int
    wait: dt.timedelta
    #: False when this was a second check-in that found the first one's ticket.
    new: bool = True


@dataclass(frozen=True)
class Standing:
    """A ticket and where it stands in its queue now."""

    ticket: Ticket
    ahead: int
    wait: dt.timedelta


T = TypeVar("T")
R = TypeVar("R")


async def _office(tx: Transaction, office_id: str, *, known: bool = False) -> HallOffice:
    """The office read now; ``known``: as this process last read it, where the use
    case's next statement checks it (see _office_anew_if_changed)."""
    office = await (tx.hall.known_office(office_id) if known else tx.hall.hall_office(office_id))
    if office is None:
        raise NotFound("office", office_id, field="office_id")
    return office


async def _office_anew_if_changed(work: Callable[[bool], Awaitable[T]]) -> T:
    """``work(True)``, a use case on the office as this process knows it (no round
    trip for it: decision 120), then, if a statement of it found the office or its
    city changed since (its transaction rolled back), ``work(False)`` on the office
    read anew. No answer rests on a known office that was not checked: a refusal
    decided on it before its statement raises OfficeChanged too."""
    try:
        return await work(True)
    except OfficeChanged:
        return await work(False)


def _at(ticket: Ticket, place: Place) -> Standing:
    return Standing(ticket, place.ahead, place.wait())


async def _standing(tx: Transaction, ticket: Ticket) -> Standing:
    """Where an issued ticket stands (one statement, if it waits)."""
    if ticket.status is not TicketStatus.WAITING:
        return Standing(ticket, 0, dt.timedelta())
    return _at(ticket, await tx.hall.standing(ticket))


def _new_ticket(
    office: HallOffice,
    business_code: str,
    booking: Booking | None,
    priority_group: str,
    now: dt.datetime,
    issued_by: str,
) -> Ticket:
    """A ticket to issue, before its prefix and number are known."""
    rules = office.rules
    day = office.local_now(now).date()
    return Ticket(
        id=str(uuid.uuid4()),
        office_id=office.id,
        city_code=office.city_code,
        day=day,
        prefix="",  # of its category, read with its place below
        number=0,  # numbered last, below
        business_code=business_code,
        booking_id=booking.id if booking else None,
        citizen_id=booking.citizen_id if booking else None,
        priority_group=priority_group,
        priority_rank=priority_rank(priority_group, rules),
        order_at=booking.starts_at if booking else now,
        status=TicketStatus.WAITING,
        issued_at=now,
        issued_by=issued_by,
    )


async def _issue(
    tx: Transaction,
    office: HallOffice,
    ticket: Ticket,
    booking: Booking,
    place: Place,
    category: str | None,
) -> Issued:
    """Issue a booking's ticket, its place and its business's category read (where
    it will stand is read before it is numbered: on PostgreSQL the sequence row is
    locked from the numbering to the commit, and every other check-in of the office
    and prefix waits for it; so nothing but the insert and the outbox happens under
    that lock): one statement, its number and the insert, before the outbox. A
    business the office does not handle is issued under the default prefix (it was
    booked there)."""
    rules = office.rules
    ticket = dataclasses.replace(ticket, prefix=rules.prefix_for(category or ""))
    # Already near the front: the issued message says so; no "coming up" later.
    told = place.ahead <= rules.coming_up_ahead
    ticket = await tx.hall.add_numbered_ticket(ticket, coming_up_sent=told)
    standing = _at(ticket, place)
    tx.emit(events.QueueChanged(ticket, "issued"))
    minutes = int(standing.wait.total_seconds() // 60)
    tx.emit(events.TicketIssued(ticket, booking.snapshot, standing.ahead, minutes))
    return Issued(ticket, standing.ahead, standing.wait)


async def check_in(
    uow: UnitOfWork,
    clock: Clock,
    office_id: str,
    *,
    booking_id: str = "",
    confirmation_code: str = "",
    citizen_id: str | None = None,
    priority_group: str = "",
    issued_by: str = "",
) -> Issued:
    """Check a booking in and issue its ticket. Staff name the booking by its code
    (or its QR payload: ``booking_id`` and ``confirmation_code`` both, checked
    together); a citizen at a kiosk by its id, their own only (``citizen_id``).
    A second check-in answers the first one's ticket. ``issued_by``: the caller,
    kept on the ticket (a clerk's check-in is recorded there, not in the audit
    chain: its lock would serialise every check-in of the service)."""
    if not booking_id and not confirmation_code:
        raise InvalidArgument(
            "booking_required", "Name the booking: its confirmation code or QR payload.", field="code"
        )
    now = clock()
    async with uow.write() as tx:
        if booking_id:
            office = await _office(tx, office_id)
            booking = await tx.bookings.get_booking(booking_id, citizen_id)
        else:
            # The office and the booking of the code there, read together.
            found, booking = await tx.hall.office_and_booking(office_id, confirmation_code.strip().upper())
            if found is None:
                raise NotFound("office", office_id, field="office_id")
            office = found
            if booking is not None and booking.date != office.local_now(now).date():
                booking = None  # the code of another day's booking at this office
            if booking is None:
                raise NotFound(
                    "booking",
                    confirmation_code,
                    field="code",
                    detail=f"No booking with code {confirmation_code!r} at {office.id} today.",
                )
        if booking is None or (confirmation_code and booking.confirmation_code != confirmation_code):
            raise NotFound("booking", booking_id, field="booking_id" if citizen_id else "code")
        # Even a booking checked in before is refused at another office.
        check_office(booking, office)
        # Its ticket is issued in the transaction that moves it from confirmed, and
        # nothing moves it back: a booking read as confirmed has none to look up.
        if booking.status is not BookingStatus.CONFIRMED:
            existing = await tx.hall.ticket_for_booking(booking.id)
            if existing is not None:
                standing = await _standing(tx, existing)
                return Issued(existing, standing.ahead, standing.wait, new=False)
        check_checkin(booking, office, now)
        ticket = _new_ticket(office, booking.business_code, booking, priority_group, now, issued_by)
        checked_in, place, category = await tx.hall.check_in_place(ticket, now)
        if not checked_in:
            # A concurrent check-in of the same booking won (PostgreSQL waited for it).
            existing = await tx.hall.ticket_for_booking(booking.id)
            if existing is None:
                raise Refused("booking_changed", "The booking changed meanwhile; try again.")
            standing = await _standing(tx, existing)
            return Issued(existing, standing.ahead, standing.wait, new=False)
        return await _issue(tx, office, ticket, booking, place, category)


@dataclass(frozen=True)
class WalkIn:
    """A walk-in asked for: the business they came for, their priority group, the
    caller issuing the ticket."""

    business_code: str
    priority_group: str = ""
    issued_by: str = ""


async def walk_in(
    uow: UnitOfWork,
    clock: Clock,
    office_id: str,
    business_code: str,
    priority_group: str = "",
    issued_by: str = "",
) -> Issued:
    """A ticket without a booking, where the office takes walk-ins: a batch of one
    (:func:`walk_ins`)."""
    return _alone(await walk_ins(uow, clock, office_id, [WalkIn(business_code, priority_group, issued_by)]))


async def walk_ins(
    uow: UnitOfWork, clock: Clock, office_id: str, asked: list[WalkIn]
) -> list[Issued | ProblemError]:
    """Walk-ins of one office, each answered as if they had come one after the
    other in that order: its ticket and where it stands, or its refusal. Where
    they will stand and their businesses' categories read, then their numbers,
    tickets and ``QueueChanged``s written by one statement that commits by itself
    where the database allows (PostgreSQL): the office's sequence rows are then
    locked for that statement alone. In a transaction they stayed locked through
    the outbox's round trip and the COMMIT's, each after a turn of booking's event
    loop, and a burst of walk-ins queued on them (decision 129); one statement for
    the batch, they do not queue at all (decision 131). On SQLite, a transaction
    of their own."""
    now = clock()

    async def issue(known: bool) -> list[Issued | ProblemError]:
        async with uow.read_then_write() as stages:
            tx = await stages.read()
            office = await _office(tx, office_id, known=known)
            outcomes: dict[int, Issued | ProblemError] = {}
            tickets: dict[int, Ticket] = {}
            for n, walk in enumerate(asked):
                try:
                    check_walk_in(office, now)
                    tickets[n] = _new_ticket(
                        office, walk.business_code, None, walk.priority_group, now, walk.issued_by
                    )
                except Refused as refused:
                    if known:  # refused on the office as kept: decided again on it read now
                        raise OfficeChanged(office_id) from None
                    outcomes[n] = refused
            placed = await tx.hall.new_ticket_places(list(tickets.values())) if tickets else []
            ready: dict[int, tuple[Ticket, Place]] = {}
            for (n, ticket), (place, category) in zip(tickets.items(), placed, strict=True):
                if category is None:
                    outcomes[n] = NotFound("business", ticket.business_code, field="business")
                    continue
                # Behind those of the batch's earlier tickets it is queued behind.
                ahead = sum(queued_before(earlier, ticket) for earlier, _ in ready.values())
                ready[n] = (
                    dataclasses.replace(ticket, prefix=office.rules.prefix_for(category)),
                    dataclasses.replace(place, ahead=place.ahead + ahead),
                )
            if ready:
                if tx.hall.writes_alone:
                    numbered = await tx.hall.add_walk_ins([x for x, _ in ready.values()], announce=True)
                else:
                    tx = await stages.write()
                    numbered = await tx.hall.add_walk_ins([x for x, _ in ready.values()])
                    for ticket in numbered:
                        tx.emit(events.QueueChanged(ticket, "issued"))
                for (n, (_, place)), ticket in zip(ready.items(), numbered, strict=True):
                    outcomes[n] = Issued(ticket, place.ahead, place.wait())
            return [outcomes[n] for n in range(len(asked))]

    return await _office_anew_if_changed(issue)


def _alone(outcomes: Sequence[R | ProblemError]) -> R:
    """The answer of a batch of one: its result, or its refusal raised."""
    [outcome] = outcomes
    if isinstance(outcome, ProblemError):
        raise outcome
    return outcome


#: A call of the hall: (counter, clerk).
Call = tuple[int, str]


def _in_service(counter: int) -> Refused:
    return Refused(
        "ticket_in_service",
        f"Counter {counter} (or you) still serve a ticket: mark it served or no-show first.",
        field="counter",
    )


async def call_next(
    uow: UnitOfWork, clock: Clock, office_id: str, counter: int, clerk_id: str
) -> Ticket | None:
    """Call the head of the queue to ``counter``; None when nobody waits. A batch of
    one (:func:`call_many`)."""
    return _alone(await call_many(uow, clock, office_id, [(counter, clerk_id)]))


async def call_many(
    uow: UnitOfWork, clock: Clock, office_id: str, calls: list[Call]
) -> list[Ticket | Refused | None]:
    """Calls of one office (distinct counters, distinct clerks) in one transaction,
    each answered as if they had come one after the other in that order: its
    ticket, None when nobody waits for it, or ``ticket_in_service`` when its
    counter or clerk still serves one (decision 131)."""
    now = clock()
    try:
        return await _office_anew_if_changed(
            lambda known: _call_many(uow, now, office_id, calls, known=known)
        )
    except Occupied:
        if len(calls) == 1:
            return [_in_service(calls[0][0])]
        # A call made meanwhile elsewhere (another process of booking) took one of
        # the batch's counters or clerks: nothing of the batch was called. Each
        # call again on its own, to find out which.
        return [outcome for call in calls for outcome in await call_many(uow, clock, office_id, [call])]


async def _call_many(
    uow: UnitOfWork, now: dt.datetime, office_id: str, calls: list[Call], *, known: bool
) -> list[Ticket | Refused | None]:
    async with uow.write() as tx:
        office = await _office(tx, office_id, known=known)
        day = office.local_now(now).date()
        # The calls find busy counters and clerks themselves (so that the answer
        # does not depend on whether anyone waits). With the calls, the head of the
        # queue after them: tickets with coming_up_ahead or fewer before them hear
        # "your number is coming up".
        done = await tx.hall.call_many(office.id, day, calls, now, head=office.rules.coming_up_ahead + 1)
        for ticket in done.tickets:
            if ticket is not None:
                tx.emit(events.QueueChanged(ticket, "called"))
        await _tell_coming_up(tx, done.head)
        return [
            _in_service(counter) if n in done.busy else ticket
            for n, ((counter, _), ticket) in enumerate(zip(calls, done.tickets, strict=True))
        ]


#: Requests in one batch at most: more counters than a hall has.
AT_ONCE = 100


class Hall:
    """The hall's calls, walk-ins and tickets served as booking serves them: those
    of an office that come while a batch of their kind is in flight at that office
    go together in the next batch (``Coalescer``: no timer, so a lone request goes
    at once; two calls of one counter or of one clerk never in one batch, nor two
    ends of one counter's ticket). 20 clerks calling at once are one transaction
    of four round trips, not twenty; 20 walk-ins two round trips, not forty; 20
    tickets served one, not twenty (decision 131). One per process: its offices'
    batches are this process's."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock
        self._calls: dict[str, Coalescer[Call, Ticket | None]] = {}
        self._walk_ins: dict[str, Coalescer[WalkIn, Issued]] = {}
        self._served: dict[str, Coalescer[int, Ticket]] = {}

    async def call_next(self, office_id: str, counter: int, clerk_id: str) -> Ticket | None:
        """As :func:`call_next`, in the office's next batch of calls."""
        calls = self._calls.get(office_id)
        if calls is None:
            calls = self._calls[office_id] = Coalescer(
                functools.partial(call_many, self._uow, self._clock, office_id),
                AT_ONCE,
                apart=lambda call: (("counter", call[0]), ("clerk", call[1])),
            )
        return await calls((counter, clerk_id))

    async def walk_in(self, office_id: str, walk: WalkIn) -> Issued:
        """As :func:`walk_in`, in the office's next batch of walk-ins."""
        walk_ins_here = self._walk_ins.get(office_id)
        if walk_ins_here is None:
            walk_ins_here = self._walk_ins[office_id] = Coalescer(
                functools.partial(walk_ins, self._uow, self._clock, office_id), AT_ONCE
            )
        return await walk_ins_here(walk)

    async def mark_served(self, office_id: str, counter: int) -> Ticket:
        """As :func:`finish` of a ticket served, in the office's next batch of them."""
        served = self._served.get(office_id)
        if served is None:
            served = self._served[office_id] = Coalescer(
                functools.partial(mark_served, self._uow, self._clock, office_id),
                AT_ONCE,
                apart=lambda c: [c],
            )
        return await served(counter)


async def _tell_coming_up(tx: Transaction, head: list[tuple[int, Ticket]]) -> None:
    """The head's tickets not told yet (``head_to_tell``) hear "your number is coming
    up", once each (walk-ins have nobody to tell)."""
    for position, ticket in head:
        if ticket.booking_id is None or not await tx.hall.mark_coming_up(ticket.id):
            continue  # told by a concurrent call
        booking = await tx.bookings.get_booking(ticket.booking_id)
        if booking is not None:
            tx.emit(events.TicketComingUp(ticket, booking.snapshot, position))


async def _counter_ticket(tx: Transaction, office_id: str, counter: int) -> Ticket:
    ticket = await tx.hall.called_at_counter(office_id, counter)
    if ticket is None:
        raise _nothing_called(counter)
    return ticket


async def recall(uow: UnitOfWork, clock: Clock, office_id: str, counter: int) -> Ticket:
    """Call the counter's ticket again; past the city's number of calls it is a no-show."""
    now = clock()
    async with uow.write() as tx:
        office = await _office(tx, office_id)
        ticket = await _counter_ticket(tx, office_id, counter)
        if ticket.calls >= office.rules.max_calls:
            return await _no_show(tx, ticket, now)
        recalled = await tx.hall.recall(ticket.id)
        if recalled is None:
            raise Refused("ticket_changed", "The ticket changed meanwhile.", field="counter")
        tx.emit(events.QueueChanged(recalled, "recalled"))
        return recalled


def _nothing_called(counter: int) -> Refused:
    return Refused("no_ticket_called", f"Counter {counter} has no ticket called.", field="counter")


async def finish(uow: UnitOfWork, clock: Clock, office_id: str, counter: int, *, served: bool) -> Ticket:
    """The counter's ticket was served (a batch of one: :func:`mark_served`), or
    its citizen did not come: one UPDATE of the ticket called there (of two
    concurrent ends, one finds it, the other none). A no-show also changes the
    booking and the audit chain, in a transaction."""
    if served:
        return _alone(await mark_served(uow, clock, office_id, [counter]))
    now = clock()
    async with uow.write() as tx:
        no_show = await tx.hall.finish_at_counter(office_id, counter, TicketStatus.NO_SHOW, now)
        if no_show is None:
            raise _nothing_called(counter)
        await _booking_no_show(tx, no_show, now)
        tx.emit(events.QueueChanged(no_show, no_show.status.value))
        return no_show


async def mark_served(
    uow: UnitOfWork, clock: Clock, office_id: str, counters: list[int]
) -> list[Ticket | Refused]:
    """The tickets called to ``counters`` (distinct) served, each answered alone
    (``no_ticket_called`` where none is called): where the database allows
    (PostgreSQL) one UPDATE that writes their ``QueueChanged``s too and commits by
    itself (decisions 129, 131)."""
    now = clock()
    served = TicketStatus.SERVED
    async with uow.read_then_write() as stages:
        tx = await stages.read()
        if tx.hall.writes_alone:
            done = await tx.hall.finish_at_counters(office_id, counters, served, now, announce=True)
        else:
            tx = await stages.write()
            done = await tx.hall.finish_at_counters(office_id, counters, served, now)
            for ticket in done:
                if ticket is not None:
                    tx.emit(events.QueueChanged(ticket, served.value))
    return [
        _nothing_called(c) if ticket is None else ticket for c, ticket in zip(counters, done, strict=True)
    ]


async def _no_show(tx: Transaction, ticket: Ticket, now: dt.datetime) -> Ticket:
    """The ticket ends as a no-show and its booking with it, each by a conditional
    UPDATE: a ticket swept and marked at once becomes one no-show, not two."""
    done = await tx.hall.finish(ticket.id, TicketStatus.NO_SHOW, now)
    if done is None:
        raise Refused("ticket_changed", "The ticket changed meanwhile.", field="counter")
    await _booking_no_show(tx, done, now)
    tx.emit(events.QueueChanged(done, "no_show"))
    return done


async def _booking_no_show(tx: Transaction, done: Ticket, now: dt.datetime) -> None:
    """A ticket that ended a no-show: its booking too (feeds the booking's no-show
    rule; the place is not released, its time came), audited as it counts against
    the citizen."""
    if done.booking_id is not None:
        await tx.bookings.change_status(done.booking_id, BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW, now)
    await tx.audit("hall.no_show", done.id, {"office": done.office_id, "booking": done.booking_id or ""})


async def sweep_no_shows(uow: UnitOfWork, clock: Clock) -> int:
    """Called tickets past the city's grace period become no-shows (the
    housekeeping loop runs this)."""
    now = clock()
    async with uow.read() as tx:
        called = await tx.hall.called("")
        cities = {c.code: c for c in await tx.catalogue.list_cities()}
    due = [
        t for t in called if t.city_code in cities and becomes_no_show(t, cities[t.city_code].rules.hall, now)
    ]
    swept = 0
    for ticket in due:
        async with uow.write() as tx:
            swept_ticket = await tx.hall.finish(ticket.id, TicketStatus.NO_SHOW, now)
            if swept_ticket is None:
                continue  # served or marked meanwhile
            tx.emit(events.QueueChanged(swept_ticket, "no_show"))
            if ticket.booking_id is not None:
                await tx.bookings.change_status(
                    ticket.booking_id, BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW, now
                )
            await tx.audit("hall.no_show", ticket.id, {"office": ticket.office_id, "swept": True})
            swept += 1
    return swept


async def queue(uow: UnitOfWork, clock: Clock, office_id: str) -> QueueState:
    now = clock()

    async def read(known: bool) -> QueueState:
        async with uow.read() as tx:
            office = await _office(tx, office_id, known=known)
            day = office.local_now(now).date()
            waiting, called, average = await tx.hall.queue_today(office.id, day)
            return QueueState(
                office_id=office.id,
                day=day,
                waiting=waiting,
                called=called,
                average_service=average or DEFAULT_SERVICE_TIME,
                counters_open=len(called),
            )

    return await _office_anew_if_changed(read)


async def own_ticket(uow: UnitOfWork, citizen_id: str, ticket_id: str) -> Standing:
    """A citizen's own ticket; anyone else's is not found."""
    async with uow.read() as tx:
        ticket = await tx.hall.get_ticket(ticket_id, citizen_id)
        if ticket is None:
            raise NotFound("ticket", ticket_id, field="ticket_id")
        return await _standing(tx, ticket)
