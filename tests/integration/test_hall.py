"""The hall (issue 11, decision 49) through the booking service's real gRPC server,
on SQLite and PostgreSQL: check-in and its window, tickets numbered under
concurrency, counters calling at once, no-shows that feed the booking's rule.

The test city is Asia/Shanghai: 00:00 UTC is 08:00 there. The centre hall has
09:00, 10:00 and 11:00 slots of 2 places on weekdays and takes walk-ins; the north
station serves appointments only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import grpc
import pytest
from sqlalchemy import func, select, update

from mintong.booking.v1 import bookings_pb2 as bpb
from mintong.booking.v1 import bookings_pb2_grpc as bpb_grpc
from mintong.booking.v1 import catalogue_pb2, catalogue_pb2_grpc, events_pb2
from mintong.booking.v1 import hall_pb2 as pb
from mintong.booking.v1 import hall_pb2_grpc as pb_grpc
from mintong.booking.v1.policies_pb2_grpc import PolicyAdminServiceStub
from mintong.common.v1 import common_pb2
from services.booking.adapters import orm
from services.booking.domain.bookings import Refused
from services.booking.service_layer import hall, handlers
from services.runtime import context
from tests.integration.test_bookings import citizen, outbox_events, problem
from tests.integration.test_policies import ADMIN, closure, said

MONDAY = dt.date(2030, 1, 7)
#: Local 08:45 on Monday: inside the check-in window of a 09:00 booking.
MONDAY_0845 = dt.datetime(2030, 1, 7, 0, 45, tzinfo=dt.UTC)


def clerk(staff_id: str = "s1", office: str = "centre") -> tuple[tuple[str, str], ...]:
    return ((context.CALLER_KEY, f"clerk:{staff_id}@{office}"),)


@pytest.fixture
async def stubs(booking: Any) -> Any:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{booking.host.port}") as channel:
        yield (
            bpb_grpc.BookingServiceStub(channel),
            pb_grpc.HallServiceStub(channel),
            pb_grpc.HallStaffServiceStub(channel),
            catalogue_pb2_grpc.CatalogueServiceStub(channel),
        )


async def slot_id(catalogue: Any, office: str, day: dt.date, start: str) -> int:
    answer = await catalogue.ListSlots(
        catalogue_pb2.ListSlotsRequest(office_id=office, business_code="ID_CARD_RENEWAL")
    )
    for s in answer.slots:
        if (s.date.year, s.date.month, s.date.day) == (day.year, day.month, day.day) and (
            f"{s.start.hours:02d}:{s.start.minutes:02d}" == start
        ):
            return int(s.id)
    raise AssertionError(f"no slot {office} {day} {start}")


async def book(
    stubs: Any, cid: str, office: str = "centre", day: dt.date = MONDAY, start: str = "09:00"
) -> Any:
    bookings, _, _, catalogue = stubs
    answer = await bookings.Book(
        bpb.BookRequest(
            slot_id=await slot_id(catalogue, office, day, start),
            business_code="ID_CARD_RENEWAL",
            idempotency_key=str(uuid.uuid4()),
            channel=common_pb2.CHANNEL_WEB,
        ),
        metadata=citizen(cid),
    )
    return answer.booking


async def refused(call: Any) -> tuple[grpc.StatusCode, str, str]:
    """The gRPC code, the problem's code and the field it names."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    found = problem(caught.value)
    field = found.field_violations[0].field if found.field_violations else ""
    return caught.value.code(), found.code, field


async def test_check_in_issues_one_ticket_however_often_it_is_asked(
    booking: Any, stubs: Any, clock: Any
) -> None:
    made = await book(stubs, "c1")
    clock.now = MONDAY_0845
    _, _, staff, _ = stubs
    first = await staff.CheckIn(
        pb.CheckInRequest(office_id="centre", confirmation_code=made.confirmation_code), metadata=clerk()
    )
    assert first.newly_issued and first.ticket.code == "A001"
    assert first.ticket.status == pb.TICKET_STATUS_WAITING and first.ticket.ahead == 0
    # The same booking again, by its QR payload: the same ticket, nothing new.
    again = await staff.CheckIn(
        pb.CheckInRequest(office_id="centre", qr_payload=made.qr_payload), metadata=clerk()
    )
    assert not again.newly_issued and again.ticket.id == first.ticket.id
    bookings, _, _, _ = stubs
    got = await bookings.GetBooking(bpb.GetBookingRequest(booking_id=made.id), metadata=citizen("c1"))
    assert got.booking.status == bpb.BOOKING_STATUS_CHECKED_IN
    assert await outbox_events(booking, "mintong.booking.v1.TicketIssued") == 1
    async with booking.db.read() as conn:  # who checked it in is kept with the ticket
        issued_by = (
            await conn.execute(
                select(orm.hall_tickets.c.issued_by).where(orm.hall_tickets.c.id == first.ticket.id)
            )
        ).scalar_one()
    assert issued_by == "clerk:s1@centre"


