"""Citizens as staff and other services may see them: found by ID number (a
reviewer looking for whom to approve; every look-up audited, found or not), or
many at once by citizen id (a clerk's list of the day's bookings), and always
masked — the first character of the name, the ID number without its birth date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from services.identity.domain import id_number
from services.identity.domain.model import Resident, mask_name
from services.identity.service_layer.ports import Sealer, UnitOfWork
from services.runtime.batch import bounded_ids
from services.runtime.errors import NotFound


@dataclass(frozen=True)
class MaskedCitizen:
    citizen_id: str
    masked_name: str
    masked_id_number: str
    city_code: str

    @classmethod
    def of(cls, resident: Resident, today: dt.date) -> MaskedCitizen:
        return cls(
            citizen_id=resident.citizen_id,
            masked_name=mask_name(resident.name),
            masked_id_number=id_number.parse(resident.id_number, today=today).masked,
            city_code=resident.city_code,
        )


async def find_by_id_number(
    uow: UnitOfWork, sealer: Sealer, raw_id: str, *, actor: str, now: dt.datetime
) -> MaskedCitizen:
    """The citizen with this ID number, masked; 404 ``citizen_not_found`` when none
    is on the register. The look-up is an audit entry either way, in the same
    transaction: who looked for whom is known even when nobody was found."""
    number = id_number.parse(raw_id, today=now.date())
    lookup = sealer.lookup(number.value)
    async with uow.write() as store:
        resident = await store.resident_by_lookup(lookup)
        await store.audit(
            actor=actor,
            action="citizen.looked_up",
            # The ID number only as its keyed hash: the audit log is not a register.
            subject=f"citizen:{resident.citizen_id}" if resident else f"id_number:{lookup}",
            detail={"found": resident is not None},
        )
    if resident is None:
        raise NotFound("citizen", number.masked, field="id_number")
    return MaskedCitizen.of(resident, now.date())


async def by_ids(uow: UnitOfWork, citizen_ids: Collection[str], today: dt.date) -> list[MaskedCitizen]:
    """Those of ``citizen_ids`` on the register, masked; unknown ids are left out."""
    wanted = bounded_ids(citizen_ids, "citizen_ids")
    async with uow.read() as store:
        found = await store.residents(wanted)
    return [MaskedCitizen.of(r, today) for r in found]
