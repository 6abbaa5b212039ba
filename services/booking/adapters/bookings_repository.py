"""Bookings, idempotency keys and the waitlist on SQL, inside one transaction.

Every count change is a conditional UPDATE whose WHERE clause re-checks the
invariant (``booked + held < capacity``), so the database decides a race, not a
read made earlier; the slots' CHECK constraint is the second guard. Inserts that
may collide (an idempotency key, the one active booking, the one open waitlist
entry) use ``ON CONFLICT DO NOTHING`` so that a collision is an answer, not an
aborted transaction (PostgreSQL cannot continue a transaction after an error).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Row,
    Text,
    TextClause,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.booking.adapters import event_mapper, orm
from services.booking.adapters.repository import _business, _city, _office, _slot
from services.booking.adapters.vacancy import Touched, entries_to_read
from services.booking.domain import model
from services.booking.domain.bookings import (
    OPEN_WAIT_STATUSES,
    Booking,
    BookingRequest,
    BookingStatus,
    Snapshot,
    WaitlistEntry,
    WaitStatus,
)
from services.booking.domain.events import Event
from services.booking.service_layer.unit_of_work import Claimed, SlotContext
from services.runtime import outbox
from services.runtime.db import AUTOCOMMIT, as_utc, dialect_insert, insert_or_nothing

b, s, w, k = orm.bookings, orm.slots, orm.waitlist_entries, orm.idempotency_keys

#: The catalogue rows a booking is checked against, as this process last read them,
#: each with its version: an office by ("o", id), a city by ("c", code), a business
#: by ("b", city code, code) (SqlBookingRepository.slot_context, decision 133).
KnownCatalogue = dict[tuple[str, ...], tuple[str, Any]]
#: More catalogue rows than a bureau has: the memory is forgotten and read again.
_KNOWN_AT_MOST = 10_000


class SqlBookingRepository:
    def __init__(
        self, conn: AsyncConnection, touched: Touched | None = None, catalogue: KnownCatalogue | None = None
    ) -> None:
        self.conn = conn
        self._insert = dialect_insert(conn.dialect.name)
        self._postgres = conn.dialect.name == "postgresql"
        self._dialect = conn.dialect.name
        #: The process's catalogue rows (its unit of work's), each used while its
        #: version is the one the booking's read finds.
        self._known: KnownCatalogue = catalogue if catalogue is not None else {}
        self._claim_key = insert_or_nothing(k, conn.dialect.name)
        self._add_booking = insert_or_nothing(b, conn.dialect.name)
        #: Slots whose count this transaction changed: their vacancy goes to the
        #: gateways after the commit (adapters/vacancy.py).
        self.touched: Touched = touched if touched is not None else set()

    # what a booking needs to know, in one read
    async def slot_context(
        self, slot_id: int, business_code: str, citizen_id: str, idempotency_key: str = ""
    ) -> SlotContext | None:
        """The slot, its office, the city and the business if the office handles
        that business in the slot's group; None when any of it does not exist. With
        them, what the citizen has that a booking is checked against: the facts of
        a booking are one round trip, not four (the profile of issue 12).

        The office, city and business come from the process's memory when the read
        finds each row's version (PostgreSQL's ``xmin``) to be the one remembered:
        the read carries the versions, not the rows' texts and JSON. Otherwise (the
        first booking there, a catalogue row changed since, or SQLite, which has no
        such version) one more statement reads them (decision 133)."""
        values = {
            "slot_id": slot_id,
            "business_code": business_code,
            "citizen_id": citizen_id,
            "key": idempotency_key,
        }
        row = (await self.conn.execute(_SLOT_CONTEXT[self._dialect], values)).first()
        if row is None:
            return None
        catalogue = await self._catalogue(row.office_id, row.o_city_code, business_code, row)
        if catalogue is None:  # removed since the read
            return None
        office, city, business = catalogue
        return SlotContext(
            slot=_slot(row),
            office=office,
            city=city,
            business=business,
            has_no_shows=bool(row.has_no_shows),
            waiting=_entry(_prefixed(row, _WAITING_COLUMNS)) if row.w_id is not None else None,
            earlier=(row.k_fingerprint, row.k_response) if row.k_fingerprint is not None else None,
        )

    async def _catalogue(
        self, office_id: str, city_code: str, business_code: str, versions: Any
    ) -> tuple[model.Office, model.City, model.Business] | None:
        """The office, city and business as remembered if each is at the version
        ``versions`` carries (``o_version``, ``c_version``, ``b_version``); else as
        read now, and remembered with the versions read with them."""
        keys = (("o", office_id), ("c", city_code), ("b", city_code, business_code))
        known = [self._known.get(key) for key in keys]
        wanted = (versions.o_version, versions.c_version, versions.b_version)
        if all(k is not None and v is not None and k[0] == v for k, v in zip(known, wanted, strict=True)):
            return known[0][1], known[1][1], known[2][1]  # type: ignore[index]
        row = (
            await self.conn.execute(
                _CATALOGUE[self._dialect], {"office_id": office_id, "business_code": business_code}
            )
        ).first()
        if row is None:
            return None
        office = _office(_prefixed(row, _CATALOGUE_COLUMNS["o_"]), ())
        city = _city(_prefixed(row, _CATALOGUE_COLUMNS["c_"]))
        business = _business(_prefixed(row, _CATALOGUE_COLUMNS["b_"]))
        if row.o_version is not None:
            if len(self._known) >= _KNOWN_AT_MOST:
                self._known.clear()
            for key, version, value in zip(
                keys, (row.o_version, row.c_version, row.b_version), (office, city, business), strict=True
            ):
                self._known[key] = (version, value)
        return office, city, business

    async def no_shows(self, citizen_id: str, since: dt.datetime) -> list[dt.datetime]:
        rows = await self.conn.execute(_NO_SHOWS, {"citizen_id": citizen_id, "since": since})
        return [as_utc(r.changed_at) for r in rows]  # type: ignore[misc]

    # idempotency
    async def find_idempotent(self, citizen_id: str, key: str) -> tuple[str, bytes] | None:
        row = (await self.conn.execute(_FIND_KEY, {"citizen_id": citizen_id, "key": key})).first()
        return (row.fingerprint, row.response) if row else None

    async def claim_idempotency_key(
        self, citizen_id: str, key: str, fingerprint: str, response: bytes, now: dt.datetime
    ) -> bool:
        """False when the key is already taken (on PostgreSQL, after waiting for a
        concurrent twin to commit or roll back)."""
        row = _key_row(citizen_id, key, fingerprint, response, now)
        result = await self.conn.execute(self._claim_key, row)
        return result.rowcount == 1

    async def claim_and_add(
        self,
        citizen_id: str,
        key: str,
        fingerprint: str,
        response: bytes,
        now: dt.datetime,
        booking: Booking,
        *,
        take_place: bool,
    ) -> Claimed:
        """The key claimed, then the booking added, then its place taken, each only
        if the step before succeeded. On PostgreSQL one statement (_CLAIM_AND_ADD):
        one round trip instead of three, each of which cost booking about as much
        CPU as the statement's work (docs/performance.md, "Uncontended booking",
        2026-12-07). SQLite has no data-modifying CTE: the three statements."""
        if not self._postgres:
            if not await self.claim_idempotency_key(citizen_id, key, fingerprint, response, now):
                return Claimed(key=False, booking=False, place=None)
            if not await self.add_booking(booking):
                return Claimed(key=True, booking=False, place=None)
            return Claimed(
                key=True, booking=True, place=await self.take_place(booking.slot_id) if take_place else None
            )
        row = (
            await self.conn.execute(
                _CLAIM_AND_ADD, _claim_values(key, fingerprint, response, now, booking, take_place)
            )
        ).one()
        if row.placed:
            self.touched.add(booking.slot_id)
        return Claimed(
            key=row.claimed, booking=row.added, place=row.placed if take_place and row.added else None
        )

    async def book_at_once(
        self,
        key: str,
        fingerprint: str,
        response: bytes,
        now: dt.datetime,
        booking: Booking,
        confirmed: Event,
    ) -> bool:
        """On PostgreSQL outside a transaction (a read of ``read_then_write``): the
        statement of :meth:`claim_and_add`, with the place taken and, with it, the
        outbox's rows (``confirmed`` and the slot's vacancy entry); a step refused
        after the key was claimed (the booking collided, the slot filled since the
        read) aborts it, so it commits all of it or nothing, by itself: no BEGIN or
        COMMIT round trips (decision 113). False: nothing was written (also when a
        twin holds the key; on SQLite or inside a transaction it is not tried)."""
        sync = self.conn.sync_connection
        outside = sync is not None and sync.get_execution_options().get("isolation_level") == AUTOCOMMIT
        if not (self._postgres and outside):
            return False
        records = outbox.outbox_records(
            [event_mapper.to_proto(confirmed, now)], entries_to_read({booking.slot_id})
        )
        values = {
            **_claim_values(key, fingerprint, response, now, booking, True),
            **outbox.from_arrays(records, "o_"),
            "at_once": True,
        }
        try:
            row = (await self.conn.execute(_CLAIM_AND_ADD, values)).one()
        except DBAPIError as error:
            if _NOT_AT_ONCE not in str(error.orig):
                raise
            return False
        if row.placed:
            self.touched.add(booking.slot_id)
        return bool(row.placed)

    async def set_idempotent_response(self, citizen_id: str, key: str, response: bytes) -> None:
        await self.conn.execute(
            update(k).where(k.c.citizen_id == citizen_id, k.c.key == key).values(response=response)
        )

    async def prune_idempotency_keys(self, before: dt.datetime) -> int:
        result = await self.conn.execute(k.delete().where(k.c.created_at < before))
        return result.rowcount

    # slot counts
    async def _count(self, statement: Any, slot_id: int) -> bool:
        """Run an update of a slot's counts (False: its WHERE kept the row)."""
        row = (await self.conn.execute(statement, {"slot_id": slot_id})).first()
        if row is not None:
            self.touched.add(slot_id)
        return row is not None

    async def take_place(self, slot_id: int) -> bool:
        """One more booked place, if there is one free."""
        return await self._count(_TAKE_PLACE, slot_id)

    async def hold_place(self, slot_id: int) -> bool:
        return await self._count(_HOLD_PLACE, slot_id)

    async def release_place(self, slot_id: int) -> None:
        await self._count(_RELEASE_PLACE, slot_id)

    async def release_hold(self, slot_id: int) -> None:
        await self._count(_RELEASE_HOLD, slot_id)

    async def convert_hold(self, slot_id: int) -> None:
        """A held place becomes a booked one; the total taken does not change (but a
        full slot's entry must now let this citizen's retries through)."""
        await self._count(_CONVERT_HOLD, slot_id)

    async def get_slot(self, slot_id: int) -> model.Slot | None:
        row = (await self.conn.execute(select(s).where(s.c.id == slot_id))).first()
        return _slot(row) if row else None

    async def slots_with_vacancy(self, office_id: str, after: dt.datetime) -> list[model.Slot]:
        rows = await self.conn.execute(
            select(s)
            .where(
                s.c.office_id == office_id,
                s.c.booked + s.c.held < s.c.capacity,
                s.c.closed.is_(False),
                or_(s.c.date > after.date(), and_(s.c.date == after.date(), s.c.start_time > after.time())),
            )
            .order_by(s.c.date, s.c.start_time)
        )
        return [_slot(r) for r in rows]

    # bookings
    async def add_booking(self, booking: Booking) -> bool:
        """False when a unique key collides: the citizen's one active booking for
        the business, or (vanishingly rarely) the confirmation code."""
        result = await self.conn.execute(self._add_booking, {**_booking_row(booking), "changed_at": None})
        return result.rowcount == 1

    async def active_booking(self, citizen_id: str, city_code: str, business_code: str) -> Booking | None:
        row = (
            await self.conn.execute(
                select(b).where(
                    b.c.citizen_id == citizen_id,
                    b.c.city_code == city_code,
                    b.c.business_code == business_code,
                    b.c.status == BookingStatus.CONFIRMED.value,
                )
            )
        ).first()
        return _booking(row) if row else None

    async def active_bookings_for(self, city_code: str, business_code: str) -> list[Booking]:
        rows = await self.conn.execute(
            select(b)
            .where(
                b.c.city_code == city_code,
                b.c.business_code == business_code,
                b.c.status == BookingStatus.CONFIRMED.value,
            )
            .order_by(b.c.starts_at, b.c.id)
        )
        return [_booking(r) for r in rows]

    async def get_booking(self, booking_id: str, citizen_id: str | None = None) -> Booking | None:
        query = select(b).where(b.c.id == booking_id)
        if citizen_id is not None:
            query = query.where(b.c.citizen_id == citizen_id)
        row = (await self.conn.execute(query)).first()
        return _booking(row) if row else None

    async def list_bookings(self, citizen_id: str, statuses: list[BookingStatus]) -> list[Booking]:
        query = select(b).where(b.c.citizen_id == citizen_id)
        if statuses:
            query = query.where(b.c.status.in_([x.value for x in statuses]))
        rows = await self.conn.execute(query.order_by(b.c.starts_at.desc(), b.c.created_at.desc()))
        return [_booking(r) for r in rows]

    async def office_bookings(self, office_id: str, date: dt.date) -> list[Booking]:
        rows = await self.conn.execute(
            select(b)
            .where(b.c.office_id == office_id, b.c.date == date)
            .order_by(b.c.start_time, b.c.created_at)
        )
        return [_booking(r) for r in rows]

    async def change_status(
        self, booking_id: str, old: BookingStatus, new: BookingStatus, now: dt.datetime
    ) -> bool:
        """Only from ``old``: of two concurrent changes, one wins and one sees False."""
        result = await self.conn.execute(
            update(b)
            .where(b.c.id == booking_id, b.c.status == old.value)
            .values(status=new.value, changed_at=now)
        )
        return result.rowcount == 1

    async def move_booking(self, old: Booking, new: Booking, now: dt.datetime) -> bool:
        """Only if nobody changed the booking since it was read."""
        row = _booking_row(new)
        for unchanged in ("id", "citizen_id", "created_at", "status"):
            row.pop(unchanged)
        result = await self.conn.execute(
            update(b)
            .where(
                b.c.id == old.id,
                b.c.slot_id == old.slot_id,
                b.c.status == BookingStatus.CONFIRMED.value,
            )
            .values(**row, changed_at=now)
        )
        return result.rowcount == 1

    # waitlist
    async def add_entry(self, entry: WaitlistEntry) -> bool:
        """False when the citizen already has an open entry for the business."""
        result = await self.conn.execute(
            self._insert(w)
            .values(
                id=entry.id,
                citizen_id=entry.citizen_id,
                city_code=entry.city_code,
                business_code=entry.business_code,
                office_id=entry.office_id,
                group_code=entry.group_code,
                slot_id=entry.slot_id,
                status=entry.status.value,
                channel=entry.channel.value,
                request=_request_json(entry.request),
                created_at=entry.created_at,
            )
            .on_conflict_do_nothing()
        )
        return result.rowcount == 1

    async def get_entry(self, entry_id: str, citizen_id: str | None = None) -> WaitlistEntry | None:
        query = select(w).where(w.c.id == entry_id)
        if citizen_id is not None:
            query = query.where(w.c.citizen_id == citizen_id)
        row = (await self.conn.execute(query)).first()
        return _entry(row) if row else None

    async def list_entries(self, citizen_id: str) -> list[tuple[WaitlistEntry, int]]:
        """The citizen's entries, newest first, each with its place among those
        waiting for the same thing (0 when not waiting)."""
        rows = (
            await self.conn.execute(select(w).where(w.c.citizen_id == citizen_id).order_by(w.c.seq.desc()))
        ).all()
        return [(_entry(row), await self._position(row)) for row in rows]

    async def position(self, entry_id: str) -> int:
        """An entry's place among those waiting for the same thing (1 = next; 0
        when it is not waiting)."""
        row = (await self.conn.execute(select(w).where(w.c.id == entry_id))).first()
        return await self._position(row) if row else 0

    async def _position(self, row: Row[Any]) -> int:
        if row.status != WaitStatus.WAITING.value:
            return 0
        ahead = select(func.count()).where(
            w.c.status == WaitStatus.WAITING.value,
            w.c.office_id == row.office_id,
            w.c.group_code == row.group_code,
            w.c.seq < row.seq,
        )
        return int((await self.conn.execute(ahead)).scalar_one()) + 1

    async def next_waiting(self, slot: model.Slot) -> WaitlistEntry | None:
        """The longest-waiting entry a freed place in ``slot`` can go to: one that
        waits for that very slot, or for the earliest place in its office group."""
        assert slot.id is not None
        query = (
            select(w)
            .where(
                w.c.status == WaitStatus.WAITING.value,
                w.c.office_id == slot.office_id,
                w.c.group_code == slot.group,
                or_(w.c.slot_id == slot.id, w.c.slot_id.is_(None)),
            )
            .order_by(w.c.seq)
            .limit(1)
        )
        if self._postgres:
            # Another transaction offering to the same entry: take the next one
            # rather than wait for it.
            query = query.with_for_update(skip_locked=True)
        row = (await self.conn.execute(query)).first()
        return _entry(row) if row else None

    async def has_waiting(self, office_id: str) -> bool:
        row = (
            await self.conn.execute(
                select(w.c.id)
                .where(w.c.office_id == office_id, w.c.status == WaitStatus.WAITING.value)
                .limit(1)
            )
        ).first()
        return row is not None

    async def offer(self, entry_id: str, slot_id: int, expires_at: dt.datetime) -> bool:
        result = await self.conn.execute(
            update(w)
            .where(w.c.id == entry_id, w.c.status == WaitStatus.WAITING.value)
            .values(status=WaitStatus.OFFERED.value, held_slot_id=slot_id, hold_expires_at=expires_at)
        )
        return result.rowcount == 1

    async def close_entry(
        self, entry_id: str, old: WaitStatus, new: WaitStatus, booking_id: str | None = None
    ) -> bool:
        result = await self.conn.execute(
            update(w)
            .where(w.c.id == entry_id, w.c.status == old.value)
            .values(status=new.value, booking_id=booking_id)
        )
        return result.rowcount == 1

    async def confirmed_on_days(self, office_id: str, days: list[dt.date], limit: int) -> list[Booking]:
        """Confirmed bookings at an office on some days: what a closure cancels, a batch at a time."""
        rows = await self.conn.execute(
            select(b)
            .where(
                b.c.office_id == office_id, b.c.date.in_(days), b.c.status == BookingStatus.CONFIRMED.value
            )
            .order_by(b.c.date, b.c.start_time, b.c.id)
            .limit(limit)
        )
        return [_booking(r) for r in rows]

    async def holds_on_days(self, office_id: str, days: list[dt.date]) -> list[str]:
        """Waitlist entries holding a place at an office on some days."""
        rows = await self.conn.execute(
            select(w.c.id)
            .join(s, s.c.id == w.c.held_slot_id)
            .where(s.c.office_id == office_id, s.c.date.in_(days), w.c.status == WaitStatus.OFFERED.value)
            .order_by(w.c.id)
        )
        return [r.id for r in rows]

    async def expired_holds(self, now: dt.datetime, limit: int) -> list[str]:
        rows = await self.conn.execute(
            select(w.c.id)
            .where(w.c.status == WaitStatus.OFFERED.value, w.c.hold_expires_at <= now)
            .order_by(w.c.hold_expires_at)
            .limit(limit)
        )
        return [r.id for r in rows]