async def test_check_in_only_within_the_window_on_the_day(booking: Any, stubs: Any, clock: Any) -> None:
    _, _, staff, _ = stubs
    made = await book(stubs, "c1")
    tuesday = await book(stubs, "c2", day=MONDAY + dt.timedelta(days=1))

    def by_code(b: Any) -> Any:
        return staff.CheckIn(
            pb.CheckInRequest(office_id="centre", confirmation_code=b.confirmation_code), metadata=clerk()
        )

    clock.now = dt.datetime(2030, 1, 7, 0, 20, tzinfo=dt.UTC)  # 08:20: 40 minutes early
    assert await refused(by_code(made)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "checkin_too_early",
        "booking_id",
    )
    clock.now = dt.datetime(2030, 1, 7, 1, 20, tzinfo=dt.UTC)  # 09:20: 20 minutes late
    late = await refused(by_code(made))
    assert late[1:] == ("checkin_too_late", "booking_id")
    # Tuesday's booking on Monday: its code is nobody's today at this office.
    clock.now = MONDAY_0845
    assert (await refused(by_code(tuesday)))[1] == "booking_not_found"
    qr = staff.CheckIn(pb.CheckInRequest(office_id="centre", qr_payload=tuesday.qr_payload), metadata=clerk())
    assert (await refused(qr))[1:] == ("not_booking_day", "booking_id")


async def test_check_in_at_the_wrong_office(booking: Any, stubs: Any, clock: Any) -> None:
    _, _, staff, _ = stubs
    made = await book(stubs, "c1")
    clock.now = MONDAY_0845
    north = clerk("s9", "north")
    by_qr = staff.CheckIn(pb.CheckInRequest(office_id="north", qr_payload=made.qr_payload), metadata=north)
    assert await refused(by_qr) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "booking_at_another_office",
        "office_id",
    )
    by_code = staff.CheckIn(
        pb.CheckInRequest(office_id="north", confirmation_code=made.confirmation_code), metadata=north
    )
    assert (await refused(by_code))[1] == "booking_not_found"
    # A north clerk cannot act for the centre at all.
    other = staff.CheckIn(
        pb.CheckInRequest(office_id="centre", confirmation_code=made.confirmation_code), metadata=north
    )
    assert (await refused(other))[:2] == (grpc.StatusCode.PERMISSION_DENIED, "wrong_office")
    forged = made.qr_payload[:-2] + ("AA" if not made.qr_payload.endswith("AA") else "BB")
    bad = staff.CheckIn(pb.CheckInRequest(office_id="centre", qr_payload=forged), metadata=clerk())
    assert (await refused(bad))[1:] == ("invalid_qr_payload", "qr_payload")


async def test_walk_ins_refused_where_only_appointments_are_served(booking: Any, stubs: Any) -> None:
    _, _, staff, _ = stubs
    walk_in = staff.CheckIn(
        pb.CheckInRequest(office_id="north", walk_in_business_code="ID_CARD_RENEWAL"),
        metadata=clerk("s9", "north"),
    )
    assert (await refused(walk_in))[1:] == ("walk_in_not_allowed", "office_id")
    ok = await staff.CheckIn(
        pb.CheckInRequest(office_id="centre", walk_in_business_code="ID_CARD_RENEWAL"), metadata=clerk()
    )
    assert ok.ticket.code == "A001" and ok.ticket.booking_id == ""


async def test_citizens_see_and_check_in_only_their_own(booking: Any, stubs: Any, clock: Any) -> None:
    _, citizens, _, _ = stubs
    made = await book(stubs, "c1")
    clock.now = MONDAY_0845
    theirs = citizens.SelfCheckIn(
        pb.SelfCheckInRequest(office_id="centre", booking_id=made.id), metadata=citizen("c2")
    )
    assert (await refused(theirs))[:2] == (grpc.StatusCode.NOT_FOUND, "booking_not_found")
    mine = await citizens.SelfCheckIn(
        pb.SelfCheckInRequest(office_id="centre", booking_id=made.id), metadata=citizen("c1")
    )
    own = await citizens.GetTicket(pb.GetTicketRequest(ticket_id=mine.ticket.id), metadata=citizen("c1"))
    assert own.ticket.code == mine.ticket.code
    other = citizens.GetTicket(pb.GetTicketRequest(ticket_id=mine.ticket.id), metadata=citizen("c2"))
    assert (await refused(other))[:2] == (grpc.StatusCode.NOT_FOUND, "ticket_not_found")
    # The display shows codes, nobody's booking.
    shown = await citizens.GetQueue(pb.GetQueueRequest(office_id="centre"))
    assert [t.code for t in shown.waiting] == ["A001"]


