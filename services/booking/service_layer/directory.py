"""What booking tells other services about its catalogue, and asks them about the
people its records name: offices that exist (identity binds a window clerk to one),
citizens that exist (an approval names one; identity keeps the register)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from services.booking.domain.model import Office
from services.booking.service_layer.unit_of_work import UnitOfWork
from services.runtime.batch import bounded_ids


async def find_offices(uow: UnitOfWork, office_ids: Collection[str]) -> list[Office]:
    """The offices of the catalogue among ``office_ids``; unknown ones are left out."""
    wanted = bounded_ids(office_ids, "office_ids")
    async with uow.read() as tx:
        found = [await tx.catalogue.get_office(office_id) for office_id in wanted]
    return [office for office in found if office is not None]


class CitizenDirectory(Protocol):
    """Identity's register, asked over gRPC (adapters/identity_client.py)."""

    async def existing(self, citizen_ids: Collection[str]) -> set[str]:
        """The ids among ``citizen_ids`` of citizens on the register."""
        ...
