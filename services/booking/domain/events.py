"""What happened in the booking domain, in the past tense."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogueLoaded:
    city_codes: tuple[str, ...]
    office_count: int
    business_count: int


@dataclass(frozen=True)
class SlotsPublished:
    office_id: str
    first: dt.date
    last: dt.date
    created: int
    updated: int


@dataclass(frozen=True)
class BusinessSuspended:
    city_code: str
    business_code: str
    announcement: str


@dataclass(frozen=True)
class BusinessResumed:
    city_code: str
    business_code: str


Event = CatalogueLoaded | SlotsPublished | BusinessSuspended | BusinessResumed