async def test_a_counter_calls_recalls_and_a_no_show_feeds_the_booking(
    booking: Any, stubs: Any, clock: Any
) -> None:
    bookings, _, staff, _ = stubs
    made = await book(stubs, "c1")
    clock.now = MONDAY_0845
    await staff.CheckIn(
        pb.CheckInRequest(office_id="centre", confirmation_code=made.confirmation_code), metadata=clerk()
    )
    called = await staff.CallNext(pb.CallNextRequest(office_id="centre", counter=3), metadata=clerk())
    assert called.ticket.status == pb.TICKET_STATUS_CALLED and called.ticket.counter == 3
    # One ticket in service per clerk (and per counter).
    again = staff.CallNext(pb.CallNextRequest(office_id="centre", counter=3), metadata=clerk())
    assert (await refused(again))[1] == "ticket_in_service"
    other = staff.CallNext(pb.CallNextRequest(office_id="centre", counter=3), metadata=clerk("s2"))
    assert (await refused(other))[1] == "ticket_in_service"
    # Nobody else waits: another counter calls nobody.
    empty = await staff.CallNext(pb.CallNextRequest(office_id="centre", counter=4), metadata=clerk("s2"))
    assert not empty.HasField("ticket")
    counter = pb.RecallRequest(office_id="centre", counter=3)
    assert (await staff.Recall(counter, metadata=clerk())).ticket.calls == 2
    assert (await staff.Recall(counter, metadata=clerk())).ticket.calls == 3
    gone = await staff.Recall(counter, metadata=clerk())  # past three calls: a no-show
    assert gone.ticket.status == pb.TICKET_STATUS_NO_SHOW
    got = await bookings.GetBooking(bpb.GetBookingRequest(booking_id=made.id), metadata=citizen("c1"))
    assert got.booking.status == bpb.BOOKING_STATUS_NO_SHOW
    # Nothing is ended twice.
    assert (
        await refused(
            staff.MarkTicketNoShow(
                pb.MarkTicketNoShowRequest(office_id="centre", counter=3), metadata=clerk()
            )
        )
    )[1] == "no_ticket_called"


async def test_the_sweep_turns_a_called_ticket_past_its_grace_into_a_no_show(
    booking: Any, stubs: Any, clock: Any
) -> None:
    _, _, staff, _ = stubs
    made = await book(stubs, "c1")
    clock.now = MONDAY_0845
    await staff.CheckIn(
        pb.CheckInRequest(office_id="centre", confirmation_code=made.confirmation_code), metadata=clerk()
    )
    await staff.CallNext(pb.CallNextRequest(office_id="centre", counter=1), metadata=clerk())
    assert await hall.sweep_no_shows(booking.uow, clock) == 0
    clock.now = MONDAY_0845 + dt.timedelta(minutes=10)
    assert await hall.sweep_no_shows(booking.uow, clock) == 1
    assert await hall.sweep_no_shows(booking.uow, clock) == 0


async def test_priority_groups_are_called_first_then_appointment_order(booking: Any, stubs: Any) -> None:
    _, _, staff, _ = stubs

    async def walk_in(priority: str = "") -> str:
        answer = await staff.CheckIn(
            pb.CheckInRequest(
                office_id="centre", walk_in_business_code="ID_CARD_RENEWAL", priority_group=priority
            ),
            metadata=clerk(),
        )
        return str(answer.ticket.code)

    first, second, elderly = await walk_in(), await walk_in(), await walk_in("elderly")
    unknown = staff.CheckIn(
        pb.CheckInRequest(office_id="centre", walk_in_business_code="ID_CARD_RENEWAL", priority_group="vip"),
        metadata=clerk(),
    )
    assert (await refused(unknown))[1:] == ("unknown_priority_group", "priority_group")
    order = []
    for n in range(1, 4):
        called = await staff.CallNext(
            pb.CallNextRequest(office_id="centre", counter=n), metadata=clerk(f"s{n}")
        )
        order.append(called.ticket.code)
    assert order == [elderly, first, second]


