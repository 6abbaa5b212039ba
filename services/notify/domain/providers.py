"""The port every provider adapter (SMS gateway, WeChat, APP push, sandbox) implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from services.notify.domain.model import Channel


class ProviderError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Retryable(ProviderError):
    """Try again later: a timeout, a 5xx, a rate limit."""


class Permanent(ProviderError):
    """Trying again cannot help: an invalid number, a blocked openid, a 4xx."""


@dataclass(frozen=True)
class Outgoing:
    delivery_id: str  # unique per (message, channel): providers may use it to deduplicate
    channel: Channel
    to: str
    title: str
    body: str
    city_code: str


@dataclass(frozen=True)
class Accepted:
    provider_ref: str
    #: True when the provider confirms delivery at once; else a receipt will tell.
    delivered: bool
    #: Keep a record of this send in notify's own database (the sandboxes: what they
    #: would have sent): written by the transaction that records the round's
    #: outcomes, so a record never exists without its outcome, at no commit of its own.
    keep_record: bool = False


class Provider(Protocol):
    name: str
    channel: Channel

    async def send(self, outgoing: Outgoing) -> Accepted:
        """Hand a message over; raises Retryable or Permanent."""
        ...


@runtime_checkable
class BatchProvider(Provider, Protocol):
    """A provider that can take many messages in one call (one request for a bulk
    API; the sandboxes answer a round at once): a crowd's messages go out together."""

    async def send_many(self, outgoing: list[Outgoing]) -> list[Accepted | ProviderError]:
        """One answer per message, in order: accepted, or the error for that one."""
        ...
