"""What a kind of application is: the definitions a city's kinds file gives as data
(services/cards/kinds.yaml), read by service_layer/kinds_file.py."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Rule(enum.StrEnum):
    """Which eligibility checks a kind runs; their parameters are the kind's."""

    #: Lost or damaged ID card: recent capture, fingerprint, appearance unchanged.
    ID_CARD_REPLACEMENT = "id_card_replacement"
    #: Renewal: the card expires within the window (or has expired), plus replacement's checks.
    ID_CARD_RENEWAL = "id_card_renewal"
    #: Residence permit: registered residence away from the household for long enough.
    RESIDENCE_PERMIT = "residence_permit"
    #: No register facts needed beyond the assurance level (an administrative licence).
    NONE = "none"


class Delivery(enum.StrEnum):
    MAIL = "mail"
    PICKUP = "pickup"


@dataclass(frozen=True)
class KindDefinition:
    code: str
    name: str
    name_en: str
    rule: Rule
    #: "otp" or "face": the session's assurance level the kind needs.
    required_assurance: str
    fee_cents: int
    materials: tuple[str, ...] = ()
    delivery_options: tuple[Delivery, ...] = (Delivery.MAIL, Delivery.PICKUP)
    #: Card statuses that allow the kind (empty: any).
    allowed_card_statuses: frozenset[str] = frozenset()
    #: A reviewer approves it even when every automatic check passed.
    needs_review: bool = False
    #: Whether the register's card is reported lost at once on applying.
    reports_card_lost: bool = False
    #: Residence permit renewal: the citizen must hold a permit already (a first
    #: application: must not). None: either.
    renewal: bool | None = None


@dataclass(frozen=True)
class CityKinds:
    city_code: str
    #: Photo and fingerprints older than this many years need the window.
    capture_max_years: int = 5
    #: Renewal may be applied for this many days before the card expires.
    renewal_window_days: int = 90
    #: Months of registered residence away from the household a permit needs.
    residence_min_months: int = 6
    #: The booking business that takes these applications at the window.
    window_business_code: str = ""
    #: Where a card the courier brings back waits for its owner (empty: the
    #: application stays "returned" until staff act).
    returns_office_id: str = ""
    kinds: dict[str, KindDefinition] = field(default_factory=dict)