async def test_many_clerks_number_and_call_at_once_without_duplicates(booking: Any, stubs: Any) -> None:
    """40 walk-ins checked in at once get 40 different numbers; 20 clerks then call
    at once until nobody waits: every ticket is called exactly once."""
    _, _, staff, _ = stubs
    issued = await asyncio.gather(
        *[
            staff.CheckIn(
                pb.CheckInRequest(office_id="centre", walk_in_business_code="ID_CARD_RENEWAL"),
                metadata=clerk(f"k{i % 4}"),
            )
            for i in range(40)
        ]
    )
    assert sorted(int(a.ticket.code[1:]) for a in issued) == list(range(1, 41))

    async def counter(n: int) -> list[str]:
        mine: list[str] = []
        while True:
            answer = await staff.CallNext(
                pb.CallNextRequest(office_id="centre", counter=n), metadata=clerk(f"c{n}")
            )
            if not answer.HasField("ticket"):
                return mine
            mine.append(answer.ticket.id)
            await staff.MarkServed(
                pb.MarkServedRequest(office_id="centre", counter=n), metadata=clerk(f"c{n}")
            )

    called = [t for batch in await asyncio.gather(*[counter(n) for n in range(1, 21)]) for t in batch]
    assert sorted(called) == sorted(a.ticket.id for a in issued)
    async with booking.db.read() as conn:
        served = (
            await conn.execute(
                select(func.count())
                .select_from(orm.hall_tickets)
                .where(orm.hall_tickets.c.status == "served")
            )
        ).scalar_one()
    assert served == 40


async def test_walk_ins_and_served_tickets_tell_the_boards_with_their_codes(booking: Any, stubs: Any) -> None:
    """A walk-in and a served ticket each leave one QueueChanged in the outbox, as
    the proto reads it: the change, the office, its city, the counter and the
    ticket's code, a number past 999 included (on PostgreSQL the statement that
    makes the change writes it, its city and code filled in by SQL, and commits by
    itself: decision 129), and the relay is woken up for it."""
    _, _, staff, _ = stubs
    woken: list[int] = []
    booking.uow.on_commit = lambda: woken.append(1)

    async def walk_in() -> Any:
        request = pb.CheckInRequest(office_id="centre", walk_in_business_code="ID_CARD_RENEWAL")
        return (await staff.CheckIn(request, metadata=clerk())).ticket

    first = await walk_in()
    async with booking.db.write() as conn:  # the office's day at 998 tickets
        await conn.execute(update(orm.hall_sequences).values(last_number=998))
    codes = [first.code, (await walk_in()).code, (await walk_in()).code]
    assert codes == ["A001", "A999", "A1000"]
    assert len(woken) == 3
    called = await staff.CallNext(pb.CallNextRequest(office_id="centre", counter=3), metadata=clerk())
    assert called.ticket.code == "A001"
    served = await staff.MarkServed(pb.MarkServedRequest(office_id="centre", counter=3), metadata=clerk())
    assert served.ticket.status == pb.TICKET_STATUS_SERVED and len(woken) == 5
    # Served again: nothing called there, so nothing changed and nothing told.
    again = staff.MarkServed(pb.MarkServedRequest(office_id="centre", counter=3), metadata=clerk())
    assert (await refused(again))[1] == "no_ticket_called"
    changes = await queue_changes(booking)
    told = [event for _, event in changes]
    assert [(e.change, e.ticket_code, e.counter) for e in told] == [
        ("issued", "A001", 0),
        ("issued", "A999", 0),
        ("issued", "A1000", 0),
        ("called", "A001", 3),
        ("served", "A001", 3),
    ]
    assert {(e.office_id, e.city_code) for e in told} == {("centre", "testcity")}
    assert all(e.occurred_at.seconds > 0 for e in told)
    # Nothing but the event's fields (a field written twice would read as its last).
    for payload, event in changes:
        assert len(payload) == event.ByteSize()


async def test_coming_up_is_told_once_when_few_are_ahead(booking: Any, stubs: Any, clock: Any) -> None:
    """Two bookings at 09:00 and 10:00 check in behind four walk-ins; as the counter
    calls, each hears "coming up" once. The wait is estimated from the default
    service time until a ticket is served, then from the served one's."""
    _, public, staff, _ = stubs
    clock.now = MONDAY_0845
    for _ in range(4):
        await staff.CheckIn(
            pb.CheckInRequest(office_id="centre", walk_in_business_code="ID_CARD_RENEWAL"), metadata=clerk()
        )
    clock.now = MONDAY_0845 - dt.timedelta(minutes=10)
    nine = await book(stubs, "c1")
    clock.now = MONDAY_0845
    # The walk-ins came at 08:45; the 09:00 booking is ordered by its time: behind them.
    answer = await staff.CheckIn(
        pb.CheckInRequest(office_id="centre", confirmation_code=nine.confirmation_code), metadata=clerk()
    )
    assert answer.ticket.ahead == 4
    assert answer.ticket.wait_minutes == 20  # 4 × the default 5 minutes, no counter open
    assert await outbox_events(booking, "mintong.booking.v1.TicketComingUp") == 0
    await staff.CallNext(pb.CallNextRequest(office_id="centre", counter=1), metadata=clerk())
    assert await outbox_events(booking, "mintong.booking.v1.TicketComingUp") == 1
    clock.now = MONDAY_0845 + dt.timedelta(minutes=3)
    await staff.MarkServed(pb.MarkServedRequest(office_id="centre", counter=1), metadata=clerk())
    board = await public.GetQueue(pb.GetQueueRequest(office_id="centre"))
    assert board.average_service_seconds == 180
    assert [t.wait_minutes for t in board.waiting] == [0, 3, 6, 9]
    await staff.CallNext(pb.CallNextRequest(office_id="centre", counter=1), metadata=clerk())
    assert await outbox_events(booking, "mintong.booking.v1.TicketComingUp") == 1