# The statements of every booking, built once with bind parameters: building one
# per call and deriving its cache key (SQLAlchemy walks the whole statement to find
# its compiled form) was a tenth of booking's CPU per booking in the
# uncontended-booking profile; a statement built once keeps its key.
def _version(table: Any, dialect: str) -> ColumnElement[Any]:
    """A catalogue row's version: on PostgreSQL its ``xmin``, which every change of the
    row, by any process and whatever code path (a catalogue load, a policy coming into
    force or ending), sets to the writing transaction's id (decision 120's reasoning);
    SQLite has none (NULL: never remembered)."""
    return cast(literal_column(f"{table.name}.xmin"), Text) if dialect == "postgresql" else null()


def _slot_context(dialect: str) -> Any:
    o, c, bu, ob = orm.offices, orm.cities, orm.businesses, orm.office_businesses
    citizen_id: Any = bindparam("citizen_id")
    business_code: Any = bindparam("business_code")
    # The citizen's open entry and the key's stored answer are outer joins (at most
    # one row each: the one-open-entry index, the key's primary key); the no-shows
    # only as a flag, their dates being read when there are any (rarely). The
    # catalogue's rows only by their versions (SqlBookingRepository._catalogue).
    has_no_shows = (
        select(b.c.id).where(b.c.citizen_id == citizen_id, b.c.status == BookingStatus.NO_SHOW.value).exists()
    )
    return (
        select(
            s,
            o.c.city_code.label("o_city_code"),
            _version(o, dialect).label("o_version"),
            _version(c, dialect).label("c_version"),
            _version(bu, dialect).label("b_version"),
            *[col.label(f"w_{col.name}") for col in w.c],
            k.c.fingerprint.label("k_fingerprint"),
            k.c.response.label("k_response"),
            has_no_shows.label("has_no_shows"),
        )
        .join(o, o.c.id == s.c.office_id)
        .join(c, c.c.code == o.c.city_code)
        .join(ob, and_(ob.c.office_id == s.c.office_id, ob.c.group_code == s.c.group_code))
        .join(bu, and_(bu.c.city_code == o.c.city_code, bu.c.code == ob.c.business_code))
        .outerjoin(
            w,
            and_(
                w.c.citizen_id == citizen_id,
                w.c.city_code == o.c.city_code,
                w.c.business_code == business_code,
                or_(*(w.c.status == status for status in OPEN_WAIT_STATUSES)),
            ),
        )
        .outerjoin(k, and_(k.c.citizen_id == citizen_id, k.c.key == bindparam("key")))
        .where(s.c.id == bindparam("slot_id"), ob.c.business_code == business_code)
    )


