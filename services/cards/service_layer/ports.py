"""The external systems the cards service drives: the card production centre and
the courier. Each has a sandbox (records what it would have done, advances on a
schedule so one machine shows the whole journey) and a real HTTP adapter; the
contracts the partners see are docs/card-production.md and docs/courier.md."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ProductionOrder:
    """One card to make. ``application_id`` is also the partner's idempotency key
    for the card: an order sent twice is made once."""

    application_id: str
    kind: str  # id_card_lost, id_card_damaged, id_card_renewal, residence_permit, …
    city_code: str
    id_number: str
    name: str
    gender: str
    birth_date: dt.date
    household_address: str


@dataclass(frozen=True)
class ProducedCard:
    application_id: str
    card_number: str
    issued_on: dt.date
    expires_on: dt.date


class ProductionCentre(Protocol):
    async def submit(self, batch_id: str, orders: Sequence[ProductionOrder]) -> None:
        """Hand a batch over. ``batch_id`` is the idempotency key of the batch:
        submitting the same batch again (a retry after a timeout) makes nothing
        twice. Raises ``ExternalUnavailable`` when the centre cannot take it now."""
        ...

    async def produced(self, batch_id: str) -> Sequence[ProducedCard]:
        """The cards of a batch made so far (the centre reports each once made;
        asking again returns them again)."""
        ...


@dataclass(frozen=True)
class Shipment:
    application_id: str  # also the idempotency key: a retry never ships twice
    recipient: str
    phone: str  # E.164
    address: str
    city_code: str


class Courier(Protocol):
    async def book(self, shipment: Shipment) -> str:
        """Book a pick-up and delivery; returns the tracking number. Booking the
        same application again returns the same tracking number. Raises
        ``ExternalUnavailable`` when the courier cannot take it now."""
        ...


class CourierEventKind:
    """What a courier status callback may report."""

    PICKED_UP = "picked_up"  # shipped
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"  # the courier retries, or returns it
    RETURNED = "returned"  # back at the office: ready for pickup there


@dataclass(frozen=True)
class CourierEvent:
    """A verified courier callback (signature checked, not a replay)."""

    event_id: str  # unique per event: a replayed event id is refused
    tracking_number: str
    kind: str  # a CourierEventKind
    occurred_at: dt.datetime
    detail: str = ""


class ExternalUnavailable(Exception):
    """A partner could not take a request now; the caller retries later with the
    same idempotency key."""
