"""Use cases of bookings and the waitlist.

Each change is one write transaction holding the count change, the rows and the
outbox events: a booking exists if and only if its place is counted and its
event will be published. The facts rules are checked against are read before
the write transaction (short write transactions are what keep a flash crowd
moving); what must not race is re-checked by the database inside it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from services.booking.domain import events
from services.booking.domain.bookings import (
    Booking,
    BookingRequest,
    BookingStatus,
    Refused,
    Snapshot,
    WaitlistEntry,
    WaitStatus,
    check_business,
    check_cancellable,
    check_no_shows,
    check_office_open,
    check_slot_open,
    new_confirmation_code,
)
from services.booking.domain.model import Channel, City, Office, Slot
from services.booking.domain.rules import BookingRules
from services.booking.service_layer import preapplications
from services.booking.service_layer.unit_of_work import SlotContext, Transaction, UnitOfWork
from services.runtime.clock import Clock
from services.runtime.errors import InvalidArgument, NotFound
from services.runtime.vacancy import slot_full_detail

#: Turns a booking into the bytes a replay answers with (the entrypoint's format).
Render = Callable[[Booking], bytes]

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Booked:
    booking: Booking | None
    #: The stored answer of the first request, when this one is a retry.
    replayed: bytes | None = None


def check_idempotency_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidArgument(
            "invalid_idempotency_key",
            f"Send an Idempotency-Key header of 1 to {MAX_KEY_LENGTH} printable ASCII characters "
            "(a UUID is best), the same one when retrying the same booking.",
            field="Idempotency-Key",
        )


def local_now(now: dt.datetime, time_zone: str) -> dt.datetime:
    """Wall-clock time in the city, naive like the slot times stored for it."""
    return now.astimezone(ZoneInfo(time_zone)).replace(tzinfo=None)


def starts_at(slot: Slot, time_zone: str) -> dt.datetime:
    return slot.starts_at(ZoneInfo(time_zone)).astimezone(dt.UTC)


async def _why_no_context(tx: Transaction, request: BookingRequest) -> NotFound:
    """Which of slot and business does not exist, so the answer names the right field."""
    slot = await tx.bookings.get_slot(request.slot_id)
    if slot is None:
        return NotFound("slot", str(request.slot_id), field="slot_id")
    office = await tx.catalogue.get_office(slot.office_id)
    if office is None or await tx.catalogue.get_business(office.city_code, request.business_code) is None:
        return NotFound("business", request.business_code, field="business")
    return NotFound(
        "slot",
        str(request.slot_id),
        field="slot_id",
        detail=f"Slot {request.slot_id} is not one of {request.business_code}.",
    )


async def _checked_context(
    tx: Transaction,
    citizen_id: str,
    channel: Channel,
    request: BookingRequest,
    now: dt.datetime,
    *,
    slot_must_be_open: bool = True,
    booking_id: str | None = None,
) -> SlotContext:
    ctx = await tx.bookings.slot_context(request.slot_id, request.business_code, citizen_id)
    if ctx is None:
        raise await _why_no_context(tx, request)
    await _check_context(
        tx, ctx, citizen_id, channel, request, now, slot_must_be_open=slot_must_be_open, booking_id=booking_id
    )
    return ctx


async def _check_context(
    tx: Transaction,
    ctx: SlotContext,
    citizen_id: str,
    channel: Channel,
    request: BookingRequest,
    now: dt.datetime,
    *,
    slot_must_be_open: bool = True,
    booking_id: str | None = None,
) -> None:
    """Every rule a booking of ``request`` must pass that can be checked by reading."""
    rules = ctx.city.rules
    check_business(ctx.business, channel, request, rules)
    check_office_open(ctx.office, ctx.slot)
    if slot_must_be_open:
        check_slot_open(ctx.slot, rules, local_now(now, ctx.city.time_zone))
    if ctx.business.requires_pre_application:
        await preapplications.check_usable(
            tx, request.pre_application_id, citizen_id, ctx.business, now, booking_id=booking_id
        )
    if ctx.has_no_shows:
        await _check_no_shows(tx, citizen_id, rules, now)


async def _check_no_shows(tx: Transaction, citizen_id: str, rules: BookingRules, now: dt.datetime) -> None:
    # Only no-shows recent enough to still block can matter.
    since = now - rules.no_show_window - rules.no_show_block
    check_no_shows(await tx.bookings.no_shows(citizen_id, since), rules, now)


def _new_booking(
    ctx: SlotContext, citizen_id: str, channel: Channel, request: BookingRequest, now: dt.datetime
) -> Booking:
    assert ctx.slot.id is not None
    return Booking(
        id=str(uuid.uuid4()),
        citizen_id=citizen_id,
        city_code=ctx.city.code,
        business_code=ctx.business.code,
        office_id=ctx.office.id,
        slot_id=ctx.slot.id,
        date=ctx.slot.date,
        start=ctx.slot.start,
        end=ctx.slot.end,
        starts_at=starts_at(ctx.slot, ctx.city.time_zone),
        status=BookingStatus.CONFIRMED,
        confirmation_code=new_confirmation_code(),
        channel=channel,
        snapshot=Snapshot.of(ctx.business, ctx.office),
        created_at=now,
        reason_code=request.reason_code,
        destination=request.destination.strip().upper(),
        pre_application_id=request.pre_application_id,
    )


async def _insert_booking(
    tx: Transaction, booking: Booking, now: dt.datetime, *, tried: bool = False
) -> Booking:
    """Insert under the one-active-booking guard (``tried``: the first insert was
    made, with the key's claim, and collided). A confirmed booking whose time has
    passed no longer counts as active: it lapses and the insert is retried."""
    for _ in range(5):
        if not tried and await tx.bookings.add_booking(booking):
            return booking
        tried = False
        active = await tx.bookings.active_booking(
            booking.citizen_id, booking.city_code, booking.business_code
        )
        if active is None:  # the confirmation code collided: draw another
            booking = replace(booking, confirmation_code=new_confirmation_code())
        elif active.starts_at <= now:
            await tx.bookings.change_status(active.id, BookingStatus.CONFIRMED, BookingStatus.LAPSED, now)
        else:
            name = active.snapshot.business_name_en or active.snapshot.business_name  # details are English
            raise Refused(
                "one_active_booking",
                f"You already have a booking for {name} on {active.date} at "
                f"{active.start:%H:%M} (code {active.confirmation_code}); cancel or reschedule it instead.",
                field="business",
            )
    raise RuntimeError("could not insert the booking")  # pragma: no cover - five collisions


def _slot_full(slot: Slot) -> Refused:
    # The gateway refuses a slot it knows is full with the same words (decision 65).
    return Refused("slot_full", slot_full_detail(slot.date, slot.start), field="slot_id")


async def book(
    uow: UnitOfWork,
    clock: Clock,
    citizen_id: str,
    channel: Channel,
    request: BookingRequest,
    idempotency_key: str,
    render: Render,
) -> Booked:
    check_idempotency_key(idempotency_key)
    fingerprint = request.fingerprint()
    now = clock()
    async with uow.read_then_write() as stages:
        tx = await stages.read()
        # One read for the common case: the key's earlier answer comes with the slot.
        ctx = await tx.bookings.slot_context(
            request.slot_id, request.business_code, citizen_id, idempotency_key
        )
        earlier = ctx.earlier if ctx else await tx.bookings.find_idempotent(citizen_id, idempotency_key)
        if earlier is not None:
            return _replayed(earlier, fingerprint)
        if ctx is None:
            raise await _why_no_context(tx, request)
        await _check_context(tx, ctx, citizen_id, channel, request, now)
        waiting = ctx.waiting
        if ctx.slot.remaining == 0 and not (waiting is not None and _holds(waiting, request.slot_id, now)):
            # Full when read: refused before any write, which is most of a flash
            # crowd once the places are gone. A place freed since is a race lost
            # like any other; the conditional update below decides every other case.
            raise _slot_full(ctx.slot)
        booking = _new_booking(ctx, citizen_id, channel, request, now)
        # Nothing read above is locked: each write below re-checks what it depends on.
        # When nothing else is to be written before its place (no entitlement, no
        # waitlist entry), the key, the booking, the place and its event, at once
        # where the database can. Not made so (a twin's key, a collision, a place
        # gone since the read; or SQLite), nothing was written: the steps below decide.
        plain = waiting is None and not ctx.business.requires_pre_application
        if plain and await tx.bookings.book_at_once(
            idempotency_key, fingerprint, render(booking), now, booking, events.BookingConfirmed(booking)
        ):
            return Booked(booking)
        tx = await stages.write()
        claimed = await tx.bookings.claim_and_add(
            citizen_id, idempotency_key, fingerprint, render(booking), now, booking, take_place=plain
        )
        if not claimed.key:
            # A twin with the same key committed first (PostgreSQL waited for it).
            replay = await _replay(tx, citizen_id, idempotency_key, fingerprint)
            assert replay is not None
            return replay
        inserted = booking if claimed.booking else await _insert_booking(tx, booking, now, tried=True)
        if inserted is not booking:
            await tx.bookings.set_idempotent_response(citizen_id, idempotency_key, render(inserted))
        await _consume_entitlement(tx, ctx, inserted, now)
        # Booking the very place held for them: the hold becomes the booking.
        converted = (
            waiting is not None
            and _holds(waiting, inserted.slot_id, now)
            and await tx.bookings.close_entry(waiting.id, WaitStatus.OFFERED, WaitStatus.BOOKED, inserted.id)
        )
        if converted:
            await tx.bookings.convert_hold(inserted.slot_id)
        else:
            # Last, so that the hot slot row stays locked only until the commit.
            placed = (
                claimed.place if claimed.place is not None else await tx.bookings.take_place(inserted.slot_id)
            )
            if not placed:
                raise _slot_full(ctx.slot)
            if waiting is not None:
                # Booked another way: the citizen stops waiting, and a place held for
                # them goes to the next in line rather than sit idle until it expires.
                # Only now that the place is certain: an offer of a freed place skips
                # entries another transaction has locked (SKIP LOCKED), so locking the
                # entry in a booking that then fails (slot full) would let a place
                # freed meanwhile pass this citizen by while they stay waiting.
                await _stop_waiting(tx, waiting, now)
        tx.emit(events.BookingConfirmed(inserted))
    return Booked(inserted)


async def _consume_entitlement(tx: Transaction, ctx: SlotContext, booking: Booking, now: dt.datetime) -> None:
    """A business that needs a pre-application: the booking uses up its entitlement."""
    if ctx.business.requires_pre_application:
        await preapplications.consume(
            tx, booking.pre_application_id, booking.citizen_id, ctx.business, booking.id, now
        )


def _holds(entry: WaitlistEntry, slot_id: int, now: dt.datetime) -> bool:
    return (
        entry.status is WaitStatus.OFFERED
        and entry.held_slot_id == slot_id
        and entry.hold_expires_at is not None
        and entry.hold_expires_at > now
    )


async def _replay(tx: Transaction, citizen_id: str, key: str, fingerprint: str) -> Booked | None:
    found = await tx.bookings.find_idempotent(citizen_id, key)
    return None if found is None else _replayed(found, fingerprint)


def _replayed(found: tuple[str, bytes], fingerprint: str) -> Booked:
    """The first answer to a key, if it was asked with the same request."""
    if found[0] != fingerprint:
        raise Refused(
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different booking request; use a new key.",
            field="Idempotency-Key",
            conflict=False,
        )
    return Booked(None, replayed=found[1])


async def get_booking(uow: UnitOfWork, citizen_id: str, booking_id: str) -> Booking:
    async with uow.read() as tx:
        return await _own_booking(tx, citizen_id, booking_id)


async def list_bookings(uow: UnitOfWork, citizen_id: str, statuses: list[BookingStatus]) -> list[Booking]:
    async with uow.read() as tx:
        return await tx.bookings.list_bookings(citizen_id, statuses)


async def _own_booking(tx: Transaction, citizen_id: str, booking_id: str) -> Booking:
    """Someone else's booking does not exist, as far as this citizen can tell."""
    booking = await tx.bookings.get_booking(booking_id, citizen_id)
    if booking is None:
        raise NotFound("booking", booking_id, field="booking_id")
    return booking


async def _city_of(tx: Transaction, city_code: str) -> City:
    city = await tx.catalogue.get_city(city_code)
    assert city is not None, f"booking of unknown city {city_code}"
    return city


async def cancel(uow: UnitOfWork, clock: Clock, citizen_id: str, booking_id: str) -> Booking:
    """Cancelling a cancelled booking answers it again (a retried cancel is no error)."""
    now = clock()
    async with uow.write() as tx:
        booking = await _own_booking(tx, citizen_id, booking_id)
        if booking.status is BookingStatus.CANCELLED:
            return booking
        city = await _city_of(tx, booking.city_code)
        check_cancellable(booking, city.rules, now)
        if not await tx.bookings.change_status(
            booking.id, BookingStatus.CONFIRMED, BookingStatus.CANCELLED, now
        ):
            raise Refused("booking_changed", "The booking changed meanwhile; read it again.")
        await tx.bookings.release_place(booking.slot_id)
        await preapplications.give_back(tx, booking.id)
        cancelled = replace(booking, status=BookingStatus.CANCELLED, changed_at=now)
        tx.emit(events.BookingCancelled(cancelled))
        await offer_freed_place(tx, booking.slot_id, now)
    return cancelled


async def reschedule(
    uow: UnitOfWork, clock: Clock, citizen_id: str, booking_id: str, slot_id: int
) -> Booking:
    """All or nothing: if the new slot is full the booking stays where it was."""
    now = clock()
    async with uow.read() as tx:
        booking = await _own_booking(tx, citizen_id, booking_id)
        if booking.slot_id == slot_id:
            return booking
        request = BookingRequest(
            slot_id,
            booking.business_code,
            booking.reason_code,
            booking.destination,
            booking.pre_application_id,
        )
        ctx = await _checked_context(tx, citizen_id, booking.channel, request, now, booking_id=booking.id)
        if ctx.city.code != booking.city_code:
            raise Refused(
                "other_city", "A booking can move only within its city.", field="slot_id", conflict=False
            )
        check_cancellable(booking, ctx.city.rules, now)
    moved = replace(
        _new_booking(ctx, citizen_id, booking.channel, request, now),
        id=booking.id,
        created_at=booking.created_at,
        changed_at=now,
    )
    async with uow.write() as tx:
        if not await tx.bookings.move_booking(booking, moved, now):
            raise Refused("booking_changed", "The booking changed meanwhile; read it again.")
        # Both slot rows in id order, so two opposite moves cannot deadlock.
        for slot in sorted((booking.slot_id, slot_id)):
            if slot == slot_id:
                if not await tx.bookings.take_place(slot_id):
                    raise _slot_full(ctx.slot)
            else:
                await tx.bookings.release_place(booking.slot_id)
        tx.emit(events.BookingRescheduled(moved, booking.date, booking.start))
        await offer_freed_place(tx, booking.slot_id, now)
    return moved


# the waitlist


async def join_waitlist(
    uow: UnitOfWork,
    clock: Clock,
    citizen_id: str,
    channel: Channel,
    request: BookingRequest,
    office_id: str,
) -> WaitlistEntry:
    """Wait for a full slot (``request.slot_id``) or for the earliest place at an
    office (``office_id``, slot_id 0)."""
    now = clock()
    async with uow.read() as tx:
        if request.slot_id:
            ctx = await _checked_context(tx, citizen_id, channel, request, now)
            if ctx.slot.remaining > 0:
                raise Refused(
                    "slot_has_vacancy", "That slot still has places: book it instead.", field="slot_id"
                )
            office, group = ctx.office, ctx.slot.group
        else:
            office, group = await _earliest_waitlist_checks(tx, citizen_id, channel, request, office_id, now)
        active = await tx.bookings.active_booking(citizen_id, office.city_code, request.business_code)
        if active is not None and active.starts_at > now:
            raise Refused(
                "one_active_booking",
                "You already have a booking for this business; reschedule it instead of waiting for another.",
                field="business",
            )
    entry = WaitlistEntry(
        id=str(uuid.uuid4()),
        citizen_id=citizen_id,
        city_code=office.city_code,
        business_code=request.business_code,
        office_id=office.id,
        group_code=group,
        slot_id=request.slot_id or None,
        status=WaitStatus.WAITING,
        channel=channel,
        created_at=now,
        request=request,
    )
    async with uow.write() as tx:
        if not await tx.bookings.add_entry(entry):
            raise Refused(
                "already_waiting",
                "You are already on a waitlist for this business; leave it first to wait elsewhere.",
                field="business",
            )
    return entry


async def _earliest_waitlist_checks(
    tx: Transaction,
    citizen_id: str,
    channel: Channel,
    request: BookingRequest,
    office_id: str,
    now: dt.datetime,
) -> tuple[Office, str]:
    """Waiting for the earliest place at an office makes sense only when the
    office handles the business and has no free place in the open horizon."""
    office = await tx.catalogue.get_office(office_id)
    group = office.group_for(request.business_code) if office else None
    business = await tx.catalogue.get_business(office.city_code, request.business_code) if office else None
    if office is None or group is None or business is None:
        raise NotFound("business_at_office", f"{request.business_code} at {office_id}", field="office_id")
    city = await _city_of(tx, office.city_code)
    check_business(business, channel, request, city.rules)
    await _check_no_shows(tx, citizen_id, city.rules, now)
    local = local_now(now, city.time_zone)
    last = city.rules.last_bookable_date(local)
    for slot in await tx.bookings.slots_with_vacancy(office.id, local):
        if slot.group == group.code and slot.date <= last:
            raise Refused(
                "vacancy_available",
                f"There is a free place on {slot.date} at {slot.start:%H:%M} (slot {slot.id}): "
                "book it instead.",
                field="office_id",
            )
    return office, group.code


async def list_waitlist(uow: UnitOfWork, citizen_id: str) -> list[tuple[WaitlistEntry, int]]:
    async with uow.read() as tx:
        return await tx.bookings.list_entries(citizen_id)


async def position_in_line(uow: UnitOfWork, entry: WaitlistEntry) -> int:
    """Where a waiting entry stands (1 = next), 0 when it no longer waits."""
    async with uow.read() as tx:
        return await tx.bookings.position(entry.id)


async def _own_entry(tx: Transaction, citizen_id: str, entry_id: str) -> WaitlistEntry:
    entry = await tx.bookings.get_entry(entry_id, citizen_id)
    if entry is None:
        raise NotFound("waitlist_entry", entry_id, field="entry_id")
    return entry


async def confirm_offer(uow: UnitOfWork, clock: Clock, citizen_id: str, entry_id: str) -> Booking:
    now = clock()
    async with uow.read() as tx:
        entry = await _own_entry(tx, citizen_id, entry_id)
        if entry.status is WaitStatus.BOOKED and entry.booking_id:
            return await _own_booking(tx, citizen_id, entry.booking_id)
        if (
            entry.status is not WaitStatus.OFFERED
            or entry.hold_expires_at is None
            or entry.held_slot_id is None
        ):
            raise Refused("no_offer", f"No place is held for this entry (it is {entry.status.value}).")
        if entry.hold_expires_at <= now:
            raise Refused("hold_expired", "The place held for you was not confirmed in time.")
        assert entry.request is not None
        request = replace(entry.request, slot_id=entry.held_slot_id)
        # The place is already held: only the rules about the business and the citizen apply.
        ctx = await _checked_context(tx, citizen_id, entry.channel, request, now, slot_must_be_open=False)
    booking = _new_booking(ctx, citizen_id, entry.channel, request, now)
    async with uow.write() as tx:
        inserted = await _insert_booking(tx, booking, now)
        await _consume_entitlement(tx, ctx, inserted, now)
        if not await tx.bookings.close_entry(entry.id, WaitStatus.OFFERED, WaitStatus.BOOKED, inserted.id):
            raise Refused("no_offer", "The hold ended meanwhile.")
        await tx.bookings.convert_hold(inserted.slot_id)
        tx.emit(events.BookingConfirmed(inserted))
    return inserted


async def leave_waitlist(uow: UnitOfWork, clock: Clock, citizen_id: str, entry_id: str) -> WaitlistEntry:
    """Leaving with a place held passes the place to the next in line."""
    now = clock()
    async with uow.write() as tx:
        entry = await _own_entry(tx, citizen_id, entry_id)
        if entry.status not in (WaitStatus.WAITING, WaitStatus.OFFERED):
            return entry
        if not await _stop_waiting(tx, entry, now):
            raise Refused("entry_changed", "The entry changed meanwhile; read it again.")
    return replace(entry, status=WaitStatus.LEFT)


async def _stop_waiting(tx: Transaction, entry: WaitlistEntry, now: dt.datetime) -> bool:
    if entry.status is WaitStatus.OFFERED:
        return await _end_hold(tx, entry, WaitStatus.LEFT, now)
    return await tx.bookings.close_entry(entry.id, WaitStatus.WAITING, WaitStatus.LEFT)


async def expire_holds(uow: UnitOfWork, clock: Clock, *, batch: int = 100) -> int:
    """Holds past their time go to the next in line; each in its own transaction."""
    now = clock()
    async with uow.read() as tx:
        due = await tx.bookings.expired_holds(now, batch)
    expired = 0
    for entry_id in due:
        async with uow.write() as tx:
            entry = await tx.bookings.get_entry(entry_id)
            if entry is not None and await _end_hold(tx, entry, WaitStatus.EXPIRED, now):
                expired += 1
    return expired


async def end_holds(tx: Transaction, entry_ids: list[str], now: dt.datetime) -> int:
    """End these holds (an office closed on their day): each citizen is told, and the
    place goes to nobody (a closed slot is held for no one)."""
    ended = 0
    for entry_id in entry_ids:
        entry = await tx.bookings.get_entry(entry_id)
        if entry is not None and await _end_hold(tx, entry, WaitStatus.EXPIRED, now):
            ended += 1
    return ended


async def _end_hold(tx: Transaction, entry: WaitlistEntry, status: WaitStatus, now: dt.datetime) -> bool:
    if entry.held_slot_id is None or not await tx.bookings.close_entry(entry.id, WaitStatus.OFFERED, status):
        return False
    await tx.bookings.release_hold(entry.held_slot_id)
    slot = await tx.bookings.get_slot(entry.held_slot_id)
    office = await tx.catalogue.get_office(entry.office_id)
    business = await tx.catalogue.get_business(entry.city_code, entry.business_code)
    if slot is not None and office is not None and business is not None:
        tx.emit(events.WaitlistOfferExpired(entry, Snapshot.of(business, office), slot.date, slot.start))
    await offer_freed_place(tx, entry.held_slot_id, now)
    return True


async def offer_freed_place(tx: Transaction, slot_id: int, now: dt.datetime) -> bool:
    """Hold a place that just freed for the longest-waiting citizen it suits, in
    the transaction that freed it: no flash crowd gets between them."""
    slot = await tx.bookings.get_slot(slot_id)
    if slot is None:
        return False
    office = await tx.catalogue.get_office(slot.office_id)
    assert office is not None
    if slot.date in office.closed_dates:
        return False  # closed by a policy: no waitlist offer is held for the day
    city = await _city_of(tx, office.city_code)
    local = local_now(now, city.time_zone)
    if dt.datetime.combine(slot.date, slot.start) <= local or slot.date > city.rules.last_bookable_date(
        local
    ):
        return False  # started, or not bookable yet: nobody can take it from the waitlist
    entry = await tx.bookings.next_waiting(slot)
    if entry is None or not await tx.bookings.hold_place(slot_id):
        return False
    expires = now + city.rules.hold
    if not await tx.bookings.offer(entry.id, slot_id, expires):
        await tx.bookings.release_hold(slot_id)
        return False
    business = await tx.catalogue.get_business(entry.city_code, entry.business_code)
    assert business is not None
    offered = replace(entry, status=WaitStatus.OFFERED, held_slot_id=slot_id, hold_expires_at=expires)
    tx.emit(
        events.WaitlistOfferMade(
            offered,
            Snapshot.of(business, office),
            slot.date,
            slot.start,
            int(city.rules.hold.total_seconds() // 60),
        )
    )
    return True


async def offer_vacancies(tx: Transaction, office_id: str, now: dt.datetime) -> int:
    """After capacity was added at an office: fill its waitlists from the new places."""
    if not await tx.bookings.has_waiting(office_id):
        return 0
    office = await tx.catalogue.get_office(office_id)
    assert office is not None
    city = await _city_of(tx, office.city_code)
    offered = 0
    for slot in await tx.bookings.slots_with_vacancy(office_id, local_now(now, city.time_zone)):
        assert slot.id is not None
        for _ in range(slot.remaining):
            if not await offer_freed_place(tx, slot.id, now):
                break
            offered += 1
    return offered


# staff


async def office_bookings(uow: UnitOfWork, office_id: str, date: dt.date) -> list[Booking]:
    """A write transaction for a read: who looked at which citizens' bookings is
    itself recorded, in the audit log."""
    async with uow.write() as tx:
        if await tx.catalogue.get_office(office_id) is None:
            raise NotFound("office", office_id, field="office_id")
        found = await tx.bookings.office_bookings(office_id, date)
        await tx.audit("bookings.listed", office_id, {"date": date.isoformat(), "count": len(found)})
        return found


async def mark_no_show(
    uow: UnitOfWork, clock: Clock, booking_id: str, may_act_for: Callable[[str], None]
) -> Booking:
    """``may_act_for(office_id)`` raises unless the caller works there. The place
    stays taken: its time has passed, so there is nothing to give to anyone."""
    now = clock()
    async with uow.write() as tx:
        booking = await tx.bookings.get_booking(booking_id)
        if booking is None:
            raise NotFound("booking", booking_id, field="booking_id")
        may_act_for(booking.office_id)
        if booking.status is BookingStatus.NO_SHOW:
            return booking
        if booking.starts_at > now:
            raise Refused(
                "not_started", "A booking can be marked as missed only after it started.", field="booking_id"
            )
        for status in (BookingStatus.CONFIRMED, BookingStatus.LAPSED):
            if await tx.bookings.change_status(booking.id, status, BookingStatus.NO_SHOW, now):
                await tx.audit("booking.no_show", booking.id, {"office": booking.office_id})
                return replace(booking, status=BookingStatus.NO_SHOW, changed_at=now)
        raise Refused("booking_not_active", f"This booking is {booking.status.value}.", field="booking_id")


async def prune_idempotency_keys(uow: UnitOfWork, clock: Clock, keep: dt.timedelta) -> int:
    async with uow.write() as tx:
        return await tx.bookings.prune_idempotency_keys(clock() - keep)