async def test_the_board_shows_counters_in_order_and_the_average_when_nobody_is_left(
    booking: Any, stubs: Any, clock: Any
) -> None:
    """The queue is read in one statement: its called tickets by counter, and the
    average service time also when no ticket is waiting or called."""
    _, public, staff, _ = stubs
    clock.now = MONDAY_0845
    walk_in = pb.CheckInRequest(office_id="centre", walk_in_business_code="ID_CARD_RENEWAL")
    for _ in range(3):
        await staff.CheckIn(walk_in, metadata=clerk())
    await staff.CallNext(pb.CallNextRequest(office_id="centre", counter=5), metadata=clerk())
    await staff.CallNext(pb.CallNextRequest(office_id="centre", counter=2), metadata=clerk("s2"))
    board = await public.GetQueue(pb.GetQueueRequest(office_id="centre"))
    assert [(t.code, t.counter) for t in board.called] == [("A002", 2), ("A001", 5)]
    assert [t.code for t in board.waiting] == ["A003"] and board.counters_open == 2
    clock.now = MONDAY_0845 + dt.timedelta(minutes=2)
    await staff.MarkServed(pb.MarkServedRequest(office_id="centre", counter=5), metadata=clerk())
    await staff.MarkServed(pb.MarkServedRequest(office_id="centre", counter=2), metadata=clerk("s2"))
    await staff.CallNext(pb.CallNextRequest(office_id="centre", counter=2), metadata=clerk("s2"))
    await staff.MarkServed(pb.MarkServedRequest(office_id="centre", counter=2), metadata=clerk("s2"))
    board = await public.GetQueue(pb.GetQueueRequest(office_id="centre"))
    assert not board.waiting and not board.called and board.counters_open == 0
    assert board.average_service_seconds == 80  # (120 + 120 + 0) / 3


BIG_HALL = b"""
cities:
  - code: bigcity
    name: Big City
    time_zone: Asia/Shanghai
    booking_rules:
      hall: {ticket_prefixes: {id_card: K}, coming_up_ahead: 2}
    businesses:
      - code: ID_CARD_RENEWAL
        category: id_card
        name: ID card renewal
        service_guide: Renew it.
        phone: "0371-1"
        duration_minutes: 10
        handling: window
    offices:
      - id: big-hall
        name: Big hall
        kind: service_hall
        address: 1 Big Road
        location: {lat: 34.7, lng: 113.6}
        phone: "0371-2"
        opening_hours: {mon-fri: ["09:00-10:00"]}
        slot_groups:
          - {code: all, businesses: [ID_CARD_RENEWAL], capacity: 30, slot_minutes: 60}
"""


async def test_bookings_check_in_and_are_called_at_once_each_told_once(
    booking: Any, stubs: Any, clock: Any
) -> None:
    """30 bookings checked in by 5 clerks at once, then 10 counters calling at once:
    numbers K001–K030 once each, every ticket called once, "coming up" at most once
    per ticket (the clerks' coming-up updates skip each other's rows, no deadlock)."""
    await handlers.load_catalogue(booking.uow, BIG_HALL, "yaml")
    await handlers.publish_slots(booking.uow, first=MONDAY, last=MONDAY, city_code="bigcity")
    bookings, _, staff, catalogue = stubs
    answer = await catalogue.ListSlots(
        catalogue_pb2.ListSlotsRequest(office_id="big-hall", business_code="ID_CARD_RENEWAL")
    )
    slot = next(s.id for s in answer.slots if (s.date.month, s.date.day) == (1, 7))
    made = [
        (
            await bookings.Book(
                bpb.BookRequest(
                    slot_id=slot,
                    business_code="ID_CARD_RENEWAL",
                    idempotency_key=str(uuid.uuid4()),
                    channel=common_pb2.CHANNEL_WEB,
                ),
                metadata=citizen(f"big{n}"),
            )
        ).booking
        for n in range(30)
    ]
    clock.now = MONDAY_0845
    issued = await asyncio.gather(
        *[
            staff.CheckIn(
                pb.CheckInRequest(office_id="big-hall", confirmation_code=b.confirmation_code),
                metadata=clerk(f"k{n % 5}", "big-hall"),
            )
            for n, b in enumerate(made)
        ]
    )
    assert sorted(a.ticket.code for a in issued) == [f"K{n:03d}" for n in range(1, 31)]

    async def counter(n: int) -> list[str]:
        mine: list[str] = []
        who = clerk(f"c{n}", "big-hall")
        while True:
            answer = await staff.CallNext(pb.CallNextRequest(office_id="big-hall", counter=n), metadata=who)
            if not answer.HasField("ticket"):
                return mine
            mine.append(answer.ticket.id)
            await staff.MarkServed(pb.MarkServedRequest(office_id="big-hall", counter=n), metadata=who)

    called = [t for batch in await asyncio.gather(*[counter(n) for n in range(1, 11)]) for t in batch]
    assert sorted(called) == sorted(a.ticket.id for a in issued)
    async with booking.db.read() as conn:
        told = (
            await conn.execute(
                select(orm.outbox.c.payload).where(
                    orm.outbox.c.event_type == "mintong.booking.v1.TicketComingUp"
                )
            )
        ).all()
    ids = [events_pb2.TicketComingUp.FromString(row.payload).ticket_id for row in told]
    assert len(ids) == len(set(ids))


