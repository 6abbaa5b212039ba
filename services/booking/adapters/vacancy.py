"""The vacancy of the slots a transaction changed, as entries of the gateways'
vacancy bucket (services/runtime/vacancy.py).

A transaction that changed a slot's count writes an outbox row for the slot with
no payload (:func:`entries_to_read`); the relay reads the entry when it publishes
the row (:func:`current_entries`, the relay's ``current`` reader, decision 112).
The entry is then the slot's count at the publication, never older than the
commit that wrote the row: for one slot the bucket's last value is read after the
slot's last committed change, whatever order the commits took. The writer needs
nothing but the slot's id, so a booking's writes and its outbox rows can be one
statement (bookings_repository.py). The two further reads (the businesses a slot
serves, the citizens who must still reach booking) only for a full slot."""

from __future__ import annotations

from sqlalchemy import BigInteger, and_, any_, bindparam, select, union
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from services.booking.adapters import orm
from services.booking.domain.bookings import WaitStatus
from services.runtime import vacancy

s = orm.slots

#: What an entry is made of.
COUNTS = (s.c.id, s.c.office_id, s.c.group_code, s.c.date, s.c.start_time, s.c.capacity, s.c.booked, s.c.held)
#: The slots' counts by ids, per dialect: on PostgreSQL one text whatever the number
#: of slots (``= ANY`` of an array), prepared once per pooled connection, where an
#: ``IN`` list is a new text, prepared and planned again, for each length.
_COUNTS = {
    "postgresql": select(*COUNTS).where(
        s.c.id == any_(bindparam("ids", type_=postgresql.ARRAY(BigInteger())))
    ),
    "sqlite": select(*COUNTS).where(s.c.id.in_(bindparam("ids", expanding=True))),
}

#: Slots a transaction changed the count of.
Touched = set[int]


def entries_to_read(touched: Touched) -> list[tuple[str, str, bytes]]:
    """The outbox messages (subject, type, no payload) of the slots' vacancy, in id
    order; the relay reads each entry when it publishes it."""
    return [(vacancy.subject(slot_id), vacancy.ENTRY_TYPE, b"") for slot_id in sorted(touched)]


async def current_entries(conn: AsyncConnection, subjects: list[str]) -> dict[str, bytes]:
    """Each slot's entry as its row reads now, by the subjects of :func:`entries_to_read`."""
    ids = sorted({int(subject.rpartition(".")[2]) for subject in subjects})
    ob, b, w = orm.office_businesses, orm.bookings, orm.waitlist_entries
    rows = (await conn.execute(_COUNTS[conn.dialect.name], {"ids": ids})).all()
    full = [r for r in rows if r.booked + r.held >= r.capacity]
    businesses: dict[tuple[str, str], list[str]] = {}
    citizens: dict[int, list[str]] = {}
    if full:
        for r in await conn.execute(
            select(ob.c.office_id, ob.c.group_code, ob.c.business_code).where(
                ob.c.office_id.in_({r.office_id for r in full})
            )
        ):
            businesses.setdefault((r.office_id, r.group_code), []).append(r.business_code)
        full_ids = [r.id for r in full]
        for r in await conn.execute(
            union(
                select(b.c.slot_id, b.c.citizen_id).where(b.c.slot_id.in_(full_ids)),
                select(w.c.held_slot_id, w.c.citizen_id).where(
                    and_(w.c.held_slot_id.in_(full_ids), w.c.status == WaitStatus.OFFERED.value)
                ),
            )
        ):
            citizens.setdefault(r[0], []).append(r[1])
    return {
        vacancy.subject(r.id): vacancy.SlotVacancy.of(
            remaining=r.capacity - r.booked - r.held,
            capacity=r.capacity,
            date=r.date,
            start=r.start_time,
            businesses=businesses.get((r.office_id, r.group_code), ()),
            citizens=citizens.get(r.id, ()),
        ).encode()
        for r in rows
    }
