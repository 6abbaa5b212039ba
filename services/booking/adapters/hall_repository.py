"""The hall's tickets on SQL (decision 49).

Numbering is one upsert that returns the new number (atomic on both databases); the
unique (office, day, prefix, number) constraint is its second guard. Calling picks
the head of the queue in a sub-select of the UPDATE that takes it: on PostgreSQL the
sub-select locks its row and skips rows other clerks hold (``FOR UPDATE SKIP
LOCKED``), and ``status = 'waiting'`` in the UPDATE's own WHERE re-checks after any
wait; SQLite has one writer. The partial unique indexes (one called ticket per clerk
and per counter) are checked inside a savepoint, so a collision is an answer and the
transaction goes on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.booking.adapters import orm
from services.booking.domain.hall import RECENT_SERVED, HallOffice, Ticket, TicketStatus
from services.booking.domain.rules import BookingRules
from services.booking.service_layer.unit_of_work import Occupied
from services.runtime.db import as_utc

t, seqs, b = orm.hall_tickets, orm.hall_sequences, orm.bookings

_QUEUE_ORDER = (t.c.priority_rank, t.c.order_at, t.c.seq)
#: Built once: a statement made per call costs its construction and cache key.
_INSERT_TICKET = t.insert()


class SqlHallRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._postgres = conn.dialect.name == "postgresql"

    def _insert(self, table: Any) -> Any:
        return (postgresql.insert if self._postgres else sqlite.insert)(table)

    async def hall_office(self, office_id: str) -> HallOffice | None:
        o, c = orm.offices, orm.cities
        row = (
            await self.conn.execute(
                select(
                    o.c.id,
                    o.c.city_code,
                    o.c.walk_in_allowed,
                    o.c.name,
                    o.c.name_en,
                    o.c.closed_dates,
                    c.c.time_zone,
                    c.c.rules,
                )
                .join(c, c.c.code == o.c.city_code)
                .where(o.c.id == office_id)
            )
        ).first()
        if row is None:
            return None
        return HallOffice(
            row.id,
            row.city_code,
            row.time_zone,
            row.walk_in_allowed,
            row.name,
            row.name_en,
            BookingRules.from_json(row.rules).hall,
            frozenset(dt.date.fromisoformat(d) for d in row.closed_dates),
        )

    async def business_category(self, office_id: str, city_code: str, business_code: str) -> str | None:
        """The category of a business the office handles; None if it handles none such."""
        bu, ob = orm.businesses, orm.office_businesses
        row = (
            await self.conn.execute(
                select(bu.c.category)
                .join(ob, ob.c.business_code == bu.c.code)
                .where(bu.c.city_code == city_code, bu.c.code == business_code, ob.c.office_id == office_id)
            )
        ).first()
        return None if row is None else str(row.category)

    async def busy(self, office_id: str, counter: int, clerk_id: str) -> bool:
        """Whether the counter or the clerk has a called ticket."""
        called = TicketStatus.CALLED.value
        row = (
            await self.conn.execute(
                select(t.c.id)
                .where(
                    t.c.status == called,
                    and_(t.c.office_id == office_id, t.c.counter == counter) | (t.c.clerk_id == clerk_id),
                )
                .limit(1)
            )
        ).first()
        return row is not None

    async def next_number(self, office_id: str, day: dt.date, prefix: str) -> int:
        statement = (
            self._insert(seqs)
            .values(office_id=office_id, day=day, prefix=prefix, last_number=1)
            .on_conflict_do_update(
                index_elements=[seqs.c.office_id, seqs.c.day, seqs.c.prefix],
                set_={"last_number": seqs.c.last_number + 1},
            )
            .returning(seqs.c.last_number)
        )
        return int((await self.conn.execute(statement)).scalar_one())

    async def add_ticket(self, ticket: Ticket, *, coming_up_sent: bool = False) -> None:
        await self.conn.execute(_INSERT_TICKET, {**_row(ticket), "coming_up_sent": coming_up_sent})

    async def booking_id_by_code(self, office_id: str, date: dt.date, code: str) -> str | None:
        """The booking of that confirmation code at the office on the day (codes are
        random, not unique for ever: the office and day make them so in practice)."""
        row = (
            await self.conn.execute(
                select(b.c.id).where(
                    b.c.office_id == office_id, b.c.date == date, b.c.confirmation_code == code
                )
            )
        ).first()
        return None if row is None else str(row.id)

    async def ticket_for_booking(self, booking_id: str) -> Ticket | None:
        row = (await self.conn.execute(select(t).where(t.c.booking_id == booking_id))).first()
        return None if row is None else _ticket(row)

    async def get_ticket(self, ticket_id: str, citizen_id: str | None = None) -> Ticket | None:
        query = select(t).where(t.c.id == ticket_id)
        if citizen_id is not None:
            query = query.where(t.c.citizen_id == citizen_id)
        row = (await self.conn.execute(query)).first()
        return None if row is None else _ticket(row)

    async def called_at_counter(self, office_id: str, counter: int) -> Ticket | None:
        row = (
            await self.conn.execute(
                select(t).where(
                    t.c.office_id == office_id,
                    t.c.counter == counter,
                    t.c.status == TicketStatus.CALLED.value,
                )
            )
        ).first()
        return None if row is None else _ticket(row)

    async def call_next(
        self, office_id: str, day: dt.date, counter: int, clerk_id: str, now: dt.datetime
    ) -> Ticket | None:
        """Take the head of the queue for this counter and clerk; None when nobody
        waits. Raises Occupied when the clerk or the counter has a called ticket."""
        head = (
            select(t.c.id)
            .where(t.c.office_id == office_id, t.c.day == day, t.c.status == TicketStatus.WAITING.value)
            .order_by(*_QUEUE_ORDER)
            .limit(1)
        )
        if self._postgres:
            head = head.with_for_update(skip_locked=True)
        statement = (
            update(t)
            .where(t.c.id == head.scalar_subquery(), t.c.status == TicketStatus.WAITING.value)
            .values(
                status=TicketStatus.CALLED.value,
                counter=counter,
                clerk_id=clerk_id,
                calls=1,
                called_at=now,
            )
            .returning(*t.c)
        )
        # No savepoint (two round trips more a call): the call is the transaction's
        # first write and a collision ends it, so the whole transaction rolls back.
        try:
            row = (await self.conn.execute(statement)).first()
        except IntegrityError as exc:
            raise Occupied from exc
        return None if row is None else _ticket(row)

    async def recall(self, ticket_id: str) -> Ticket | None:
        row = (
            await self.conn.execute(
                update(t)
                .where(t.c.id == ticket_id, t.c.status == TicketStatus.CALLED.value)
                .values(calls=t.c.calls + 1)
                .returning(*t.c)
            )
        ).first()
        return None if row is None else _ticket(row)

    async def finish(self, ticket_id: str, status: TicketStatus, now: dt.datetime) -> Ticket | None:
        """Only a called ticket ends: of two concurrent ends, one wins, one sees None."""
        row = (
            await self.conn.execute(
                update(t)
                .where(t.c.id == ticket_id, t.c.status == TicketStatus.CALLED.value)
                .values(status=status.value, finished_at=now)
                .returning(*t.c)
            )
        ).first()
        return None if row is None else _ticket(row)

    async def finish_at_counter(
        self, office_id: str, counter: int, status: TicketStatus, now: dt.datetime
    ) -> Ticket | None:
        """End the ticket called to the counter in one UPDATE (no read before it);
        None when the counter has none called."""
        row = (
            await self.conn.execute(
                update(t)
                .where(
                    t.c.office_id == office_id,
                    t.c.counter == counter,
                    t.c.status == TicketStatus.CALLED.value,
                )
                .values(status=status.value, finished_at=now)
                .returning(*t.c)
            )
        ).first()
        return None if row is None else _ticket(row)

    async def waiting(self, office_id: str, day: dt.date, limit: int | None = None) -> list[Ticket]:
        query = (
            select(t)
            .where(t.c.office_id == office_id, t.c.day == day, t.c.status == TicketStatus.WAITING.value)
            .order_by(*_QUEUE_ORDER)
        )
        if limit is not None:
            query = query.limit(limit)
        return [_ticket(r) for r in await self.conn.execute(query)]

    async def called(self, office_id: str, day: dt.date | None = None) -> list[Ticket]:
        query = select(t).where(t.c.status == TicketStatus.CALLED.value).order_by(t.c.counter)
        if office_id:
            query = query.where(t.c.office_id == office_id)
        if day is not None:
            query = query.where(t.c.day == day)
        return [_ticket(r) for r in await self.conn.execute(query)]

    async def standing(self, ticket: Ticket, *, issued: bool = True) -> tuple[int, int]:
        """How many waiting tickets are called before this one, and how many counters
        have a ticket called now, in one statement. ``issued=False``: the ticket is
        not inserted yet (every waiting ticket of its rank and time is then ahead)."""
        rank, at = ticket.priority_rank, ticket.order_at
        if issued:
            own = select(t.c.seq).where(t.c.id == ticket.id).scalar_subquery()
            tie = and_(t.c.priority_rank == rank, t.c.order_at == at, t.c.seq < own)
        else:
            tie = and_(t.c.priority_rank == rank, t.c.order_at == at)
        ahead = (
            select(func.count())
            .where(
                t.c.office_id == ticket.office_id,
                t.c.day == ticket.day,
                t.c.status == TicketStatus.WAITING.value,
                (t.c.priority_rank < rank) | and_(t.c.priority_rank == rank, t.c.order_at < at) | tie,
            )
            .scalar_subquery()
        )
        counters = (
            select(func.count())
            .where(
                t.c.office_id == ticket.office_id,
                t.c.day == ticket.day,
                t.c.status == TicketStatus.CALLED.value,
            )
            .scalar_subquery()
        )
        row = (await self.conn.execute(select(ahead.label("ahead"), counters.label("counters")))).one()
        return int(row.ahead), int(row.counters)

    async def head_to_tell(self, office_id: str, day: dt.date, limit: int) -> list[tuple[int, Ticket]]:
        """The first ``limit`` waiting tickets, with their places (0: next), of those
        with a booking and no "coming up" sent yet: usually none, and then no UPDATE."""
        rows = await self.conn.execute(
            select(t)
            .where(t.c.office_id == office_id, t.c.day == day, t.c.status == TicketStatus.WAITING.value)
            .order_by(*_QUEUE_ORDER)
            .limit(limit)
        )
        return [
            (n, _ticket(r)) for n, r in enumerate(rows) if r.booking_id is not None and not r.coming_up_sent
        ]

    async def recent_service_times(self, office_id: str, day: dt.date) -> list[dt.timedelta]:
        rows = await self.conn.execute(
            select(t.c.called_at, t.c.finished_at)
            .where(
                t.c.office_id == office_id,
                t.c.day == day,
                t.c.status == TicketStatus.SERVED.value,
                t.c.called_at.is_not(None),
            )
            .order_by(t.c.finished_at.desc())
            .limit(RECENT_SERVED)
        )
        return [_utc(r.finished_at) - _utc(r.called_at) for r in rows]

    async def mark_coming_up(self, ticket_id: str) -> bool:
        """Only a waiting ticket nobody else holds: a ticket another clerk is calling
        right now is skipped (PostgreSQL), not waited for, so two clerks telling each
        other's next tickets cannot deadlock; the next call looks again."""
        pick = select(t.c.id).where(
            t.c.id == ticket_id, t.c.status == TicketStatus.WAITING.value, t.c.coming_up_sent.is_(False)
        )
        if self._postgres:
            pick = pick.with_for_update(skip_locked=True)
        result = await self.conn.execute(
            update(t)
            .where(t.c.id == pick.scalar_subquery(), t.c.coming_up_sent.is_(False))
            .values(coming_up_sent=True)
        )
        return result.rowcount == 1