async def test_no_ticket_at_an_office_a_closure_keeps_shut(booking: Any, stubs: Any, clock: Any) -> None:
    """An office closure in force (decision 59) sends a walk-in away with the reason,
    a 409 ``office_closed`` as a booking on that day gets; the next day takes them."""
    made = await book(stubs, "c1")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{booking.host.port}") as channel:
        await PolicyAdminServiceStub(channel).CreatePolicy(closure(MONDAY, MONDAY), metadata=ADMIN)
    _, _, staff, _ = stubs
    clock.now = MONDAY_0845
    for asked in (
        pb.CheckInRequest(office_id="centre", walk_in_business_code="ID_CARD_RENEWAL"),
        pb.CheckInRequest(office_id="centre", qr_payload=made.qr_payload),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await staff.CheckIn(asked, metadata=clerk())
        assert said(refused.value) == (409, "office_closed", "office_id")
        assert "closed on 2030-01-07" in problem(refused.value).detail
    async with booking.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(orm.hall_tickets))).scalar_one() == 0
    clock.now = MONDAY_0845 + dt.timedelta(days=1)
    ok = await staff.CheckIn(
        pb.CheckInRequest(office_id="centre", walk_in_business_code="ID_CARD_RENEWAL"), metadata=clerk()
    )
    assert ok.ticket.code == "A001"


async def test_every_process_sees_an_office_changed_by_another(
    booking: Any, stubs: Any, clock: Any, make_settings: Any
) -> None:
    """Booking's processes keep the hall's offices in memory, each checked by its
    version in a statement the request makes anyway (decision 120): a change of the
    city's rules or of the office, made by another process, is the next request's
    answer in every process, whichever had it in memory."""
    from services.booking import bootstrap
    from services.booking.config import BookingSettings

    other = bootstrap.build(make_settings(BookingSettings), clock=clock)
    processes = {"s1": booking, "s2": other}
    clock.now = MONDAY_0845

    async def walk_in(app: Any, priority: str = "") -> str:
        return (await hall.walk_in(app.uow, app.clock, "centre", "ID_CARD_RENEWAL", priority)).ticket.code

    try:
        for app in processes.values():  # each has read the office
            assert (await walk_in(app)).startswith("A")
            assert (await hall.queue(app.uow, app.clock, "centre")).day == MONDAY
            with pytest.raises(Refused) as caught:
                await walk_in(app, "pregnant")
            assert caught.value.code == "unknown_priority_group"
        if booking.db.url.startswith("postgresql"):  # kept in memory there
            assert "centre" in booking.uow.offices and "centre" in other.uow.offices
        # Another process changes the city's hall rules: the next ticket of each
        # process is numbered under the new prefix, and a group refused by the rules
        # kept in memory is taken (the refusal is decided again on the rules now).
        async with booking.db.write() as conn:
            city = orm.cities.c.code == "testcity"
            rules = (await conn.execute(select(orm.cities.c.rules).where(city))).scalar_one()
            groups = ["elderly", "disabled", "pregnant"]
            rules["hall"] = {**rules.get("hall", {}), "default_prefix": "W", "priority_groups": groups}
            await conn.execute(orm.cities.update().where(city).values(rules=rules))
        assert [await walk_in(app, "pregnant") for app in processes.values()] == ["W001", "W002"]
        # A closure comes into force through one process: both refuse a walk-in.
        async with grpc.aio.insecure_channel(f"127.0.0.1:{booking.host.port}") as channel:
            await PolicyAdminServiceStub(channel).CreatePolicy(closure(MONDAY, MONDAY), metadata=ADMIN)
        for app in processes.values():
            with pytest.raises(Refused) as caught:
                await walk_in(app)
            assert caught.value.code == "office_closed"
        # Calls and the queue's read go on, on the office read anew.
        for n, (clerk_id, app) in enumerate(processes.items(), start=1):
            called = await hall.call_next(app.uow, app.clock, "centre", n, clerk_id)
            assert called is not None and called.code == f"W00{n}"  # a priority group first
            assert (await hall.queue(app.uow, app.clock, "centre")).counters_open == n
    finally:
        await other.db.dispose()


