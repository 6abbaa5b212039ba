"""Residents of the register, as the identity service knows them."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass


class CardStatus(enum.Enum):
    VALID = "valid"
    REPORTED_LOST = "reported_lost"
    DAMAGED = "damaged"
    EXPIRED = "expired"
    INVALIDATED = "invalidated"


@dataclass(frozen=True)
class Resident:
    citizen_id: str  # stable and meaningless: what every other service knows a citizen by
    id_number: str
    name: str
    phone: str  # E.164, the phone on file
    city_code: str
    household_address: str
    gender: str
    birth_date: dt.date
    photo_captured_on: dt.date | None
    fingerprint_on_file: bool
    card_issued_on: dt.date | None
    card_expires_on: dt.date | None
    card_status: CardStatus
    # The current card's number ("" before the register knows one) and the residence
    # registered away from the household place (居住登记), if any: what the cards
    # service decides on. Defaults, so a register file without these columns reads.
    card_number: str = ""
    residence_city_code: str = ""
    residence_address: str = ""
    residence_registered_on: dt.date | None = None


def mask_phone(e164: str) -> str:
    """+8613800138000 -> 138****8000: enough for a citizen to recognise their phone."""
    national = e164[3:] if e164.startswith("+86") else e164.lstrip("+")
    return f"{national[:3]}****{national[-4:]}" if len(national) >= 7 else "****"


def mask_name(name: str) -> str:
    """张伟 -> 张*, 欧阳娜娜 -> 欧***: enough for staff to tell whom they serve, not the
    full name. A name in Latin letters keeps its first letter likewise."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else "*"


@dataclass(frozen=True)
class OtpPolicy:
    """The one-time code rules (issue: 5 minutes, 5 wrong tries, single use, 60 s)."""

    ttl: dt.timedelta = dt.timedelta(minutes=5)
    max_attempts: int = 5
    resend_after: dt.timedelta = dt.timedelta(seconds=60)
    per_number_per_hour: int = 5
    per_address_per_hour: int = 20
