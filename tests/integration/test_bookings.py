"""Bookings and the waitlist through the booking service's real gRPC server, on
SQLite and PostgreSQL: every rule, idempotency, and the counts under contention.

The test clock stands at Monday 2030-01-07 08:00 in the test city (Asia/Shanghai);
the centre hall has 09:00, 10:00 and 11:00 slots of 2 places each, weekdays.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from typing import Any

import grpc
import pytest
import yaml
from grpc_status import rpc_status
from sqlalchemy import func, select, text, update

from mintong.booking.v1 import bookings_pb2 as pb
from mintong.booking.v1 import bookings_pb2_grpc as pb_grpc
from mintong.booking.v1 import catalogue_pb2, catalogue_pb2_grpc, events_pb2
from mintong.common.v1 import common_pb2
from services.booking.adapters import orm
from services.booking.domain import events
from services.booking.domain.bookings import BookingRequest
from services.booking.domain.model import Channel
from services.booking.service_layer import bookings as use_cases
from services.booking.service_layer import handlers
from services.runtime import context, vacancy
from tests.integration.test_pre_applications import approved_pre_application

WEB, APP = common_pb2.CHANNEL_WEB, common_pb2.CHANNEL_APP
MONDAY = dt.date(2030, 1, 7)

PORT_CITY = b"""
cities:
  - code: portcity
    name: Port City
    booking_rules:
      horizon_days: 3
      release_time: "09:00"
      cancel_cutoff_minutes: 60
      hold_minutes: 10
      entry_exit_reasons:
        - FUNERAL
        - {code: MEDICAL_TREATMENT, name: {zh-CN: "\\u51fa\\u5883\\u5c31\\u533b", en: Treatment abroad}}
      suspended_destinations: [AU]
    businesses:
      - code: ENTRY_EXIT_PERMIT
        category: entry_exit
        name: Entry-exit permits
        service_guide: Emergency reasons only.
        phone: "0898-1"
        duration_minutes: 20
        handling: window
      - code: ONLINE_ONLY
        category: licence
        name: Online licence
        service_guide: Fully online.
        phone: "0898-2"
        duration_minutes: 10
        handling: online
    offices:
      - id: port-hall
        name: Port entry-exit hall
        kind: entry_exit_hall
        address: 1 Harbour Road
        location: {lat: 20.0, lng: 110.3}
        phone: "0898-100"
        opening_hours: {mon-sun: ["09:00-10:00"]}
        slot_groups:
          - {code: ee, businesses: [ENTRY_EXIT_PERMIT, ONLINE_ONLY], capacity: 5, slot_minutes: 60}
"""


def citizen(cid: str) -> tuple[tuple[str, str], ...]:
    return ((context.CALLER_KEY, f"citizen:{cid}"),)


def problem(error: grpc.aio.AioRpcError) -> common_pb2.Problem:
    status = rpc_status.from_call(error)
    assert status is not None
    found = common_pb2.Problem()
    assert status.details[0].Unpack(found)
    return found


@pytest.fixture
async def stub(booking: Any) -> Any:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{booking.host.port}") as channel:
        yield pb_grpc.BookingServiceStub(channel)


@pytest.fixture
async def slots(booking: Any) -> dict[tuple[str, dt.date, str], Any]:
    """(office, date, "HH:MM") → slot, for the test week."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{booking.host.port}") as channel:
        catalogue = catalogue_pb2_grpc.CatalogueServiceStub(channel)
        found = {}
        for office in ("centre", "north"):
            answer = await catalogue.ListSlots(
                catalogue_pb2.ListSlotsRequest(office_id=office, business_code="ID_CARD_RENEWAL")
            )
            for s in answer.slots:
                day = dt.date(s.date.year, s.date.month, s.date.day)
                found[(office, day, f"{s.start.hours:02d}:{s.start.minutes:02d}")] = s
        return found


async def book(
    stub: Any, cid: str, slot_id: int, *, key: str | None = None, **fields: Any
) -> pb.BookResponse:
    request = pb.BookRequest(
        slot_id=slot_id,
        business_code=fields.pop("business", "ID_CARD_RENEWAL"),
        idempotency_key=str(uuid.uuid4()) if key is None else key,
        channel=fields.pop("channel", WEB),
        **fields,
    )
    return await stub.Book(request, metadata=citizen(cid))


async def refusal(call: Any) -> common_pb2.Problem:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return problem(raised.value)


async def counts(booking: Any) -> dict[int, tuple[int, int, int, int, int]]:
    """slot id → (capacity, booked, held, live bookings, offered holds)."""
    b, s, w = orm.bookings, orm.slots, orm.waitlist_entries
    async with booking.db.read() as conn:
        live = dict(
            (
                await conn.execute(
                    select(b.c.slot_id, func.count()).where(b.c.status != "cancelled").group_by(b.c.slot_id)
                )
            ).all()
        )
        held = dict(
            (
                await conn.execute(
                    select(w.c.held_slot_id, func.count())
                    .where(w.c.status == "offered")
                    .group_by(w.c.held_slot_id)
                )
            ).all()
        )
        rows = (await conn.execute(select(s.c.id, s.c.capacity, s.c.booked, s.c.held))).all()
    return {r.id: (r.capacity, r.booked, r.held, live.get(r.id, 0), held.get(r.id, 0)) for r in rows}


async def assert_invariants(booking: Any) -> None:
    for slot_id, (capacity, booked, held, live, offered) in (await counts(booking)).items():
        assert booked == live, f"slot {slot_id}: booked {booked} but {live} bookings"
        assert held == offered, f"slot {slot_id}: held {held} but {offered} offers"
        assert booked + held <= capacity, f"slot {slot_id} oversold"


async def outbox_events(booking: Any, event_type: str) -> int:
    async with booking.db.read() as conn:
        return int(
            (
                await conn.execute(
                    select(func.count()).select_from(orm.outbox).where(orm.outbox.c.event_type == event_type)
                )
            ).scalar_one()
        )