def _catalogue(dialect: str) -> Any:
    """An office, its city and a business of that city, with their versions."""
    o, c, bu = orm.offices, orm.cities, orm.businesses
    return (
        select(
            *[col.label(f"o_{col.name}") for col in o.c],
            *[col.label(f"c_{col.name}") for col in c.c],
            *[col.label(f"b_{col.name}") for col in bu.c],
            _version(o, dialect).label("o_version"),
            _version(c, dialect).label("c_version"),
            _version(bu, dialect).label("b_version"),
        )
        .join(c, c.c.code == o.c.city_code)
        .join(bu, bu.c.city_code == o.c.city_code)
        .where(o.c.id == bindparam("office_id"), bu.c.code == bindparam("business_code"))
    )


_SLOT_CONTEXT = {dialect: _slot_context(dialect) for dialect in ("postgresql", "sqlite")}
_CATALOGUE = {dialect: _catalogue(dialect) for dialect in ("postgresql", "sqlite")}
ColumnsAt = list[tuple[int, str]]


def _columns_at(statement: Any, prefix: str) -> ColumnsAt:
    """A table's columns in ``statement``'s rows: (position, name without the prefix)."""
    return [
        (n, c.name[len(prefix) :])
        for n, c in enumerate(statement.selected_columns)
        if c.name.startswith(prefix) and c.name != f"{prefix}version"
    ]


