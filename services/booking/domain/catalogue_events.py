"""What happened to the catalogue: offices, slots and businesses.

Kept apart from events.py because model.py emits these, and events.py must name
bookings.py's classes for the booking events; with them in one module the domain
went round in a circle (model → events → bookings → model). This module imports
nothing of the domain, so the dependencies run one way:
events → bookings → model → catalogue_events.
"""

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
    announcement_en: str = ""


@dataclass(frozen=True)
class BusinessResumed:
    city_code: str
    business_code: str
