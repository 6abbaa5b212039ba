"""The vacancy of the slots a transaction changed, as entries of the gateways'
vacancy bucket (services/runtime/vacancy.py), written to the outbox last in the
transaction: the slot rows are locked by then, so for one slot the outbox's order
is the commits' order.

The counts come back from the updates that changed them (``RETURNING``), so a
booking reads nothing more; a slot changed otherwise (its capacity) is read. The
two further reads (the businesses a slot serves, the citizens who must still
reach booking) only for a slot just filled, which is once per slot in a flash
crowd."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select, union
from sqlalchemy.ext.asyncio import AsyncConnection

from services.booking.adapters import orm
from services.booking.domain.bookings import WaitStatus
from services.runtime import vacancy

s = orm.slots

#: What an entry is made of: what the updates of a slot's counts return.
COUNTS = (s.c.id, s.c.office_id, s.c.group_code, s.c.date, s.c.start_time, s.c.capacity, s.c.booked, s.c.held)

#: Slots a transaction changed, each with its counts as the last change returned
#: them (None: changed by a statement that returned nothing; read at the commit).
Touched = dict[int, Any]


async def vacancy_messages(conn: AsyncConnection, touched: Touched) -> list[tuple[str, str, bytes]]:
    """The outbox messages (subject, type, payload) telling the slots' vacancy."""
    if not touched:
        return []
    ob, b, w = orm.office_businesses, orm.bookings, orm.waitlist_entries
    rows = [row for row in touched.values() if row is not None]
    if unread := sorted(slot_id for slot_id, row in touched.items() if row is None):
        rows += (await conn.execute(select(*COUNTS).where(s.c.id.in_(unread)))).all()
    rows.sort(key=lambda r: r.id)
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
        ids = [r.id for r in full]
        for r in await conn.execute(
            union(
                select(b.c.slot_id, b.c.citizen_id).where(b.c.slot_id.in_(ids)),
                select(w.c.held_slot_id, w.c.citizen_id).where(
                    and_(w.c.held_slot_id.in_(ids), w.c.status == WaitStatus.OFFERED.value)
                ),
            )
        ):
            citizens.setdefault(r[0], []).append(r[1])
    return [
        (
            vacancy.subject(r.id),
            vacancy.ENTRY_TYPE,
            vacancy.SlotVacancy.of(
                remaining=r.capacity - r.booked - r.held,
                capacity=r.capacity,
                date=r.date,
                start=r.start_time,
                businesses=businesses.get((r.office_id, r.group_code), ()),
                citizens=citizens.get(r.id, ()),
            ).encode(),
        )
        for r in rows
    ]