_WAITING_COLUMNS = _columns_at(_SLOT_CONTEXT["postgresql"], "w_")
_CATALOGUE_COLUMNS = {prefix: _columns_at(_CATALOGUE["postgresql"], prefix) for prefix in ("o_", "c_", "b_")}
_NO_SHOWS = (
    select(b.c.changed_at)
    .where(
        b.c.citizen_id == bindparam("citizen_id"),
        b.c.status == BookingStatus.NO_SHOW.value,
        b.c.changed_at >= bindparam("since"),
    )
    .order_by(b.c.changed_at.desc())
)
_FIND_KEY = select(k.c.fingerprint, k.c.response).where(
    k.c.citizen_id == bindparam("citizen_id"), k.c.key == bindparam("key")
)
# Every change of a slot's counts: conditional where a place is taken or held.
_THE_SLOT = s.c.id == bindparam("slot_id")
_HAS_ROOM = and_(s.c.booked + s.c.held < s.c.capacity, s.c.closed.is_(False))
_TAKE_PLACE = update(s).where(_THE_SLOT, _HAS_ROOM).values(booked=s.c.booked + 1).returning(s.c.id)
_HOLD_PLACE = update(s).where(_THE_SLOT, _HAS_ROOM).values(held=s.c.held + 1).returning(s.c.id)
_RELEASE_PLACE = update(s).where(_THE_SLOT).values(booked=s.c.booked - 1).returning(s.c.id)
_RELEASE_HOLD = update(s).where(_THE_SLOT).values(held=s.c.held - 1).returning(s.c.id)
_CONVERT_HOLD = update(s).where(_THE_SLOT).values(held=s.c.held - 1, booked=s.c.booked + 1).returning(s.c.id)


