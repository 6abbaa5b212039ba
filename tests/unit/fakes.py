"""In-memory fakes of the booking service's ports (service_layer/unit_of_work.py),
so the handlers can be tested without a database or a message broker.

The repository keeps the semantics of adapters/repository.py; the unit of work
runs each write on a copy of the state and adopts it, with its events, only when
the block ends without an error.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from services.booking.domain import model
from services.booking.domain.bookings import Booking, BookingStatus
from services.booking.domain.events import Event
from services.booking.domain.preapplications import Form

SlotKey = tuple[str, str, dt.date, dt.time]  # office, group, date, start


class FakeCatalogueRepository:
    def __init__(self) -> None:
        self.cities: dict[str, model.City] = {}
        self.businesses: dict[tuple[str, str], model.Business] = {}
        self.offices: dict[str, model.Office] = {}
        self.slots: dict[SlotKey, model.Slot] = {}
        self._next_slot_id = 1

    async def list_cities(self) -> list[model.City]:
        return sorted(self.cities.values(), key=lambda c: c.code)

    async def get_city(self, code: str) -> model.City | None:
        return self.cities.get(code)

    async def save_city(self, city: model.City) -> None:
        self.cities[city.code] = city

    async def list_businesses(self, city_code: str) -> list[model.Business]:
        found = [b for b in self.businesses.values() if b.city_code == city_code]
        return sorted(found, key=lambda b: (b.category, b.code))

    async def get_business(self, city_code: str, code: str) -> model.Business | None:
        return self.businesses.get((city_code, code))

    async def save_business(self, business: model.Business) -> None:
        self.businesses[(business.city_code, business.code)] = business

    async def claim_suspension(self, city_code: str, code: str) -> bool:
        business = self.businesses.get((city_code, code))
        if business is None or business.status is not model.BusinessStatus.ACTIVE:
            return False
        self.businesses[(city_code, code)] = replace(business, status=model.BusinessStatus.SUSPENDED)
        return True

    async def list_offices(self, city_code: str, business_code: str | None = None) -> list[model.Office]:
        found = [
            o
            for o in self.offices.values()
            if o.city_code == city_code and (not business_code or business_code in o.business_codes)
        ]
        return sorted(found, key=lambda o: o.id)

    async def get_office(self, office_id: str) -> model.Office | None:
        return self.offices.get(office_id)

    async def save_office(self, office: model.Office) -> None:
        self.offices[office.id] = office

    async def find_group(self, office_id: str, business_code: str) -> tuple[str, str, bool] | None:
        office = self.offices.get(office_id)
        group = office.group_for(business_code) if office else None
        business = self.businesses.get((office.city_code, business_code)) if office else None
        if office is None or group is None or business is None:
            return None
        suspended = business.status is model.BusinessStatus.SUSPENDED
        return group.code, self.cities[office.city_code].time_zone, suspended

    async def upsert_slots(self, slots: list[model.Slot]) -> tuple[int, int]:
        created = updated = 0
        for slot in slots:
            key = (slot.office_id, slot.group, slot.date, slot.start)
            found = self.slots.get(key)
            if found is None:
                self.slots[key] = replace(slot, id=self._next_slot_id, booked=0)
                self._next_slot_id += 1
                created += 1
            elif found.capacity != slot.capacity:
                # As the repository: never below what is booked or held (nobody loses a
                # place); tests/integration/test_bookings.py checks the real one.
                self.slots[key] = replace(found, capacity=max(slot.capacity, found.booked + found.held))
                updated += 1
        return created, updated

    async def list_slots(
        self, office_id: str, group: str, first: dt.date, last: dt.date, after: dt.datetime
    ) -> list[model.Slot]:
        return [s for s in self._not_started(office_id, group, after) if first <= s.date <= last]

    async def earliest_available(self, office_id: str, group: str, after: dt.datetime) -> model.Slot | None:
        return next((s for s in self._not_started(office_id, group, after) if s.booked < s.capacity), None)

    async def save_office_policy_fields(self, office: model.Office) -> None:
        self.offices[office.id] = office

    async def close_slots(self, office_id: str, days: list[dt.date], closed: bool) -> int:
        raise NotImplementedError("closures are tested on real databases (test_policies.py)")

    def _not_started(self, office_id: str, group: str, after: dt.datetime) -> list[model.Slot]:
        """Slots of a group starting at or after ``after`` (naive local), by date and start."""
        found = [
            s
            for s in self.slots.values()
            if s.office_id == office_id and s.group == group and dt.datetime.combine(s.date, s.start) >= after
        ]
        return sorted(found, key=lambda s: (s.date, s.start))


class FakeBookingRepository:
    """Only what the catalogue's handlers ask of bookings (the booking use cases
    themselves are tested on the SQL repository)."""

    def __init__(self) -> None:
        self.bookings: list[Booking] = []

    async def active_bookings_for(self, city_code: str, business_code: str) -> list[Booking]:
        return [
            b
            for b in self.bookings
            if (b.city_code, b.business_code, b.status) == (city_code, business_code, BookingStatus.CONFIRMED)
        ]


class FakeFormRepository:
    """Only what loading a catalogue asks of pre-applications: the forms (the
    workflow itself is tested on the SQL repository)."""

    def __init__(self) -> None:
        self.forms: dict[tuple[str, str], Form] = {}

    async def save_form(self, city_code: str, business_code: str, form: Form | None) -> None:
        if form is None:
            self.forms.pop((city_code, business_code), None)
        else:
            self.forms[(city_code, business_code)] = form

    async def get_form(self, city_code: str, business_code: str) -> Form | None:
        return self.forms.get((city_code, business_code))


class FakePolicyRepository:
    """Only what loading a catalogue asks of policies: none is in force (policies
    themselves are tested on the SQL repository)."""

    async def in_force(self, *args: object, **kwargs: object) -> list[Any]:
        return []


class FakeTransaction:
    def __init__(
        self,
        catalogue: FakeCatalogueRepository,
        *,
        writable: bool,
        bookings: FakeBookingRepository | None = None,
        forms: FakeFormRepository | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.bookings: Any = bookings or FakeBookingRepository()
        self.pre_applications: Any = forms or FakeFormRepository()
        # The hall is tested on real databases only (tests/integration/test_hall.py).
        self.hall: Any = None
        self.policies: Any = FakePolicyRepository()
        self.events: list[Event] = []
        self.audited: list[tuple[str, str, dict[str, object]]] = []
        self.writable = writable

    def emit(self, event: Event) -> None:
        assert self.writable, f"{event!r} emitted in a read transaction"
        self.events.append(event)

    async def audit(self, action: str, subject: str, detail: dict[str, object]) -> None:
        assert self.writable, f"audit {action!r} in a read transaction"
        self.audited.append((action, subject, detail))


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.catalogue = FakeCatalogueRepository()
        self.bookings = FakeBookingRepository()
        self.forms = FakeFormRepository()
        self.committed_events: list[Event] = []

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[FakeTransaction]:
        tx = FakeTransaction(
            copy.deepcopy(self.catalogue), writable=True, bookings=self.bookings, forms=self.forms
        )
        yield tx  # an error here leaves self.catalogue and committed_events as they were
        self.catalogue = tx.catalogue
        self.committed_events.extend(tx.events)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[FakeTransaction]:
        yield FakeTransaction(self.catalogue, writable=False, bookings=self.bookings, forms=self.forms)

    @contextlib.asynccontextmanager
    async def read_then_write(self) -> AsyncIterator[FakeReadThenWrite]:
        """As on SQLite: a read, then a write of its own (committed when the block ends)."""
        stages = FakeReadThenWrite(self)
        yield stages
        if stages.written is not None:
            self.catalogue = stages.written.catalogue
            self.committed_events.extend(stages.written.events)


class FakeReadThenWrite:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.written: FakeTransaction | None = None

    async def read(self) -> FakeTransaction:
        return FakeTransaction(
            self.uow.catalogue, writable=False, bookings=self.uow.bookings, forms=self.uow.forms
        )

    async def write(self) -> FakeTransaction:
        self.written = FakeTransaction(
            copy.deepcopy(self.uow.catalogue), writable=True, bookings=self.uow.bookings, forms=self.uow.forms
        )
        return self.written
