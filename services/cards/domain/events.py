"""What the cards domain tells the world: one event per step of an application.
Never personal data: no recipient, phone, address or card number."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatusChanged:
    application_id: str
    citizen_id: str
    city_code: str
    kind: str
    kind_name: str
    kind_name_en: str
    delivery_method: str
    office_id: str
    tracking_number: str
    from_status: str
    status: str
    reason: str
    reason_codes: tuple[str, ...] = ()
    batch_id: str = ""
    reason_en: str = ""
    courier: str = ""
    courier_en: str = ""
    office_name: str = ""
    office_name_en: str = ""
    office_address: str = ""
    office_address_en: str = ""


Event = StatusChanged