#: What aborts :meth:`SqlBookingRepository.book_at_once`'s statement (in the error's
#: text: a cast of it to an integer fails, SQLSTATE 22P02).
_NOT_AT_ONCE = "booking not made at once"


def _claim_and_add(*, explain: bool = False) -> TextClause:
    """PostgreSQL's one statement for a booking's writes (claim_and_add): the key's
    INSERT, the booking's only if the key's returned a row, the slot's conditional
    UPDATE only if the booking's did, and the outbox's rows given (none but at once)
    only if the place was taken. The guards are those of the three statements:
    ``ON CONFLICT DO NOTHING`` on the key (a twin's uncommitted key is waited for)
    and on the booking's unique indexes, the slot's WHERE re-checked on the row's
    latest version (a concurrent booking's update is waited for) and its CHECK.
    ``at_once``: a key claimed without its place fails the statement, undoing it
    whole (book_at_once). The failure is a cast that cannot succeed, of a text made
    from the steps' results: PostgreSQL has no RAISE outside PL/pgSQL, and a cast
    of a constant would fail when the statement is planned. ``explain``: the same
    statement planned, not run (ready_for_bookings)."""
    has_room = _HAS_ROOM.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    statement = text(
        ("EXPLAIN " if explain else "") + f"WITH claimed AS ("
        f"INSERT INTO {k.name} ({', '.join(c.name for c in k.c)}) "
        f"VALUES ({', '.join(':k_' + c.name for c in k.c)}) ON CONFLICT DO NOTHING RETURNING 1"
        f"), added AS ("
        f"INSERT INTO {b.name} ({', '.join(c.name for c in b.c)}) "
        f"SELECT {', '.join(':b_' + c.name for c in b.c)} WHERE EXISTS (SELECT FROM claimed) "
        f"ON CONFLICT DO NOTHING RETURNING slot_id"
        f"), placed AS ("
        f"UPDATE {s.name} SET booked = booked + 1 "
        f"WHERE id = (SELECT slot_id FROM added) AND :take_place AND {has_room} RETURNING id"
        f"), recorded AS ({outbox.insert_from_arrays(orm.outbox, 'o_')} WHERE EXISTS (SELECT FROM placed)"
        f") SELECT EXISTS (SELECT FROM claimed) AS claimed, EXISTS (SELECT FROM added) AS added, "
        f"EXISTS (SELECT FROM placed) AS placed, "
        f"CASE WHEN :at_once AND EXISTS (SELECT FROM claimed) AND NOT EXISTS (SELECT FROM placed) "
        f"THEN CAST('{_NOT_AT_ONCE}: ' || CASE WHEN EXISTS (SELECT FROM added) THEN 'no place' "
        f"ELSE 'the booking collided' END AS integer) END AS not_at_once"
    )
    return statement.bindparams(
        *(bindparam(f"k_{c.name}", type_=c.type) for c in k.c),
        *(bindparam(f"b_{c.name}", type_=c.type) for c in b.c),
        bindparam("take_place", type_=Boolean()),
        bindparam("at_once", type_=Boolean()),
    )


