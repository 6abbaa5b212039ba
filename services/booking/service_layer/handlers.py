"""Use cases of the catalogue. Each runs in one transaction of the unit of work;
every state change emits its event in that same transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, NoReturn
from zoneinfo import ZoneInfo

from services.booking.domain import events, model
from services.booking.service_layer import bookings, catalogue_file, policies
from services.booking.service_layer.unit_of_work import CatalogueRepository, UnitOfWork
from services.runtime.clock import Clock
from services.runtime.errors import InvalidArgument, NotFound


@dataclass(frozen=True)
class LoadResult:
    city_codes: tuple[str, ...]
    office_count: int
    business_count: int


async def load_catalogue(uow: UnitOfWork, content: bytes, fmt: Literal["yaml", "json"]) -> LoadResult:
    """Add or refresh every city, business and office in the file. Things absent
    from the file are kept: slots and bookings may refer to them."""
    doc = catalogue_file.parse(content, fmt)
    result = LoadResult(
        city_codes=tuple(c.code for c in doc.cities),
        office_count=sum(len(c.offices) for c in doc.cities),
        business_count=sum(len(c.businesses) for c in doc.cities),
    )
    async with uow.write() as tx:
        for city_doc in doc.cities:
            city, businesses, offices = catalogue_file.to_domain(city_doc)
            await tx.catalogue.save_city(city)
            for business in businesses:
                await tx.catalogue.save_business(business)
            for business_code, form in catalogue_file.forms_of(city_doc):
                await tx.pre_applications.save_form(city_doc.code, business_code, form)
            for office in offices:
                await tx.catalogue.save_office(office)
        # The file's values are the base; policies in force are written over them again.
        await policies.reapply(tx)
        tx.emit(events.CatalogueLoaded(result.city_codes, result.office_count, result.business_count))
        await tx.audit(
            "catalogue.loaded",
            ",".join(result.city_codes),
            {"offices": result.office_count, "businesses": result.business_count},
        )
    return result


async def publish_slots(
    uow: UnitOfWork,
    *,
    first: dt.date,
    last: dt.date,
    office_id: str | None = None,
    city_code: str | None = None,
    clock: Clock | None = None,
) -> tuple[int, int]:
    """Open the slots the opening hours give, for one office or every office of a
    city. Publishing again is harmless: existing slots keep their bookings. New
    places go to the office's waitlists first, in the same transaction."""
    model.check_date_range(first, last)
    if bool(office_id) == bool(city_code):
        raise InvalidArgument(
            "office_or_city_required", "Name either one office or one city.", field="office_id"
        )
    created = updated = 0
    async with uow.write() as tx:
        if office_id:
            offices = [await _office(tx.catalogue, office_id)]
        else:
            await _city(tx.catalogue, city_code or "")
            offices = await tx.catalogue.list_offices(city_code or "")
        for office in offices:
            c, u = await tx.catalogue.upsert_slots(office.plan_slots(first, last))
            created, updated = created + c, updated + u
            tx.emit(events.SlotsPublished(office.id, first, last, c, u))
            if clock is not None and (c or u):
                await bookings.offer_vacancies(tx, office.id, clock())
        await tx.audit(
            "slots.published",
            office_id or city_code or "",
            {"from": first.isoformat(), "to": last.isoformat(), "created": created, "updated": updated},
        )
    return created, updated


async def suspend_business(
    uow: UnitOfWork, city_code: str, code: str, announcement: str, announcement_en: str = ""
) -> model.Business:
    """Suspend a business (again: a new announcement). The first suspension also
    tells each citizen holding an active booking for it, once: one event per booking
    (a citizen holds at most one per business), in this transaction; a second
    suspension of a suspended business tells no one again."""
    async with uow.write() as tx:
        found = await _business(tx.catalogue, city_code, code)
        business, event = found.suspend(announcement, announcement_en)
        newly = await tx.catalogue.claim_suspension(city_code, code)
        await tx.catalogue.save_business(business)
        tx.emit(event)
        if newly:
            for booking in await tx.bookings.active_bookings_for(city_code, code):
                tx.emit(
                    events.BookingAffectedBySuspension(
                        booking, business.announcement, business.announcement_en
                    )
                )
        await tx.audit("business.suspended", f"{city_code}/{code}", {"announcement": business.announcement})
    return business


