"""Messages to citizens and their deliveries, in one status vocabulary.

A message is one thing a citizen is told (rendered from a template in their
language); it is delivered on one channel chosen by routing, with fallback to the
next channel when one fails for good, and always also to the in-app inbox.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field


class Channel(enum.Enum):
    SMS = "sms"
    WECHAT = "wechat"
    APP_PUSH = "app_push"
    INBOX = "inbox"


#: When the preferred channel cannot be used, the next one that can, in this order.
FALLBACK_ORDER = (Channel.WECHAT, Channel.APP_PUSH, Channel.SMS)


class Status(enum.Enum):
    """What a citizen (and staff) are told about a delivery."""

    QUEUED = "queued"  # waiting its turn: a retry's back-off, or quiet hours
    SENDING = "sending"  # handed to the provider, which has not confirmed yet
    DELIVERED = "delivered"  # the provider (or the inbox) confirmed it reached the citizen
    FAILED = "failed"  # given up, with a reason; a fallback channel may have taken over


@dataclass(frozen=True)
class Contacts:
    """How a citizen can be reached. Identity keeps these up to date."""

    citizen_id: str
    language: str = "zh-CN"
    preferred: Channel | None = None
    phone: str | None = None
    #: WeChat openid per city official account.
    wechat_openids: dict[str, str] = field(default_factory=dict)
    app_device_token: str | None = None

    def address(self, channel: Channel, city_code: str) -> str | None:
        match channel:
            case Channel.SMS:
                return self.phone
            case Channel.WECHAT:
                return self.wechat_openids.get(city_code)
            case Channel.APP_PUSH:
                return self.app_device_token
            case Channel.INBOX:
                return self.citizen_id


@dataclass(frozen=True)
class Addresses:
    """Where identity says a citizen can be reached, as of a moment: the register's
    phone, the bound openids (per city) and the newest bound APP device."""

    citizen_id: str
    phone: str | None
    wechat_openids: dict[str, str]
    app_device_token: str | None
    as_of: dt.datetime


def route(
    contacts: Contacts, city_code: str, allowed: tuple[Channel, ...] | None
) -> list[tuple[Channel, str]]:
    """The push channels to try, in order, with their addresses: the preferred one
    first, then the fallback order; only channels the citizen is bound to and the
    template allows. The inbox is not among them: it always gets a copy."""
    order = [contacts.preferred] if contacts.preferred else []
    order += [c for c in FALLBACK_ORDER if c not in order]
    result: list[tuple[Channel, str]] = []
    for channel in order:
        if channel is None or channel is Channel.INBOX or (allowed and channel not in allowed):
            continue
        if address := contacts.address(channel, city_code):
            result.append((channel, address))
    return result


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: dt.timedelta = dt.timedelta(seconds=2)
    max_delay: dt.timedelta = dt.timedelta(minutes=5)
    max_attempts: int = 6

    def delay(self, attempts: int) -> dt.timedelta:
        """Exponential back-off after ``attempts`` failed tries, capped."""
        return min(self.first_delay * (2 ** max(attempts - 1, 0)), self.max_delay)


@dataclass(frozen=True)
class QuietHours:
    """Non-urgent messages wait until morning (city local time)."""

    starts: dt.time = dt.time(22, 0)
    ends: dt.time = dt.time(8, 0)

    def next_allowed(self, local: dt.datetime) -> dt.datetime:
        """``local`` itself when outside quiet hours, else when they end."""
        t = local.time()
        quiet = (
            (self.starts <= t or t < self.ends) if self.starts > self.ends else self.starts <= t < self.ends
        )
        if not quiet:
            return local
        end = local.replace(hour=self.ends.hour, minute=self.ends.minute, second=0, microsecond=0)
        return end if end > local else end + dt.timedelta(days=1)
