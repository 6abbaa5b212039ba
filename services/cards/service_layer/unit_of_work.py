"""The ports the use cases use: an application repository and a unit of work whose
write transaction also records the events it emits (the outbox)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.cards.domain.events import Event
from services.cards.domain.lifecycle import Application, Status
from services.cards.service_layer.ports import CourierEvent


@dataclass(frozen=True)
class Move:
    """One application's move among many made at once (``move_many``)."""

    app_id: str
    old: Status
    new: Status
    at: dt.datetime
    reason: str
    actor: str
    #: Other columns set with the move (a batch id, a tracking number, a new card).
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class KeyClaim:
    """An Idempotency-Key to claim for a new application."""

    citizen_id: str
    key: str
    fingerprint: str
    application_id: str


@dataclass(frozen=True)
class NewApplication:
    """An application to add, with its timeline so far."""

    app: Application
    family: str
    report_lost_pending: bool


class ApplicationRepository(Protocol):
    async def lock_citizens(self, citizen_ids: Sequence[str]) -> None:
        """Serialise these citizens' applications until the transaction ends."""
        ...

    async def add_many(self, added: Sequence[NewApplication]) -> None:
        """The applications and their steps, in a statement or two for them all."""
        ...

    async def move(
        self, app_id: str, old: Status, new: Status, at: dt.datetime, reason: str, actor: str, **values: Any
    ) -> bool:
        """Moves the application if it is still ``old`` and records the step; False
        when another mover came first (nothing written)."""
        ...

    async def move_many(self, moves: Sequence[Move]) -> None:
        """Moves of applications this transaction read with ``many(…, lock=True)``
        and found in their ``old`` status, with their steps, in a statement or two
        for them all."""
        ...

    async def update(self, app_id: str, **values: Any) -> None: ...
    async def set_card(self, app_id: str, card_number: str, issued_on: dt.date, expires_on: dt.date) -> None:
        """Keeps the new card's number (sealed) and dates."""
        ...

    def card_values(self, card_number: str, issued_on: dt.date, expires_on: dt.date) -> dict[str, Any]:
        """What ``set_card`` writes, as columns a move can set."""
        ...

    async def get(self, app_id: str, citizen_id: str | None = None) -> Application | None: ...
    async def many(
        self, app_ids: list[str], *, timelines: bool = True, lock: bool = False
    ) -> dict[str, Application]:
        """Those of ``app_ids`` that exist, by id, in two queries (not two per id);
        ``lock``: held until the transaction ends, so their status read stays theirs."""
        ...

    async def by_tracking(self, tracking_number: str) -> Application | None:
        """The application mailed under ``tracking_number``, without its timeline."""
        ...

    async def for_citizen(self, citizen_id: str) -> list[Application]: ...
    async def for_office(self, office_id: str, status: str | None) -> list[Application]: ...
    async def for_city(self, city_code: str, status: str | None) -> list[Application]: ...
    async def has_open(self, citizen_id: str, family: str, open_statuses: list[str]) -> bool: ...
    async def holds_permit(self, citizen_id: str) -> bool: ...
    async def find_idempotent(self, citizen_id: str, key: str) -> tuple[str, str] | None: ...
    async def standing(
        self, citizen_ids: Sequence[str], open_statuses: Sequence[str]
    ) -> tuple[set[tuple[str, str]], set[str]]:
        """The citizens' open applications as (citizen, family), and those of them
        holding a residence permit, in one query."""
        ...

    async def claim_idempotency_keys(
        self, claims: Sequence[KeyClaim], now: dt.datetime
    ) -> set[tuple[str, str]]:
        """The (citizen, key) of those claimed now; the others were taken before."""
        ...

    async def lost_reports_pending(self, limit: int) -> list[tuple[str, str]]: ...
    async def clear_report_lost(self, app_ids: list[str]) -> None:
        """Identity confirmed these applications' lost-card reports."""
        ...

    async def approved_ready(self, limit: int) -> list[str]: ...
    async def to_ship(self, limit: int) -> list[str]: ...
    async def to_hand_over(self, limit: int) -> list[str]: ...
    async def add_batch(self, batch_id: str, now: dt.datetime) -> None: ...
    async def batches(self, state: str, limit: int = 50) -> list[str]: ...
    async def set_batch_state(self, batch_id: str, old: str, new: str, now: dt.datetime) -> bool: ...
    async def in_batch(self, batch_id: str, *, timelines: bool = True) -> list[Application]: ...
    async def in_production(self, batch_id: str) -> int:
        """How many of the batch's applications are still in production."""
        ...

    async def by_tracking_many(
        self, tracking_numbers: list[str], *, lock: bool = False
    ) -> dict[str, Application]:
        """Those mailed under these numbers, by number, without timelines; ``lock``:
        held until the transaction ends."""
        ...

    async def courier_events_known(self, event_ids: list[str]) -> set[str]:
        """Those of the courier's event ids recorded before."""
        ...

    async def record_courier_events(self, events: Sequence[CourierEvent], now: dt.datetime) -> None: ...


class Transaction(Protocol):
    @property
    def applications(self) -> ApplicationRepository: ...

    def emit(self, event: Event, carrier: Mapping[str, str] | None = None) -> None:
        """Record an event: published if, and only if, the transaction commits;
        ``carrier``: the trace it continues, when not the current one (an application
        recorded in another's transaction, ``applications.apply``)."""
        ...

    async def audit(self, action: str, subject: str, detail: dict[str, object]) -> None:
        """Append a staff action, by the current caller, to the hash-chained audit log."""
        ...


class UnitOfWork(Protocol):
    def write(self) -> AbstractAsyncContextManager[Transaction]: ...

    def read(self) -> AbstractAsyncContextManager[Transaction]: ...