async def queue_changes(booking: Any) -> list[tuple[bytes, events_pb2.QueueChanged]]:
    """The ``QueueChanged`` rows of the outbox in the order written: (payload, event)."""
    async with booking.db.read() as conn:
        rows = (
            await conn.execute(
                select(orm.outbox.c.payload)
                .where(orm.outbox.c.event_type == "mintong.booking.v1.QueueChanged")
                .order_by(orm.outbox.c.seq)
            )
        ).all()
    return [(row.payload, events_pb2.QueueChanged.FromString(row.payload)) for row in rows]


async def called_events(booking: Any) -> list[tuple[str, int]]:
    """The ``QueueChanged`` of the calls in the outbox: (ticket code, counter)."""
    return sorted((e.ticket_code, e.counter) for _, e in await queue_changes(booking) if e.change == "called")


async def test_a_batch_of_calls_is_answered_as_calls_one_after_the_other(booking: Any, stubs: Any) -> None:
    """The calls of a batch (decision 131), in one transaction: busy counters and
    busy clerks refused whether or not anyone waits, the others given the queue's
    next tickets in the batch's order (a priority group first), nobody once the
    queue is empty; one ``QueueChanged`` per ticket called."""
    _, _, staff, _ = stubs
    for priority in ("", "", "", "elderly", ""):
        await staff.CheckIn(
            pb.CheckInRequest(
                office_id="centre", walk_in_business_code="ID_CARD_RENEWAL", priority_group=priority
            ),
            metadata=clerk(),
        )
    await staff.CallNext(pb.CallNextRequest(office_id="centre", counter=2), metadata=clerk("b2"))
    app = booking
    calls = [(1, "c1"), (2, "c2"), (3, "c3"), (4, "b2"), (5, "c5"), (6, "c6"), (7, "c7"), (8, "c8")]
    answers = await hall.call_many(app.uow, app.clock, "centre", calls)
    codes = [a.code if a is not None and not isinstance(a, Refused) else a for a in answers]
    assert [c.code if isinstance(c, Refused) else c for c in codes] == [
        "A001",
        "ticket_in_service",  # counter 2 serves the elderly A004
        "A002",
        "ticket_in_service",  # clerk b2 serves it
        "A003",
        "A005",
        None,
        None,
    ]
    assert await called_events(booking) == [("A001", 1), ("A002", 3), ("A003", 5), ("A004", 2), ("A005", 6)]
    # The queue is empty, the busy are still refused: the answer does not depend on it.
    again = await hall.call_many(app.uow, app.clock, "centre", [(2, "c9"), (9, "c1"), (10, "c10")])
    assert [a.code if isinstance(a, Refused) else a for a in again] == [
        "ticket_in_service",
        "ticket_in_service",
        None,
    ]


