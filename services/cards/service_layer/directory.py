"""What the cards service asks other services: identity's register (the card
holder's facts, reporting a card lost, recording a new card) and booking's
catalogue (offices taking the ID card window business, with their earliest vacancy)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.cards.domain.eligibility import Holder


@dataclass(frozen=True)
class HolderRecord:
    """The register's facts about one citizen, in clear: only in memory, never logged."""

    facts: Holder
    id_number: str
    name: str
    gender: str
    birth_date: dt.date | None
    phone: str
    household_address: str
    #: The level of the session asked with the facts ("otp" or "face"); "" when none was.
    assurance: str = ""


class CardHolders(Protocol):
    async def get(self, citizen_id: str, session_id: str = "") -> HolderRecord:
        """Raises a NotFound problem when the register has no such citizen; with
        ``session_id``, the session's assurance level comes with the facts (401
        session_ended when it is not the citizen's live session)."""
        ...

    async def get_many(self, citizen_ids: Sequence[str]) -> dict[str, HolderRecord]:
        """Many at once by citizen id (one call, not one per citizen); those the
        register does not hold are missing."""
        ...

    async def report_lost(self, citizen_id: str, application_id: str) -> None:
        """Idempotent per application."""
        ...

    async def record_new_card(
        self, citizen_id: str, application_id: str, card_number: str, issued_on: dt.date, expires_on: dt.date
    ) -> None:
        """Idempotent per application."""
        ...


@dataclass(frozen=True)
class WindowOffice:
    office_id: str
    city_code: str
    name: str
    name_en: str = ""
    address: str = ""
    address_en: str = ""
    earliest_date: dt.date | None = None
    earliest_start: dt.time | None = None


class Offices(Protocol):
    async def with_vacancy(self, city_code: str, business_code: str) -> Sequence[WindowOffice]:
        """Offices of a city taking a business, earliest vacancy first."""
        ...

    async def find(self, office_ids: Sequence[str]) -> Sequence[WindowOffice]:
        """The offices among those asked for that the catalogue knows."""
        ...

    async def describe(self, city_code: str, office_id: str) -> WindowOffice | None:
        """One office's names and address, for a citizen's message."""
        ...