def _claim_values(
    key: str, fingerprint: str, response: bytes, now: dt.datetime, booking: Booking, take_place: bool
) -> dict[str, Any]:
    """The parameters of _CLAIM_AND_ADD, with no outbox rows and not at once."""
    return {
        **{
            f"k_{name}": value
            for name, value in _key_row(booking.citizen_id, key, fingerprint, response, now).items()
        },
        **{f"b_{name}": value for name, value in _booking_row(booking).items()},
        "b_changed_at": None,
        "take_place": take_place,
        "at_once": False,
        **outbox.from_arrays([], "o_"),
    }


_CLAIM_AND_ADD = _claim_and_add()
_EXPLAIN_CLAIM_AND_ADD = _claim_and_add(explain=True)
#: PostgreSQL plans a prepared statement's first five executions for their values
#: (custom plans) before it weighs a generic plan; the booking's read, a join of
#: seven tables, cost a backend about 1.5 ms to plan and 0.25 ms to run (decision 127).
_CUSTOM_PLANS = 5


async def ready_for_bookings(conn: AsyncConnection) -> None:
    """A pooled connection made ready for bookings before the first one (decision
    127): the booking's read prepared and run past PostgreSQL's custom plans, for a
    slot that does not exist (nothing is read); the writes' statement planned by
    EXPLAIN, not run (nothing is written), which fills the backend's catalog caches
    for the tables and indexes it writes. A new backend's first booking otherwise
    costs it about 20 ms of CPU more than its sixth. PostgreSQL's only: Database.warm
    warms no SQLite pool."""
    repo = SqlBookingRepository(conn)
    for _ in range(_CUSTOM_PLANS + 1):
        await repo.slot_context(0, "", "")
    nothing = {
        **{f"k_{c.name}": None for c in k.c},
        **{f"b_{c.name}": None for c in b.c},
        "take_place": True,
        "at_once": False,
        **outbox.from_arrays([], "o_"),
    }
    await conn.execute(_EXPLAIN_CLAIM_AND_ADD, nothing)