async def test_twenty_clerks_calling_at_once_some_busy(booking: Any, stubs: Any) -> None:
    """20 clerks call at the same instant (their calls of one office taken together,
    decision 131), five of them at a counter or as a clerk still serving: those five
    are refused, the fifteen others get the next fifteen tickets, each once, and a
    second call of one counter at the same instant gets the ticket or is refused,
    never a second ticket. Then every counter marks its ticket served at once: each
    served once, with its own QueueChanged, a counter with none refused."""
    _, _, staff, _ = stubs
    for _ in range(20):
        await staff.CheckIn(
            pb.CheckInRequest(office_id="centre", walk_in_business_code="ID_CARD_RENEWAL"), metadata=clerk()
        )
    for n in range(1, 5):  # counters 1–4 serve A001–A004
        await staff.CallNext(pb.CallNextRequest(office_id="centre", counter=n), metadata=clerk(f"b{n}"))

    async def call(counter: int, who: str) -> str | None:
        request = pb.CallNextRequest(office_id="centre", counter=counter)
        try:
            answer = await staff.CallNext(request, metadata=clerk(who))
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION
            return problem(exc).code
        return str(answer.ticket.code) if answer.HasField("ticket") else None

    # Counters 1–4 busy; clerk b4 (busy at 4) at counter 20; counter 5 twice.
    asked = [(n, f"c{n}") for n in range(1, 20)] + [(20, "b4"), (5, "d5")]
    answers = dict(zip(asked, await asyncio.gather(*(call(n, who) for n, who in asked)), strict=True))
    busy = [(n, f"c{n}") for n in range(1, 5)] + [(20, "b4")]
    assert [answers[a] for a in busy] == ["ticket_in_service"] * 5
    fives = sorted(str(answers[a]) for a in ((5, "c5"), (5, "d5")))
    assert fives[1] == "ticket_in_service" and fives[0].startswith("A")  # one ticket, one refusal
    tickets = [x for x in answers.values() if x is not None and x.startswith("A")]
    assert sorted(tickets) == [f"A{n:03d}" for n in range(5, 20)]
    assert len(await called_events(booking)) == 4 + 15

    async def served(counter: int) -> str:
        request = pb.MarkServedRequest(office_id="centre", counter=counter)
        try:
            return str((await staff.MarkServed(request, metadata=clerk())).ticket.code)
        except grpc.aio.AioRpcError as exc:
            return problem(exc).code

    # All 19 counters with a ticket served at once, counter 6 twice, 21 with none.
    ends = await asyncio.gather(*(served(n) for n in [*range(1, 22), 6]))
    assert sorted(ends[:19]) == [f"A{n:03d}" for n in range(1, 20)]
    assert ends[19] == "no_ticket_called"  # counter 20: its clerk was refused
    assert ends[20] == "no_ticket_called"
    assert sorted([ends[5], ends[21]])[1] == "no_ticket_called"  # one end of counter 6's ticket
    told = [event for _, event in await queue_changes(booking)]
    assert sorted((e.ticket_code, e.counter) for e in told if e.change == "served") == sorted(
        (code, n) for n, code in enumerate(ends[:19], start=1)
    )


async def test_a_batch_of_walk_ins_is_answered_as_walk_ins_one_after_the_other(
    booking: Any, stubs: Any
) -> None:
    """Walk-ins of a batch (decision 131), written by one statement on PostgreSQL:
    numbers consecutive per prefix in the batch's order, each one's place behind the
    batch's earlier tickets it is queued behind, refusals each its own, one
    ``QueueChanged`` each, and the queue's order among equals the numbers'."""
    _, _, staff, _ = stubs
    woken: list[int] = []
    booking.uow.on_commit = lambda: woken.append(1)
    async with booking.db.write() as conn:  # household tickets under H
        city = orm.cities.c.code == "testcity"
        rules = (await conn.execute(select(orm.cities.c.rules).where(city))).scalar_one()
        rules["hall"] = {**rules.get("hall", {}), "ticket_prefixes": {"household": "H"}}
        await conn.execute(orm.cities.update().where(city).values(rules=rules))
    app = booking
    first = await hall.walk_in(app.uow, app.clock, "centre", "ID_CARD_RENEWAL")
    assert (first.ticket.code, first.ahead) == ("A001", 0)
    asked = [
        hall.WalkIn("ID_CARD_RENEWAL"),
        hall.WalkIn("HOUSEHOLD_REGISTRATION"),
        hall.WalkIn("VEHICLE_SERVICES"),  # not served at the centre
        hall.WalkIn("ID_CARD_RENEWAL", "vip"),
        hall.WalkIn("ID_CARD_RENEWAL", "elderly"),
        hall.WalkIn("HOUSEHOLD_REGISTRATION"),
        hall.WalkIn("ID_CARD_RENEWAL", issued_by="clerk:k9@centre"),
    ]
    answers = await hall.walk_ins(app.uow, app.clock, "centre", asked)
    said = [(a.ticket.code, a.ahead) if isinstance(a, hall.Issued) else a.code for a in answers]
    assert said == [
        ("A002", 1),
        ("H001", 2),
        "business_not_found",
        "unknown_priority_group",
        ("A003", 0),  # elderly: before everyone
        ("H002", 4),
        ("A004", 5),
    ]
    last = answers[-1]
    assert isinstance(last, hall.Issued) and last.ticket.issued_by == "clerk:k9@centre"
    assert len(woken) == 2  # the relay woken for the lone walk-in and for the batch
    changes = await queue_changes(booking)
    told = [event for _, event in changes]
    assert sorted((e.change, e.ticket_code, e.office_id, e.city_code) for e in told) == [
        ("issued", code, "centre", "testcity") for code in ("A001", "A002", "A003", "A004", "H001", "H002")
    ]
    for payload, event in changes:
        assert len(payload) == event.ByteSize()
    order = []
    for n in range(1, 7):
        called = await staff.CallNext(
            pb.CallNextRequest(office_id="centre", counter=n), metadata=clerk(f"s{n}")
        )
        order.append(called.ticket.code)
    assert order == ["A003", "A001", "A002", "H001", "H002", "A004"]