def _row(x: Ticket) -> dict[str, Any]:
    return {
        "id": x.id,
        "office_id": x.office_id,
        "city_code": x.city_code,
        "day": x.day,
        "prefix": x.prefix,
        "number": x.number,
        "business_code": x.business_code,
        "booking_id": x.booking_id,
        "citizen_id": x.citizen_id,
        "priority_group": x.priority_group,
        "priority_rank": x.priority_rank,
        "order_at": x.order_at,
        "status": x.status.value,
        "issued_at": x.issued_at,
        "issued_by": x.issued_by,
        "counter": x.counter,
        "clerk_id": x.clerk_id,
        "calls": x.calls,
        "called_at": x.called_at,
        "finished_at": x.finished_at,
    }


def _ticket(r: Row[Any]) -> Ticket:
    return Ticket(
        id=r.id,
        office_id=r.office_id,
        city_code=r.city_code,
        day=r.day,
        prefix=r.prefix,
        number=r.number,
        business_code=r.business_code,
        booking_id=r.booking_id,
        citizen_id=r.citizen_id,
        priority_group=r.priority_group,
        priority_rank=r.priority_rank,
        order_at=_utc(r.order_at),
        status=TicketStatus(r.status),
        issued_at=_utc(r.issued_at),
        issued_by=r.issued_by,
        counter=r.counter,
        clerk_id=r.clerk_id,
        calls=r.calls,
        called_at=None if r.called_at is None else as_utc(r.called_at),
        finished_at=None if r.finished_at is None else as_utc(r.finished_at),
    )


def _utc(value: dt.datetime | None) -> dt.datetime:
    """A NOT NULL time column (or one the query filtered on), in UTC."""
    found = as_utc(value)
    assert found is not None
    return found
