"""The catalogue repository on SQL (SQLite or PostgreSQL), inside one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, and_, case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.booking.adapters import orm
from services.booking.adapters.vacancy import Touched
from services.booking.domain import model
from services.booking.domain.rules import BookingRules
from services.runtime.db import upsert


class SqlCatalogueRepository:
    def __init__(self, conn: AsyncConnection, touched: Touched | None = None) -> None:
        self.conn = conn
        #: Slots whose capacity changed: their vacancy goes to the gateways.
        self.touched: Touched = touched if touched is not None else set()

    # cities
    async def list_cities(self) -> list[model.City]:
        rows = await self.conn.execute(select(orm.cities).order_by(orm.cities.c.code))
        return [_city(r) for r in rows]

    async def get_city(self, code: str) -> model.City | None:
        row = (await self.conn.execute(select(orm.cities).where(orm.cities.c.code == code))).first()
        return _city(row) if row else None

    async def save_city(self, city: model.City) -> None:
        await upsert(
            self.conn,
            orm.cities,
            {
                "code": city.code,
                "name": city.name,
                "name_en": city.name_en,
                "time_zone": city.time_zone,
                "rules": city.rules.to_json(),
            },
            ["code"],
        )

    # businesses
    async def list_businesses(self, city_code: str) -> list[model.Business]:
        rows = await self.conn.execute(
            select(orm.businesses)
            .where(orm.businesses.c.city_code == city_code)
            .order_by(orm.businesses.c.category, orm.businesses.c.code)
        )
        return [_business(r) for r in rows]

    async def get_business(self, city_code: str, code: str) -> model.Business | None:
        row = (
            await self.conn.execute(
                select(orm.businesses).where(
                    orm.businesses.c.city_code == city_code, orm.businesses.c.code == code
                )
            )
        ).first()
        return _business(row) if row else None

    async def claim_suspension(self, city_code: str, code: str) -> bool:
        t = orm.businesses
        # The conditional update is the lock: of two suspensions at once, one changes the row.
        done = await self.conn.execute(
            update(t)
            .where(
                t.c.city_code == city_code, t.c.code == code, t.c.status == model.BusinessStatus.ACTIVE.value
            )
            .values(status=model.BusinessStatus.SUSPENDED.value)
        )
        return bool(done.rowcount)

    async def save_business(self, b: model.Business) -> None:
        await upsert(
            self.conn,
            orm.businesses,
            {
                "city_code": b.city_code,
                "code": b.code,
                "category": b.category,
                "name": b.name,
                "service_guide": b.service_guide,
                "materials": list(b.materials),
                "phone": b.phone,
                "duration_minutes": b.duration_minutes,
                "handling": b.handling.value,
                "requires_pre_application": b.requires_pre_application,
                "channels": sorted(c.value for c in b.channels),
                "status": b.status.value,
                "announcement": b.announcement,
                "name_en": b.name_en,
                "service_guide_en": b.service_guide_en,
                "materials_en": list(b.materials_en),
                "announcement_en": b.announcement_en,
            },
            ["city_code", "code"],
        )

    # offices
    async def list_offices(self, city_code: str, business_code: str | None = None) -> list[model.Office]:
        query = select(orm.offices).where(orm.offices.c.city_code == city_code).order_by(orm.offices.c.id)
        if business_code:
            handles = select(orm.office_businesses.c.office_id).where(
                orm.office_businesses.c.business_code == business_code
            )
            query = query.where(orm.offices.c.id.in_(handles))
        rows = (await self.conn.execute(query)).all()
        groups = await self._groups([r.id for r in rows])
        return [_office(r, groups.get(r.id, ())) for r in rows]

    async def get_office(self, office_id: str) -> model.Office | None:
        row = (await self.conn.execute(select(orm.offices).where(orm.offices.c.id == office_id))).first()
        if row is None:
            return None
        groups = await self._groups([office_id])
        return _office(row, groups.get(office_id, ()))

    async def _groups(self, office_ids: list[str]) -> dict[str, tuple[model.SlotGroup, ...]]:
        if not office_ids:
            return {}
        g, ob = orm.slot_groups, orm.office_businesses
        members: dict[tuple[str, str], list[str]] = {}
        for r in await self.conn.execute(
            select(ob).where(ob.c.office_id.in_(office_ids)).order_by(ob.c.business_code)
        ):
            members.setdefault((r.office_id, r.group_code), []).append(r.business_code)
        result: dict[str, list[model.SlotGroup]] = {}
        for r in await self.conn.execute(
            select(g).where(g.c.office_id.in_(office_ids)).order_by(g.c.office_id, g.c.position)
        ):
            result.setdefault(r.office_id, []).append(
                model.SlotGroup(
                    r.code, tuple(members.get((r.office_id, r.code), ())), r.capacity, r.slot_minutes
                )
            )
        return {k: tuple(v) for k, v in result.items()}

    async def save_office(self, o: model.Office) -> None:
        await upsert(
            self.conn,
            orm.offices,
            {
                "id": o.id,
                "city_code": o.city_code,
                "name": o.name,
                "kind": o.kind,
                "address": o.address,
                "latitude": o.location.latitude,
                "longitude": o.location.longitude,
                "phone": o.phone,
                "opening_hours": [
                    [p.weekday, p.opens.strftime("%H:%M"), p.closes.strftime("%H:%M")]
                    for p in o.opening_hours
                ],
                "walk_in_allowed": o.walk_in_allowed,
                "visit_requirements": list(o.visit_requirements),
                "closed_dates": sorted(d.isoformat() for d in o.closed_dates),
                "name_en": o.name_en,
                "address_en": o.address_en,
                "visit_requirements_en": list(o.visit_requirements_en),
            },
            ["id"],
        )
        # Group membership is replaced whole; slots already published are kept.
        await self.conn.execute(
            delete(orm.office_businesses).where(orm.office_businesses.c.office_id == o.id)
        )
        await self.conn.execute(
            delete(orm.slot_groups).where(
                orm.slot_groups.c.office_id == o.id,
                orm.slot_groups.c.code.not_in([g.code for g in o.slot_groups]),
            )
        )
        for position, group in enumerate(o.slot_groups):
            await upsert(
                self.conn,
                orm.slot_groups,
                {
                    "office_id": o.id,
                    "code": group.code,
                    "capacity": group.capacity,
                    "slot_minutes": group.slot_minutes,
                    "position": position,
                },
                ["office_id", "code"],
            )
        rows = [
            {"office_id": o.id, "business_code": code, "group_code": g.code}
            for g in o.slot_groups
            for code in g.business_codes
        ]
        if rows:
            await self.conn.execute(orm.office_businesses.insert(), rows)

    async def save_office_policy_fields(self, o: model.Office) -> None:
        """Only what policies change (visit requirements, closed days): the office's
        groups and slots stay as they are."""
        await self.conn.execute(
            update(orm.offices)
            .where(orm.offices.c.id == o.id)
            .values(
                visit_requirements=list(o.visit_requirements),
                visit_requirements_en=list(o.visit_requirements_en),
                closed_dates=sorted(d.isoformat() for d in o.closed_dates),
            )
        )

    async def close_slots(self, office_id: str, days: list[dt.date], closed: bool) -> int:
        s = orm.slots
        done = await self.conn.execute(
            update(s).where(s.c.office_id == office_id, s.c.date.in_(days)).values(closed=closed)
        )
        return done.rowcount

    async def find_group(self, office_id: str, business_code: str) -> tuple[str, str, bool] | None:
        ob, o, c, b = orm.office_businesses, orm.offices, orm.cities, orm.businesses
        row = (
            await self.conn.execute(
                select(ob.c.group_code, c.c.time_zone, b.c.status)
                .join(o, o.c.id == ob.c.office_id)
                .join(c, c.c.code == o.c.city_code)
                .join(b, (b.c.city_code == o.c.city_code) & (b.c.code == ob.c.business_code))
                .where(ob.c.office_id == office_id, ob.c.business_code == business_code)
            )
        ).first()
        if row is None:
            return None
        return row.group_code, row.time_zone, row.status == model.BusinessStatus.SUSPENDED.value

    # slots
    async def upsert_slots(self, slots: list[model.Slot]) -> tuple[int, int]:
        if not slots:
            return 0, 0
        s = orm.slots
        office_ids = {slot.office_id for slot in slots}
        first, last = min(x.date for x in slots), max(x.date for x in slots)
        existing = {
            (r.office_id, r.group_code, r.date, r.start_time): r
            for r in await self.conn.execute(
                select(s.c.id, s.c.office_id, s.c.group_code, s.c.date, s.c.start_time, s.c.capacity).where(
                    s.c.office_id.in_(office_ids), s.c.date.between(first, last)
                )
            )
        }
        new_rows, updated = [], 0
        for slot in slots:
            found = existing.get((slot.office_id, slot.group, slot.date, slot.start))
            if found is None:
                new_rows.append(
                    {
                        "office_id": slot.office_id,
                        "group_code": slot.group,
                        "date": slot.date,
                        "start_time": slot.start,
                        "end_time": slot.end,
                        "capacity": slot.capacity,
                        "booked": 0,
                    }
                )
            elif found.capacity != slot.capacity:
                # Never below what is booked or held: nobody loses an appointment.
                taken = s.c.booked + s.c.held
                capacity = case((taken > slot.capacity, taken), else_=slot.capacity)
                await self.conn.execute(update(s).where(s.c.id == found.id).values(capacity=capacity))
                self.touched.add(found.id)
                updated += 1
        if new_rows:
            await self.conn.execute(s.insert(), new_rows)
        return len(new_rows), updated

    async def list_slots(
        self, office_id: str, group: str, first: dt.date, last: dt.date, after: dt.datetime
    ) -> list[model.Slot]:
        s = orm.slots
        rows = await self.conn.execute(
            select(s)
            .where(
                s.c.office_id == office_id,
                s.c.group_code == group,
                s.c.date.between(first, last),
                s.c.closed.is_(False),
                _not_started(after),
            )
            .order_by(s.c.date, s.c.start_time)
        )
        return [_slot(r) for r in rows]

    async def earliest_available(self, office_id: str, group: str, after: dt.datetime) -> model.Slot | None:
        s = orm.slots
        row = (
            await self.conn.execute(
                select(s)
                .where(
                    s.c.office_id == office_id,
                    s.c.group_code == group,
                    s.c.booked + s.c.held < s.c.capacity,
                    s.c.closed.is_(False),
                    _not_started(after),
                )
                .order_by(s.c.date, s.c.start_time)
                .limit(1)
            )
        ).first()
        return _slot(row) if row else None


def _not_started(after: dt.datetime):
    s = orm.slots
    return (s.c.date > after.date()) | and_(s.c.date == after.date(), s.c.start_time >= after.time())


def _city(r: Row[Any]) -> model.City:
    return model.City(r.code, r.name, r.time_zone, BookingRules.from_json(r.rules), r.name_en)


def _business(r: Row[Any]) -> model.Business:
    return model.Business(
        city_code=r.city_code,
        code=r.code,
        category=r.category,
        name=r.name,
        service_guide=r.service_guide,
        materials=tuple(r.materials),
        phone=r.phone,
        duration_minutes=r.duration_minutes,
        handling=model.Handling(r.handling),
        requires_pre_application=r.requires_pre_application,
        channels=frozenset(model.Channel(c) for c in r.channels),
        status=model.BusinessStatus(r.status),
        announcement=r.announcement,
        name_en=r.name_en,
        service_guide_en=r.service_guide_en,
        materials_en=tuple(r.materials_en),
        announcement_en=r.announcement_en,
    )


def _office(r: Row[Any], groups: tuple[model.SlotGroup, ...]) -> model.Office:
    return model.Office(
        id=r.id,
        city_code=r.city_code,
        name=r.name,
        kind=r.kind,
        address=r.address,
        location=model.GeoPoint(r.latitude, r.longitude),
        phone=r.phone,
        opening_hours=tuple(
            model.OpeningPeriod(w, dt.time.fromisoformat(a), dt.time.fromisoformat(b))
            for w, a, b in r.opening_hours
        ),
        walk_in_allowed=r.walk_in_allowed,
        visit_requirements=tuple(r.visit_requirements),
        slot_groups=groups,
        closed_dates=frozenset(dt.date.fromisoformat(d) for d in r.closed_dates),
        name_en=r.name_en,
        address_en=r.address_en,
        visit_requirements_en=tuple(r.visit_requirements_en),
    )


def _slot(r: Row[Any]) -> model.Slot:
    return model.Slot(
        id=r.id,
        office_id=r.office_id,
        group=r.group_code,
        date=r.date,
        start=r.start_time,
        end=r.end_time,
        capacity=r.capacity,
        booked=r.booked,
        held=r.held,
    )