async def resume_business(uow: UnitOfWork, city_code: str, code: str) -> model.Business:
    async with uow.write() as tx:
        business, resumed = (await _business(tx.catalogue, city_code, code)).resume()
        if resumed:
            await tx.catalogue.save_business(business)
            tx.emit(resumed)
            await tx.audit("business.resumed", f"{city_code}/{code}", {})
    return business


async def list_cities(uow: UnitOfWork) -> list[model.City]:
    async with uow.read() as tx:
        return await tx.catalogue.list_cities()


async def list_businesses(uow: UnitOfWork, city_code: str) -> tuple[model.City, list[model.Business]]:
    """The city (whose policy entry-exit businesses show) and its businesses."""
    async with uow.read() as tx:
        city = await _city(tx.catalogue, city_code)
        return city, await tx.catalogue.list_businesses(city_code)


async def list_offices(
    uow: UnitOfWork,
    clock: Clock,
    city_code: str,
    business_code: str | None = None,
    origin: model.GeoPoint | None = None,
) -> list[model.OfficeEntry]:
    """Offices of a city (those handling ``business_code`` if given), each with its
    earliest slot with vacancy for that business; nearest first given an origin."""
    async with uow.read() as tx:
        city = await _city(tx.catalogue, city_code)
        # A suspended business has no place to offer, however many slots it has.
        bookable = bool(business_code)
        if business_code:
            business = await _business(tx.catalogue, city_code, business_code)
            bookable = business.status is model.BusinessStatus.ACTIVE
        now = _local_now(clock, city.time_zone)
        entries = []
        for office in await tx.catalogue.list_offices(city_code, business_code or None):
            group = office.group_for(business_code) if business_code and bookable else None
            earliest = await tx.catalogue.earliest_available(office.id, group.code, now) if group else None
            distance = origin.distance_km(office.location) if origin else None
            entries.append(model.OfficeEntry(office, distance, earliest))
    if origin:
        entries.sort(key=lambda e: (e.distance_km, _earliest_key(e)))
    return entries


def _earliest_key(entry: model.OfficeEntry) -> tuple[int, dt.date, dt.time]:
    slot = entry.earliest_available
    return (0, slot.date, slot.start) if slot else (1, dt.date.max, dt.time.max)


async def list_slots(
    uow: UnitOfWork,
    clock: Clock,
    office_id: str,
    business_code: str,
    first: dt.date | None = None,
    last: dt.date | None = None,
    *,
    free_only: bool = False,
) -> list[model.Slot]:
    """The slots a citizen can still choose from (not yet started), each with its
    vacancy; full ones too unless ``free_only``, so that a citizen sees the day is
    taken rather than closed. Without dates: today and the six days after, the
    usual booking horizon. A suspended business lists none: none can be booked."""
    async with uow.read() as tx:
        found = await tx.catalogue.find_group(office_id, business_code)
        if found is None:
            await _explain_missing_group(tx.catalogue, office_id, business_code)
        group, time_zone, suspended = found
        now = _local_now(clock, time_zone)
        first = first or now.date()
        last = last or first + dt.timedelta(days=6)
        model.check_date_range(first, last)
        if suspended:
            return []
        slots = await tx.catalogue.list_slots(office_id, group, first, last, now)
    return [s for s in slots if s.remaining > 0] if free_only else slots


async def _explain_missing_group(repo: CatalogueRepository, office_id: str, business_code: str) -> NoReturn:
    """Raise the precise reason a business has no slots at an office."""
    office = await _office(repo, office_id)
    await _business(repo, office.city_code, business_code, field="business")
    raise NotFound("business_at_office", f"{business_code} at {office_id}", field="business")


def _local_now(clock: Clock, time_zone: str) -> dt.datetime:
    """Wall-clock time in the city, naive like the slot times stored for it."""
    return clock().astimezone(ZoneInfo(time_zone)).replace(tzinfo=None)


async def _city(repo: CatalogueRepository, code: str) -> model.City:
    city = await repo.get_city(code)
    if city is None:
        raise NotFound("city", code, field="city")
    return city


async def _business(
    repo: CatalogueRepository, city_code: str, code: str, *, field: str = "business"
) -> model.Business:
    business = await repo.get_business(city_code, code)
    if business is None:
        raise NotFound("business", code, field=field)
    return business


async def _office(repo: CatalogueRepository, office_id: str) -> model.Office:
    office = await repo.get_office(office_id)
    if office is None:
        raise NotFound("office", office_id, field="office_id")
    return office
