"""The ports the notify use cases run on: a unit of work over the store, and providers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from services.notify.domain.messages import Delivery, Message
from services.notify.domain.model import Addresses, Channel, Contacts, Status


@dataclass(frozen=True)
class Sent:
    """A delivery a provider accepted: its new status and the provider's reference."""

    delivery_id: str
    status: Status
    provider: str | None
    provider_ref: str | None


class Store(Protocol):
    async def get_contacts(self, citizen_id: str) -> Contacts | None: ...
    async def contacts_of(self, citizen_ids: set[str]) -> dict[str, Contacts]:
        """Those of the citizens notify has contacts for, in one query."""
        ...

    async def save_contacts(self, contacts: Contacts) -> None: ...
    async def save_language(self, citizen_id: str, language: str) -> None:
        """The citizen's language only; their addresses and preferred channel stay."""
        ...

    async def save_addresses(self, addresses: Addresses) -> bool:
        """Replace the citizen's addresses (keeping language and preferred channel)
        unless newer ones are stored; False when they were older."""
        ...

    async def add_message(self, message: Message) -> bool:
        """False when a message with its source_key exists already."""
        ...

    async def add_messages(self, messages: list[Message], deliveries: Sequence[Delivery] = ()) -> set[str]:
        """The ids of those written: not one whose source_key exists already; and the
        ``deliveries`` of the messages written, each message's first ones in the order given."""
        ...

    async def message_by_source(self, source_key: str) -> Message | None: ...
    async def get_message(self, message_id: str) -> Message | None: ...
    async def inbox(
        self, citizen_id: str, limit: int, before: tuple[dt.datetime, str] | None
    ) -> list[Message]: ...
    async def unread_count(self, citizen_id: str) -> int: ...
    async def mark_read(self, message_id: str, at: dt.datetime) -> None: ...

    async def add_delivery(self, delivery: Delivery) -> None: ...
    async def add_deliveries(self, deliveries: list[Delivery]) -> None:
        """Several at once, in order (e.g. a new message's inbox copy and first channel)."""
        ...

    async def any_due(self, now: dt.datetime) -> bool:
        """Whether a queued delivery is due by ``now`` (what claim_due would take)."""
        ...

    async def claim_due(self, now: dt.datetime, limit: int) -> list[Delivery]:
        """Queued deliveries due by ``now``, switched to SENDING with one more attempt."""
        ...

    async def update_delivery(
        self,
        delivery_id: str,
        *,
        status: Status,
        reason: str,
        due_at: dt.datetime | None = None,
        provider: str | None = None,
        provider_ref: str | None = None,
        now: dt.datetime,
    ) -> None: ...

    async def record_sent(
        self,
        sent: list[Sent],
        now: dt.datetime,
        kept: Sequence[tuple[str, Delivery]] = (),
        kept_at: dt.datetime | None = None,
    ) -> None:
        """Record many accepted deliveries at once (no reason left, provider kept), and
        the records ``kept`` of some of them (see keep_records), kept ``kept_at``."""
        ...

    async def keep_records(self, sent: list[tuple[str, Delivery]], at: dt.datetime) -> None:
        """What providers asked to keep of what they sent (``Accepted.keep_record``),
        by provider name: the sandboxes' records."""
        ...

    async def by_provider_ref(self, provider: str, provider_ref: str) -> Delivery | None: ...
    async def channels_tried(self, message_id: str) -> set[Channel]: ...
    async def cancel(self, cancel_key: str, reason: str, now: dt.datetime) -> int: ...
    async def requeue_stuck(self, older_than: dt.datetime, now: dt.datetime) -> int: ...
    async def release(self, delivery_ids: list[str], now: dt.datetime) -> int:
        """Claimed deliveries never handed to a provider queued again, their attempt uncounted."""
        ...


class UnitOfWork(Protocol):
    def write(self) -> AbstractAsyncContextManager[Store]: ...
    def write_one(self) -> AbstractAsyncContextManager[Store]:
        """For a write the store makes in one statement on its database (see
        ``record_sent``): atomic by itself there, it commits alone; elsewhere a
        transaction, as ``write``."""
        ...

    def read(self) -> AbstractAsyncContextManager[Store]: ...