def _prefixed(row: Row[Any], columns: ColumnsAt) -> Any:
    """A table's columns of ``row`` (:func:`_columns_at`), readable as attributes."""
    return _Prefixed({name: row[n] for n, name in columns})


class _Prefixed(dict[str, Any]):
    """A row's prefixed columns, readable as attributes like a Row."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _key_row(
    citizen_id: str, key: str, fingerprint: str, response: bytes, now: dt.datetime
) -> dict[str, Any]:
    return {
        "citizen_id": citizen_id,
        "key": key,
        "fingerprint": fingerprint,
        "response": response,
        "created_at": now,
    }


def _request_json(request: BookingRequest | None) -> dict[str, str]:
    if request is None:
        return {}
    return {
        "reason_code": request.reason_code,
        "destination": request.destination,
        "pre_application_id": request.pre_application_id,
    }


def _booking_row(x: Booking) -> dict[str, Any]:
    return {
        "id": x.id,
        "citizen_id": x.citizen_id,
        "city_code": x.city_code,
        "business_code": x.business_code,
        "office_id": x.office_id,
        "slot_id": x.slot_id,
        "date": x.date,
        "start_time": x.start,
        "end_time": x.end,
        "starts_at": x.starts_at,
        "status": x.status.value,
        "confirmation_code": x.confirmation_code,
        "channel": x.channel.value,
        "snapshot": x.snapshot.to_json(),
        "reason_code": x.reason_code,
        "destination": x.destination,
        "pre_application_id": x.pre_application_id,
        "created_at": x.created_at,
    }


def _booking(r: Row[Any]) -> Booking:
    return Booking(
        id=r.id,
        citizen_id=r.citizen_id,
        city_code=r.city_code,
        business_code=r.business_code,
        office_id=r.office_id,
        slot_id=r.slot_id,
        date=r.date,
        start=r.start_time,
        end=r.end_time,
        starts_at=as_utc(r.starts_at),  # type: ignore[arg-type]
        status=BookingStatus(r.status),
        confirmation_code=r.confirmation_code,
        channel=model.Channel(r.channel),
        snapshot=Snapshot.from_json(r.snapshot),
        created_at=as_utc(r.created_at),  # type: ignore[arg-type]
        reason_code=r.reason_code,
        destination=r.destination,
        pre_application_id=r.pre_application_id,
        changed_at=as_utc(r.changed_at),
    )


def _entry(r: Row[Any]) -> WaitlistEntry:
    req = r.request or {}
    return WaitlistEntry(
        id=r.id,
        citizen_id=r.citizen_id,
        city_code=r.city_code,
        business_code=r.business_code,
        office_id=r.office_id,
        group_code=r.group_code,
        slot_id=r.slot_id,
        status=WaitStatus(r.status),
        channel=model.Channel(r.channel),
        created_at=as_utc(r.created_at),  # type: ignore[arg-type]
        request=BookingRequest(
            slot_id=r.slot_id or 0,
            business_code=r.business_code,
            reason_code=req.get("reason_code", ""),
            destination=req.get("destination", ""),
            pre_application_id=req.get("pre_application_id", ""),
        ),
        held_slot_id=r.held_slot_id,
        hold_expires_at=as_utc(r.hold_expires_at),
        booking_id=r.booking_id,
    )
