"""The ports the handlers use: a catalogue repository and a unit of work whose
write transaction also records the domain events it emits (the outbox)."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from services.booking.domain import model
from services.booking.domain.events import Event


class CatalogueRepository(Protocol):
    async def list_cities(self) -> list[model.City]: ...
    async def get_city(self, code: str) -> model.City | None: ...
    async def save_city(self, city: model.City) -> None: ...

    async def list_businesses(self, city_code: str) -> list[model.Business]: ...
    async def get_business(self, city_code: str, code: str) -> model.Business | None: ...
    async def save_business(self, business: model.Business) -> None: ...

    async def list_offices(self, city_code: str, business_code: str | None = None) -> list[model.Office]: ...
    async def get_office(self, office_id: str) -> model.Office | None: ...
    async def save_office(self, office: model.Office) -> None: ...

    async def find_group(self, office_id: str, business_code: str) -> tuple[str, str] | None:
        """The slot group of a business at an office and the time zone of its city,
        in one look-up (the vacancy read's hot path); None if any of them is unknown."""
        ...

    async def upsert_slots(self, slots: list[model.Slot]) -> tuple[int, int]:
        """Add new slots; for existing ones set the new capacity, never below what is
        booked. Returns (created, updated)."""
        ...

    async def list_slots(
        self, office_id: str, group: str, first: dt.date, last: dt.date, after: dt.datetime
    ) -> list[model.Slot]:
        """Slots of a group between two dates that start at or after ``after`` (local)."""
        ...

    async def earliest_available(
        self, office_id: str, group: str, after: dt.datetime
    ) -> model.Slot | None: ...


class Transaction(Protocol):
    @property
    def catalogue(self) -> CatalogueRepository: ...

    def emit(self, event: Event) -> None:
        """Record an event: it is published if, and only if, the transaction commits."""
        ...


class UnitOfWork(Protocol):
    def write(self) -> AbstractAsyncContextManager[Transaction]: ...

    def read(self) -> AbstractAsyncContextManager[Transaction]: ...