async def test_a_booking_keeps_what_the_citizen_was_told(booking: Any, stub: Any, slots: Any) -> None:
    slot = slots[("centre", MONDAY, "09:00")]
    answer = await book(stub, "c1", slot.id)
    b = answer.booking
    assert not answer.replayed
    assert (b.office_id, b.slot_id, b.status) == ("centre", slot.id, pb.BOOKING_STATUS_CONFIRMED)
    assert (b.date.day, b.start.hours, b.end.hours) == (7, 9, 10)
    assert len(b.confirmation_code) == 8 and b.qr_payload.startswith(f"MT1.{b.id}.{b.confirmation_code}.")
    assert b.snapshot.materials == ["现持身份证", "居民户口簿"]
    assert b.snapshot.materials_en == ["Current ID card", "Household register booklet"]
    assert (b.snapshot.visit_requirements, b.snapshot.visit_requirements_en) == (
        ["请佩戴口罩"],
        ["Wear a mask"],
    )
    assert (b.snapshot.phone, b.snapshot.office_phone) == ("0371-00000001", "0371-10000000")
    assert (b.snapshot.service_guide[:3], b.snapshot.service_guide_en[:5]) == ("身份证", "Renew")
    assert await outbox_events(booking, "mintong.booking.v1.BookingConfirmed") == 1
    assert (await counts(booking))[slot.id][:2] == (2, 1)
    # Read back, own only.
    got = await stub.GetBooking(pb.GetBookingRequest(booking_id=b.id), metadata=citizen("c1"))
    assert got.booking == b
    listed = await stub.ListBookings(pb.ListBookingsRequest(), metadata=citizen("c1"))
    assert [x.id for x in listed.bookings] == [b.id]


async def test_a_catalogue_row_changed_by_anyone_is_what_the_next_booking_is_checked_against(
    booking: Any, stub: Any, slots: Any
) -> None:
    """The office, city and business of a booking are kept in memory on PostgreSQL,
    each used while the booking's read finds its row's version unchanged (decision
    133): a change made past this process (here a plain UPDATE, as another process or
    an operator would make it) holds for the very next booking."""
    o, bu, c = orm.offices, orm.businesses, orm.cities
    first = (await book(stub, "c1", slots[("centre", MONDAY, "09:00")].id)).booking
    assert (first.snapshot.phone, first.snapshot.office_phone) == ("0371-00000001", "0371-10000000")
    remembered = booking.uow.catalogue
    assert len(remembered) == (3 if booking.db.engine.dialect.name == "postgresql" else 0)
    async with booking.db.write() as conn:
        await conn.execute(update(o).where(o.c.id == "centre").values(phone="0371-2"))
        await conn.execute(update(bu).where(bu.c.code == "ID_CARD_RENEWAL").values(phone="0371-1"))
    second = (await book(stub, "c2", slots[("centre", MONDAY, "09:00")].id)).booking
    assert (second.snapshot.phone, second.snapshot.office_phone) == ("0371-1", "0371-2")
    async with booking.db.write() as conn:
        await conn.execute(
            update(bu)
            .where(bu.c.code == "ID_CARD_RENEWAL")
            .values(status="suspended", announcement="停办", announcement_en="Paused")
        )
    refused = await refusal(book(stub, "c3", slots[("centre", MONDAY, "10:00")].id))
    assert (refused.code, refused.detail.endswith("Paused")) == ("business_suspended", True)
    async with booking.db.write() as conn:
        await conn.execute(update(bu).where(bu.c.code == "ID_CARD_RENEWAL").values(status="active"))
        # The city's rules: booking opens no further ahead than today.
        rules = (await conn.execute(select(c.c.rules).where(c.c.code == "testcity"))).scalar_one()
        await conn.execute(update(c).where(c.c.code == "testcity").values(rules={**rules, "horizon_days": 0}))
    too_far = await refusal(book(stub, "c3", slots[("centre", MONDAY + dt.timedelta(days=1), "10:00")].id))
    assert too_far.field_violations[0].field == "slot_id"
    assert (await book(stub, "c3", slots[("centre", MONDAY, "10:00")].id)).booking.status == (
        pb.BOOKING_STATUS_CONFIRMED
    )


async def test_someone_elses_booking_does_not_exist_for_a_citizen(stub: Any, slots: Any) -> None:
    b = (await book(stub, "owner", slots[("centre", MONDAY, "09:00")].id)).booking
    other = citizen("intruder")
    for call in (
        stub.GetBooking(pb.GetBookingRequest(booking_id=b.id), metadata=other),
        stub.Cancel(pb.CancelRequest(booking_id=b.id), metadata=other),
        stub.Reschedule(
            pb.RescheduleRequest(booking_id=b.id, slot_id=slots[("centre", MONDAY, "10:00")].id),
            metadata=other,
        ),
    ):
        found = await refusal(call)
        assert (found.status, found.code) == (404, "booking_not_found")
    assert (await stub.ListBookings(pb.ListBookingsRequest(), metadata=other)).bookings == []
    # Without a citizen in the metadata, nothing at all.
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListBookings(pb.ListBookingsRequest())
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_retry_with_the_same_key_replays_and_a_different_body_is_refused(
    booking: Any, stub: Any, slots: Any
) -> None:
    slot = slots[("centre", MONDAY, "09:00")]
    first = await book(stub, "c1", slot.id, key="k-1")
    again = await book(stub, "c1", slot.id, key="k-1")
    assert again.replayed and again.booking == first.booking
    # Keys are the citizen's own: another citizen's "k-1" is a new request.
    other = await book(stub, "c2", slot.id, key="k-1")
    assert other.booking.id != first.booking.id and not other.replayed
    found = await refusal(book(stub, "c1", slots[("centre", MONDAY, "10:00")].id, key="k-1"))
    assert (found.status, found.code, found.field_violations[0].field) == (
        422,
        "idempotency_key_reused",
        "Idempotency-Key",
    )
    found = await refusal(book(stub, "c3", slot.id, key=""))
    assert (found.status, found.code) == (400, "invalid_idempotency_key")
    assert (await counts(booking))[slot.id][1] == 2
    await assert_invariants(booking)


async def test_concurrent_twins_with_one_key_make_one_booking(booking: Any, stub: Any, slots: Any) -> None:
    slot = slots[("centre", MONDAY, "11:00")]
    answers = await asyncio.gather(*(book(stub, "twin", slot.id, key="same") for _ in range(20)))
    assert len({a.booking.id for a in answers}) == 1
    assert sum(not a.replayed for a in answers) == 1
    assert (await counts(booking))[slot.id][1] == 1
    assert await outbox_events(booking, "mintong.booking.v1.BookingConfirmed") == 1


async def test_a_full_slot_and_the_one_active_booking_rule(booking: Any, stub: Any, slots: Any) -> None:
    slot = slots[("north", MONDAY, "09:00")]  # one place
    await book(stub, "c1", slot.id)
    found = await refusal(book(stub, "c2", slot.id))
    assert (found.status, found.code, found.field_violations[0].field) == (409, "slot_full", "slot_id")
    found = await refusal(book(stub, "c1", slots[("centre", MONDAY, "10:00")].id))
    assert (found.status, found.code) == (409, "one_active_booking")
    await assert_invariants(booking)


async def test_a_booking_at_once_writes_all_of_it_or_nothing(booking: Any, stub: Any, slots: Any) -> None:
    """Decision 113: on PostgreSQL, outside a transaction, the key, the booking, its
    place and its outbox rows in one statement that commits by itself; a step refused
    after the key's claim undoes the whole statement. Never at once on SQLite, nor
    inside a transaction."""
    postgres = not booking.db.is_sqlite
    centre_nine, centre_ten = slots[("centre", MONDAY, "09:00")], slots[("centre", MONDAY, "10:00")]
    north_nine = slots[("north", MONDAY, "09:00")]  # one place
    await book(stub, "c9", north_nine.id)

    async def at_once(cid: str, slot_id: int, key: str, *, inside: bool = False) -> bool:
        request = BookingRequest(slot_id, "ID_CARD_RENEWAL")
        async with booking.uow.write() if inside else booking.uow.read(snapshot=False) as tx:
            ctx = await tx.bookings.slot_context(slot_id, "ID_CARD_RENEWAL", cid)
            made = use_cases._new_booking(ctx, cid, Channel.WEB, request, booking.clock())
            confirmed = events.BookingConfirmed(made)
            return bool(
                await tx.bookings.book_at_once(key, "fp", b"answer", booking.clock(), made, confirmed)
            )

    async def written() -> tuple[int, ...]:
        """Keys, bookings, BookingConfirmed rows and vacancy rows (each with no payload:
        the relay reads it when it publishes the row)."""
        o = orm.outbox
        async with booking.db.read() as conn:
            keys, bookings = [
                (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                for table in (orm.idempotency_keys, orm.bookings)
            ]
            kinds = dict(
                (await conn.execute(select(o.c.event_type, func.count()).group_by(o.c.event_type))).all()
            )
            payloads = set(
                (
                    await conn.execute(select(o.c.payload).where(o.c.event_type == vacancy.ENTRY_TYPE))
                ).scalars()
            )
        assert payloads <= {b""}
        return keys, bookings, kinds["mintong.booking.v1.BookingConfirmed"], kinds[vacancy.ENTRY_TYPE]

    before = await written()
    # A key of hostile text is a parameter like any other.
    assert await at_once("c1", centre_nine.id, "it's'; DROP TABLE bookings; --") is postgres
    made = await written()
    assert made == (tuple(n + 1 for n in before) if postgres else before)
    # The booking collides (c1's active booking), the slot is full since the read,
    # a twin holds the key, a transaction is open: nothing written.
    assert not await at_once("c1", centre_ten.id, "k2")
    assert not await at_once("c2", north_nine.id, "k3")
    assert not await at_once("c1", centre_ten.id, "it's'; DROP TABLE bookings; --")
    assert not await at_once("c4", centre_ten.id, "k4", inside=True)
    assert await written() == made
    await assert_invariants(booking)


async def test_booking_opens_its_pool_ready_before_it_serves(
    make_settings: Any, clock: Any, test_catalogue: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Decision 127: on PostgreSQL booking opens its pool's twenty connections when it
    starts, before it serves, each having run the booking's read and planned its
    writes, reading nothing that exists and writing nothing; bookings then open no
    connection of their own. A warm-up that fails is logged, and the service starts
    anyway. SQLite has no pool to warm."""
    from services.booking import bootstrap
    from services.booking.adapters.bookings_repository import ready_for_bookings
    from services.booking.config import BookingSettings
    from services.runtime.db import PoolWarmer

    app = bootstrap.build(make_settings(BookingSettings), clock=clock)
    assert app.settings.db_warm_up  # the default
    await asyncio.to_thread(app.migrate)
    await handlers.load_catalogue(app.uow, test_catalogue, "yaml")
    await handlers.publish_slots(app.uow, first=MONDAY, last=MONDAY, city_code="testcity")

    async def backends() -> int:
        async with app.db.read() as conn:
            return int(
                (
                    await conn.execute(
                        text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                        {"name": app.db.schema[:63]},
                    )
                ).scalar_one()
            )

    async def broken(conn: Any) -> None:
        raise RuntimeError("no warm-up today")

    postgres = not app.db.is_sqlite
    await PoolWarmer(app.db, 2, broken).start()  # logged, not raised
    assert ("could not warm the database pool" in caplog.text) is postgres
    assert await app.db.warm(bootstrap.POOL_SIZE, ready_for_bookings) == (
        bootstrap.POOL_SIZE if postgres else 0
    )
    await app.db.dispose()  # closed again: what the backends show below is the start's
    await app.host.start(port=0)
    try:
        if postgres:
            assert await backends() == bootstrap.POOL_SIZE
        async with app.db.read() as conn:
            for table in (orm.idempotency_keys, orm.bookings):
                assert (await conn.execute(select(func.count()).select_from(table))).scalar_one() == 0
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.host.port}") as channel:
            stub = pb_grpc.BookingServiceStub(channel)
            catalogue = catalogue_pb2_grpc.CatalogueServiceStub(channel)
            found = await catalogue.ListSlots(
                catalogue_pb2.ListSlotsRequest(office_id="centre", business_code="ID_CARD_RENEWAL")
            )
            made = await asyncio.gather(*(book(stub, f"c{i}", found.slots[0].id) for i in range(2)))
        assert all(answer.booking.id for answer in made)
        if postgres:
            assert await backends() == bootstrap.POOL_SIZE
        await assert_invariants(app)
    finally:
        await app.host.stop()


async def test_a_past_booking_no_longer_blocks_the_next(
    booking: Any, stub: Any, slots: Any, clock: Any
) -> None:
    first = (await book(stub, "c1", slots[("centre", MONDAY, "09:00")].id)).booking
    clock.now = clock.now + dt.timedelta(hours=3)  # 11:00: the 09:00 booking is over
    later = (await book(stub, "c1", slots[("centre", MONDAY + dt.timedelta(days=1), "09:00")].id)).booking
    statuses = {
        b.id: b.status
        for b in (await stub.ListBookings(pb.ListBookingsRequest(), metadata=citizen("c1"))).bookings
    }
    assert statuses == {first.id: pb.BOOKING_STATUS_LAPSED, later.id: pb.BOOKING_STATUS_CONFIRMED}
    await assert_invariants(booking)


async def test_rules_refuse_with_a_code_naming_the_rule(
    booking: Any, stub: Any, slots: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Identity does not run here: its register answers through the adapter's one call
    # (tests/e2e/test_staff.py asks the real identity).
    async def on_the_register(citizen_ids: list[str]) -> set[str]:
        return set(citizen_ids) & {"c1"}

    monkeypatch.setattr(booking.citizens, "existing", on_the_register)
    await handlers.load_catalogue(booking.uow, PORT_CITY, "yaml")
    await handlers.publish_slots(
        booking.uow, first=MONDAY, last=MONDAY + dt.timedelta(days=6), city_code="portcity"
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{booking.host.port}") as channel:
        catalogue = catalogue_pb2_grpc.CatalogueServiceStub(channel)
        port = {
            s.date.day: s.id
            for s in (
                await catalogue.ListSlots(
                    catalogue_pb2.ListSlotsRequest(
                        office_id="port-hall",
                        business_code="ENTRY_EXIT_PERMIT",
                        to_date=common_pb2.Date(year=2030, month=1, day=13),
                    )
                )
            ).slots
        }
        listed = await catalogue.ListSlots(
            catalogue_pb2.ListSlotsRequest(office_id="far", business_code="VEHICLE_SERVICES")
        )
    assert list(listed.slots) == []  # a suspended business lists none…
    async with booking.uow.read() as tx:  # …but its published slots are still there
        vehicle = (await tx.catalogue.list_slots("far", "vehicle", MONDAY, MONDAY, dt.datetime.min))[0]

    async def refused(slot_id: int, **fields: Any) -> tuple[int, str, str]:
        found = await refusal(book(stub, "c1", slot_id, **fields))
        return found.status, found.code, found.field_violations[0].field if found.field_violations else ""

    centre = slots[("centre", MONDAY, "09:00")].id
    assert await refused(vehicle.id, business="VEHICLE_SERVICES") == (409, "business_suspended", "business")
    assert await refused(centre, business="HOUSEHOLD_REGISTRATION", channel=WEB) == (
        422,
        "channel_not_offered",
        "X-Mintong-Channel",
    )
    assert await refused(centre, business="HOUSEHOLD_REGISTRATION", channel=APP) == (
        422,
        "pre_application_required",
        "pre_application_id",
    )
    assert await refused(
        centre, business="HOUSEHOLD_REGISTRATION", channel=APP, pre_application_id="pa-1"
    ) == (
        422,
        "pre_application_not_approved",
        "pre_application_id",
    )
    # The citizen's pre-application is approved (tests/integration/test_pre_applications.py
    # walks the workflow); someone else's approval is no use.
    pa_1 = await approved_pre_application(booking, "c1", "testcity", "HOUSEHOLD_REGISTRATION")
    assert await outbox_events(booking, "mintong.booking.v1.PreApplicationApproved") == 1
    found = await refusal(
        stub.Book(
            pb.BookRequest(
                slot_id=centre,
                business_code="HOUSEHOLD_REGISTRATION",
                pre_application_id=pa_1,
                idempotency_key="other-citizen",
                channel=APP,
            ),
            metadata=citizen("c2"),
        )
    )
    assert found.code == "pre_application_not_approved"
    await book(stub, "c1", centre, business="HOUSEHOLD_REGISTRATION", channel=APP, pre_application_id=pa_1)

    ee = {"business": "ENTRY_EXIT_PERMIT"}
    # Port City: 3-day horizon released at 09:00; at 08:00 Monday, Tuesday is the last open day.
    assert await refused(port[7], **ee, reason_code="TOURISM", destination="JP") == (
        422,
        "entry_exit_reason_not_allowed",
        "reason_code",
    )
    assert await refused(port[7], **ee, reason_code="FUNERAL") == (422, "destination_required", "destination")
    assert await refused(port[7], **ee, reason_code="FUNERAL", destination="au") == (
        422,
        "destination_suspended",
        "destination",
    )
    assert await refused(port[10], **ee, reason_code="FUNERAL", destination="JP") == (
        422,
        "outside_booking_horizon",
        "slot_id",
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await book(stub, "c1", port[9], **ee, reason_code="FUNERAL", destination="JP")
    released = problem(raised.value)
    assert (released.status, released.code, released.retry_after_seconds) == (409, "not_yet_released", 3601)
    assert await refused(port[7], business="ONLINE_ONLY") == (422, "business_online_only", "business")
    clock.now = clock.now + dt.timedelta(hours=1, minutes=30)  # 09:30 local
    assert await refused(port[7], **ee, reason_code="FUNERAL", destination="JP") == (
        422,
        "slot_started",
        "slot_id",
    )
    made = (await book(stub, "c1", port[9], **ee, reason_code="FUNERAL", destination="jp")).booking
    assert (made.reason_code, made.destination) == ("FUNERAL", "JP")
    await assert_invariants(booking)


async def test_three_no_shows_block_booking_for_a_while(
    booking: Any, stub: Any, slots: Any, clock: Any
) -> None:
    start = clock.now
    async with grpc.aio.insecure_channel(f"127.0.0.1:{booking.host.port}") as channel:
        staff = pb_grpc.BookingStaffServiceStub(channel)
        for day in range(3):
            clock.now = start + dt.timedelta(days=day)
            date = MONDAY + dt.timedelta(days=day)
            listed = await catalogue_pb2_grpc.CatalogueServiceStub(channel).ListSlots(
                catalogue_pb2.ListSlotsRequest(office_id="centre", business_code="ID_CARD_RENEWAL")
            )
            slot = next(s for s in listed.slots if s.date.day == date.day)
            made = (await book(stub, "flaky", slot.id)).booking
            clock.now = clock.now + dt.timedelta(hours=2)  # after 09:00
            clerk = ((context.CALLER_KEY, "clerk:s1@centre"),)
            wrong = ((context.CALLER_KEY, "clerk:s2@north"),)
            found = await refusal(staff.MarkNoShow(pb.MarkNoShowRequest(booking_id=made.id), metadata=wrong))
            assert (found.status, found.code) == (403, "wrong_office")
            marked = await staff.MarkNoShow(pb.MarkNoShowRequest(booking_id=made.id), metadata=clerk)
            assert marked.booking.status == pb.BOOKING_STATUS_NO_SHOW and marked.booking.citizen_id == "flaky"
        day_list = await staff.ListOfficeBookings(
            pb.ListOfficeBookingsRequest(office_id="centre", date=common_pb2.Date(year=2030, month=1, day=7)),
            metadata=clerk,
        )
        assert [b.citizen_id for b in day_list.bookings] == ["flaky"]
        found = await refusal(
            staff.ListOfficeBookings(
                pb.ListOfficeBookingsRequest(
                    office_id="centre", date=common_pb2.Date(year=2030, month=1, day=7)
                ),
                metadata=wrong,
            )
        )
        assert found.code == "wrong_office"
    found = await refusal(book(stub, "flaky", slots[("centre", MONDAY + dt.timedelta(days=4), "09:00")].id))
    assert (found.status, found.code) == (409, "no_show_limit")
    assert found.retry_after_seconds > 29 * 86400
    await assert_invariants(booking)


async def test_cancel_frees_the_place_and_is_refused_after_the_cutoff(
    booking: Any, stub: Any, slots: Any, clock: Any
) -> None:
    slot = slots[("north", MONDAY + dt.timedelta(days=2), "09:30")]
    b = (await book(stub, "c1", slot.id)).booking
    cancelled = await stub.Cancel(pb.CancelRequest(booking_id=b.id), metadata=citizen("c1"))
    assert cancelled.booking.status == pb.BOOKING_STATUS_CANCELLED
    again = await stub.Cancel(pb.CancelRequest(booking_id=b.id), metadata=citizen("c1"))
    assert again.booking.status == pb.BOOKING_STATUS_CANCELLED
    assert await outbox_events(booking, "mintong.booking.v1.BookingCancelled") == 1
    assert (await counts(booking))[slot.id][1] == 0
    b2 = (await book(stub, "c2", slot.id)).booking  # the place is free again
    clock.now = clock.now + dt.timedelta(days=2, minutes=-29)  # Wednesday 07:31: under 2 hours before
    found = await refusal(stub.Cancel(pb.CancelRequest(booking_id=b2.id), metadata=citizen("c2")))
    assert (found.status, found.code) == (409, "cancellation_cutoff_passed")
    await assert_invariants(booking)


async def test_reschedule_is_all_or_nothing(booking: Any, stub: Any, slots: Any) -> None:
    a, b = (
        slots[("centre", MONDAY + dt.timedelta(days=1), "09:00")],
        slots[("north", MONDAY + dt.timedelta(days=2), "09:00")],
    )
    mine = (await book(stub, "c1", a.id)).booking
    await book(stub, "c2", b.id)  # the north slot's one place is taken
    found = await refusal(
        stub.Reschedule(pb.RescheduleRequest(booking_id=mine.id, slot_id=b.id), metadata=citizen("c1"))
    )
    assert (found.status, found.code) == (409, "slot_full")
    kept = await stub.GetBooking(pb.GetBookingRequest(booking_id=mine.id), metadata=citizen("c1"))
    assert kept.booking == mine
    target = slots[("centre", MONDAY + dt.timedelta(days=3), "10:00")]
    moved = (
        await stub.Reschedule(
            pb.RescheduleRequest(booking_id=mine.id, slot_id=target.id), metadata=citizen("c1")
        )
    ).booking
    assert (moved.id, moved.slot_id, moved.date.day) == (mine.id, target.id, 10)
    assert moved.confirmation_code != mine.confirmation_code
    c = await counts(booking)
    assert (c[a.id][1], c[target.id][1]) == (0, 1)
    assert await outbox_events(booking, "mintong.booking.v1.BookingRescheduled") == 1
    await assert_invariants(booking)


async def test_a_freed_place_is_held_for_the_waitlist_and_passes_on_when_the_hold_runs_out(
    booking: Any, stub: Any, slots: Any, clock: Any
) -> None:
    slot = slots[("north", MONDAY + dt.timedelta(days=2), "09:30")]  # one place
    taken = (await book(stub, "holder", slot.id)).booking
    found = await refusal(
        stub.JoinWaitlist(
            pb.JoinWaitlistRequest(
                business_code="ID_CARD_RENEWAL", slot_id=slots[("centre", MONDAY, "09:00")].id, channel=WEB
            ),
            metadata=citizen("w1"),
        )
    )
    assert found.code == "slot_has_vacancy"
    entries = []
    for cid in ("w1", "w2"):
        joined = await stub.JoinWaitlist(
            pb.JoinWaitlistRequest(business_code="ID_CARD_RENEWAL", slot_id=slot.id, channel=WEB),
            metadata=citizen(cid),
        )
        entries.append(joined.entry)
    found = await refusal(
        stub.JoinWaitlist(
            pb.JoinWaitlistRequest(business_code="ID_CARD_RENEWAL", slot_id=slot.id, channel=WEB),
            metadata=citizen("w1"),
        )
    )
    assert (found.status, found.code) == (409, "already_waiting")
    listed = await stub.ListWaitlist(pb.ListWaitlistRequest(), metadata=citizen("w2"))
    assert [(e.status, e.position) for e in listed.entries] == [(pb.WAIT_STATUS_WAITING, 2)]

    await stub.Cancel(pb.CancelRequest(booking_id=taken.id), metadata=citizen("holder"))
    offered = (await stub.ListWaitlist(pb.ListWaitlistRequest(), metadata=citizen("w1"))).entries[0]
    assert offered.status == pb.WAIT_STATUS_OFFERED and offered.held_slot_id == slot.id
    assert await outbox_events(booking, "mintong.booking.v1.WaitlistOfferMade") == 1
    # The held place is nobody else's: a flash crowd finds the slot full.
    assert (await refusal(book(stub, "grabber", slot.id))).code == "slot_full"
    # w1 does not confirm in time: the hold passes to w2.
    clock.now = clock.now + dt.timedelta(minutes=16)
    assert await use_cases.expire_holds(booking.uow, clock) == 1
    found = await refusal(
        stub.ConfirmOffer(pb.ConfirmOfferRequest(entry_id=entries[0].id), metadata=citizen("w1"))
    )
    assert found.code == "no_offer"
    second = (await stub.ListWaitlist(pb.ListWaitlistRequest(), metadata=citizen("w2"))).entries[0]
    assert second.status == pb.WAIT_STATUS_OFFERED
    # Nobody else can confirm w2's offer.
    found = await refusal(
        stub.ConfirmOffer(pb.ConfirmOfferRequest(entry_id=second.id), metadata=citizen("w1"))
    )
    assert (found.status, found.code) == (404, "waitlist_entry_not_found")
    made = (
        await stub.ConfirmOffer(pb.ConfirmOfferRequest(entry_id=second.id), metadata=citizen("w2"))
    ).booking
    assert made.slot_id == slot.id and made.status == pb.BOOKING_STATUS_CONFIRMED
    again = (
        await stub.ConfirmOffer(pb.ConfirmOfferRequest(entry_id=second.id), metadata=citizen("w2"))
    ).booking
    assert again.id == made.id
    assert await outbox_events(booking, "mintong.booking.v1.WaitlistOfferExpired") == 1
    c = (await counts(booking))[slot.id]
    assert c[:3] == (1, 1, 0)
    await assert_invariants(booking)


async def test_earliest_place_waitlist_leaving_and_added_capacity(
    booking: Any, stub: Any, slots: Any, clock: Any
) -> None:
    north = [s for (office, _, _), s in slots.items() if office == "north"]
    for i, s in enumerate(north):  # every north place this week
        await book(stub, f"filler{i}", s.id)
    joined = []
    for cid in ("e1", "e2"):
        joined.append(
            (
                await stub.JoinWaitlist(
                    pb.JoinWaitlistRequest(business_code="ID_CARD_RENEWAL", office_id="north", channel=WEB),
                    metadata=citizen(cid),
                )
            ).entry
        )
    assert not joined[0].HasField("slot_id")
    # Someone cancels: e1 is offered; e1 leaves instead, so the place passes to e2.
    first = (await stub.ListBookings(pb.ListBookingsRequest(), metadata=citizen("filler3"))).bookings[0]
    await stub.Cancel(pb.CancelRequest(booking_id=first.id), metadata=citizen("filler3"))
    assert (await stub.ListWaitlist(pb.ListWaitlistRequest(), metadata=citizen("e1"))).entries[0].status == (
        pb.WAIT_STATUS_OFFERED
    )
    left = await stub.LeaveWaitlist(pb.LeaveWaitlistRequest(entry_id=joined[0].id), metadata=citizen("e1"))
    assert left.entry.status == pb.WAIT_STATUS_LEFT
    e2 = (await stub.ListWaitlist(pb.ListWaitlistRequest(), metadata=citizen("e2"))).entries[0]
    assert e2.status == pb.WAIT_STATUS_OFFERED and e2.held_slot_id == first.slot_id
    # e3 waits; the bureau adds capacity at north: e3 is offered one of the new places.
    await stub.JoinWaitlist(
        pb.JoinWaitlistRequest(business_code="ID_CARD_RENEWAL", office_id="north", channel=WEB),
        metadata=citizen("e3"),
    )
    async with booking.db.write() as conn:  # the administrator raises north's capacity
        await conn.execute(
            update(orm.slot_groups).where(orm.slot_groups.c.office_id == "north").values(capacity=2)
        )
    await handlers.publish_slots(
        booking.uow, first=MONDAY, last=MONDAY + dt.timedelta(days=6), office_id="north", clock=clock
    )
    e3 = (await stub.ListWaitlist(pb.ListWaitlistRequest(), metadata=citizen("e3"))).entries[0]
    assert e3.status == pb.WAIT_STATUS_OFFERED
    await assert_invariants(booking)


async def test_a_capacity_decrease_keeps_every_booked_and_held_place(
    booking: Any, test_catalogue: bytes
) -> None:
    # The repository's rule (services/booking/adapters/repository.py upsert_slots), on
    # SQLite and PostgreSQL: a lower capacity never goes below booked + held there.
    s = orm.slots
    where = (s.c.office_id == "centre") & (s.c.group_code == "household")
    async with booking.db.write() as conn:
        first = (await conn.execute(select(s.c.id).where(where).order_by(s.c.date, s.c.start_time))).scalars()
        [full, half, *_] = list(first)
        await conn.execute(update(s).where(s.c.id == full).values(booked=1, held=1))  # capacity 2
        await conn.execute(update(s).where(s.c.id == half).values(held=1))
    doc = yaml.safe_load(test_catalogue)
    for city in doc["cities"]:
        for office in city["offices"]:
            for group in office["slot_groups"]:
                if group["code"] == "household":
                    group["capacity"] = 1  # from 2
    await handlers.load_catalogue(booking.uow, yaml.safe_dump(doc).encode(), "yaml")
    await handlers.publish_slots(
        booking.uow, first=dt.date(2030, 1, 7), last=dt.date(2030, 1, 13), office_id="centre"
    )
    async with booking.db.read() as conn:
        rows = (await conn.execute(select(s.c.id, s.c.capacity, s.c.booked, s.c.held).where(where))).all()
    capacity = {r.id: r.capacity for r in rows}
    assert capacity.pop(full) == 2  # booked 1 + held 1: nobody loses their place
    assert capacity.pop(half) == 1  # held 1 fits the new capacity
    assert set(capacity.values()) == {1}


@pytest.mark.parametrize("clients", [200])
async def test_a_crowd_never_overbooks(booking: Any, stub: Any, slots: Any, clients: int) -> None:
    """Many citizens at once on a handful of small slots, while earlier bookers
    cancel and move: every count matches its rows, every success has one row and
    one event, every refusal is a clean 409."""
    targets = [
        s.id for (office, day, _), s in slots.items() if office == "centre" and day == MONDAY
    ]  # 3 × 2 places
    movers = [
        s.id
        for (office, day, _), s in slots.items()
        if office == "centre" and day == MONDAY + dt.timedelta(days=1)
    ]
    early = [(await book(stub, f"early{i}", movers[i % len(movers)])).booking for i in range(4)]
    rng = random.Random(7)

    async def citizen_books(i: int) -> tuple[str, Any]:
        try:
            answer = await book(stub, f"crowd{i}", rng.choice(targets))
            return "ok", answer.booking.id
        except grpc.aio.AioRpcError as error:
            return "refused", problem(error)

    async def early_changes(b: Any, i: int) -> None:
        try:
            if i % 2:
                await stub.Cancel(pb.CancelRequest(booking_id=b.id), metadata=citizen(b_citizen(i)))
            else:
                await stub.Reschedule(
                    pb.RescheduleRequest(booking_id=b.id, slot_id=rng.choice(targets)),
                    metadata=citizen(b_citizen(i)),
                )
        except grpc.aio.AioRpcError as error:
            assert problem(error).status == 409

    def b_citizen(i: int) -> str:
        return f"early{i}"

    results = await asyncio.gather(
        *(citizen_books(i) for i in range(clients)), *(early_changes(b, i) for i, b in enumerate(early))
    )
    outcomes = [r for r in results if r is not None]
    ok = [x for kind, x in outcomes if kind == "ok"]
    refused = [x for kind, x in outcomes if kind == "refused"]
    assert len(ok) + len(refused) == clients
    assert {(p.status, p.code) for p in refused} == {(409, "slot_full")}
    assert len(set(ok)) == len(ok)
    c = await counts(booking)
    assert sum(c[t][1] for t in targets) <= 6
    await assert_invariants(booking)
    async with booking.db.read() as conn:
        rows = (
            await conn.execute(
                select(func.count()).select_from(orm.bookings).where(orm.bookings.c.citizen_id.like("crowd%"))
            )
        ).scalar_one()
    assert rows == len(ok)
    assert await outbox_events(booking, "mintong.booking.v1.BookingConfirmed") == len(ok) + len(early)


async def test_booking_directly_ends_waiting_and_a_held_place_becomes_the_booking(
    booking: Any, stub: Any, slots: Any
) -> None:
    wed = MONDAY + dt.timedelta(days=2)
    a, b = slots[("north", wed, "09:00")], slots[("north", wed, "09:30")]  # one place each
    holder_a = (await book(stub, "ha", a.id)).booking
    holder_b = (await book(stub, "hb", b.id)).booking

    async def join(cid: str, slot_id: int) -> Any:
        request = pb.JoinWaitlistRequest(business_code="ID_CARD_RENEWAL", slot_id=slot_id, channel=WEB)
        return (await stub.JoinWaitlist(request, metadata=citizen(cid))).entry

    first, second = await join("w1", a.id), await join("w2", a.id)
    await join("w3", b.id)
    # w1 is offered a's place, but books it directly: the hold becomes the booking.
    await stub.Cancel(pb.CancelRequest(booking_id=holder_a.id), metadata=citizen("ha"))
    made = (await book(stub, "w1", a.id)).booking
    entry = (await stub.ListWaitlist(pb.ListWaitlistRequest(), metadata=citizen("w1"))).entries[0]
    assert (entry.id, entry.status, entry.booking_id) == (first.id, pb.WAIT_STATUS_BOOKED, made.id)
    assert (await counts(booking))[a.id][:3] == (1, 1, 0)
    # w3 books elsewhere while waiting for b: the entry ends, nothing stays held.
    await book(stub, "w3", slots[("centre", wed, "09:00")].id)
    assert (await stub.ListWaitlist(pb.ListWaitlistRequest(), metadata=citizen("w3"))).entries[0].status == (
        pb.WAIT_STATUS_LEFT
    )
    await stub.Cancel(pb.CancelRequest(booking_id=holder_b.id), metadata=citizen("hb"))
    assert (await counts(booking))[b.id][:3] == (1, 0, 0)  # nobody left waiting for b
    # w2 still waits for a.
    assert (await stub.ListWaitlist(pb.ListWaitlistRequest(), metadata=citizen("w2"))).entries[
        0
    ].id == second.id
    await assert_invariants(booking)


async def test_staff_actions_are_in_the_hash_chained_audit_log(
    booking: Any, stub: Any, slots: Any, clock: Any
) -> None:
    from services.runtime import audit

    admin = ((context.CALLER_KEY, "admin:st-1"),)
    clerk = ((context.CALLER_KEY, "clerk:st-2@centre"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{booking.host.port}") as channel:
        await catalogue_pb2_grpc.CatalogueAdminServiceStub(channel).SuspendBusiness(
            catalogue_pb2.SuspendBusinessRequest(
                city_code="testcity", business_code="HOUSEHOLD_REGISTRATION", announcement="Closed for a day."
            ),
            metadata=admin,
        )
        made = (await book(stub, "c1", slots[("centre", MONDAY, "09:00")].id)).booking
        staff = pb_grpc.BookingStaffServiceStub(channel)
        await staff.ListOfficeBookings(
            pb.ListOfficeBookingsRequest(office_id="centre", date=common_pb2.Date(year=2030, month=1, day=7)),
            metadata=clerk,
        )
        clock.now = clock.now + dt.timedelta(hours=2)
        await staff.MarkNoShow(pb.MarkNoShowRequest(booking_id=made.id), metadata=clerk)
    async with booking.db.read() as conn:
        entries = [
            (r.actor, r.action, r.subject)
            for r in await conn.execute(select(orm.audit).order_by(orm.audit.c.seq))
            if r.actor != "anonymous"  # the fixture's own catalogue load
        ]
        assert entries == [
            ("admin:st-1", "business.suspended", "testcity/HOUSEHOLD_REGISTRATION"),
            ("clerk:st-2@centre", "bookings.listed", "centre"),
            ("clerk:st-2@centre", "booking.no_show", made.id),
        ]
        assert (await audit.verify(conn, orm.audit)).ok
    # Citizens' own actions are their business, not the audit log's.
    assert all(actor != "citizen:c1" for actor, _, _ in entries)


async def test_a_suspension_tells_each_citizen_with_an_active_booking_once(
    booking: Any, stub: Any, slots: Any
) -> None:
    told = "mintong.booking.v1.BookingAffectedBySuspension"
    kept = (await book(stub, "keeps", slots[("centre", MONDAY, "09:00")].id)).booking
    gone = (await book(stub, "cancels", slots[("centre", MONDAY, "10:00")].id)).booking
    await stub.Cancel(pb.CancelRequest(booking_id=gone.id), metadata=citizen("cancels"))
    # A citizen of another business, and thousands more of this one (rows as the
    # service writes them: the fan-out is one statement, whatever the count).
    async with booking.db.write() as conn:
        row = (await conn.execute(select(orm.bookings).where(orm.bookings.c.id == kept.id))).one()._asdict()
        await conn.execute(
            orm.bookings.insert(),
            [
                {**row, "id": str(uuid.uuid4()), "citizen_id": f"many-{n}", "confirmation_code": f"M{n:07d}"}
                for n in range(3000)
            ]
            + [
                {**row, "id": "o", "citizen_id": "other", "business_code": "OTHER", "confirmation_code": "O1"}
            ],
        )

    await handlers.suspend_business(booking.uow, "testcity", "ID_CARD_RENEWAL", "Printer broken.")
    async with booking.db.read() as conn:
        payloads = (
            await conn.execute(select(orm.outbox.c.payload).where(orm.outbox.c.event_type == told))
        ).scalars()
        notices = [events_pb2.BookingAffectedBySuspension.FromString(p) for p in payloads]
    assert len(notices) == 3001
    assert len({n.citizen_id for n in notices}) == 3001 and "cancels" not in {n.citizen_id for n in notices}
    mine = next(n for n in notices if n.citizen_id == "keeps")
    assert (mine.booking_id, mine.business_code, mine.announcement) == (
        kept.id,
        "ID_CARD_RENEWAL",
        "Printer broken.",
    )
    assert (mine.office_name, mine.date.day, mine.start.hours) == (kept.snapshot.office_name, 7, 9)

    # Suspending it again (a new announcement) tells nobody a second time.
    await handlers.suspend_business(booking.uow, "testcity", "ID_CARD_RENEWAL", "Still broken.")
    assert await outbox_events(booking, told) == 3001
    assert await outbox_events(booking, "mintong.booking.v1.BusinessSuspended") == 2


async def test_concurrent_suspensions_tell_each_citizen_once(booking: Any, stub: Any, slots: Any) -> None:
    await book(stub, "c1", slots[("centre", MONDAY, "09:00")].id)
    await asyncio.gather(
        *(
            handlers.suspend_business(booking.uow, "testcity", "ID_CARD_RENEWAL", f"Closed ({n}).")
            for n in range(5)
        )
    )
    assert await outbox_events(booking, "mintong.booking.v1.BookingAffectedBySuspension") == 1
