"""Sandbox providers: they send nothing, record what they would have sent (staff and
tests read it through the admin API), and can be told to fail or be slow.

They are named "sandbox" everywhere a person can see them; nothing they record has
reached a citizen. The recipient is kept sealed, with a keyed hash to find what went
to one address; administrators reading the sandbox see it opened (in dev they read
one-time codes there)."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import uuid
from dataclasses import dataclass

import phonenumbers
from sqlalchemy import select

from services.notify.adapters import orm
from services.notify.domain.model import Channel
from services.notify.domain.providers import Accepted, Outgoing, Permanent, ProviderError, Retryable
from services.runtime.db import Database
from services.runtime.pii import PiiCipher


class Mode(enum.Enum):
    DELIVER = "deliver"
    FAIL_PERMANENTLY = "fail_permanently"
    FAIL_TRANSIENTLY = "fail_transiently"
    SLOW = "slow"
    AWAIT_RECEIPT = "await_receipt"  # accept, and let a receipt decide


@dataclass
class Behaviour:
    mode: Mode = Mode.DELIVER
    times: int = 0  # transient failures still to give
    delay: float = 0.0


@dataclass(frozen=True)
class Recorded:
    provider: str
    channel: Channel
    to: str
    title: str
    body: str
    delivery_id: str
    recorded_at: dt.datetime


def addresses_meant(to: str) -> set[str]:
    """What a search for ``to`` may mean: the value itself and, when it reads as a
    mainland number (13800138000, 8613800138000, +86 138 0013 8000, or "+86…" whose
    plus a URL turned into a space), the E.164 form the SMS channel records."""
    to = to.strip()
    meant = {to}
    try:
        number = phonenumbers.parse(to, "CN")
    except phonenumbers.NumberParseException:
        return meant
    if number.country_code == 86 and phonenumbers.is_valid_number(number):
        meant.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return meant


def to_lookup(cipher: PiiCipher, to: str) -> str:
    """The keyed hash ``sandbox_records.to_lookup`` holds (migration 0002 repeats it)."""
    return cipher.lookup(f"notify-address:{to}")


class SandboxProvider:
    """Accepts (or fails, as told) and asks for each accepted message to be recorded
    (``Accepted.keep_record``): the delivery worker writes the records with the
    round's outcomes (SqlStore.keep_records)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.name = f"sandbox_{channel.value}"
        self.behaviour = Behaviour()

    def behave(self, mode: Mode, *, times: int = 0, delay: float = 0.0) -> None:
        self.behaviour = Behaviour(mode, times, delay)

    async def send(self, outgoing: Outgoing) -> Accepted:
        [answer] = await self.send_many([outgoing])
        if isinstance(answer, ProviderError):
            raise answer
        return answer

    async def send_many(self, outgoing: list[Outgoing]) -> list[Accepted | ProviderError]:
        """Each message as ``send`` would take it."""
        b = self.behaviour
        if b.mode is Mode.SLOW:
            await asyncio.sleep(b.delay)
        answers: list[Accepted | ProviderError] = []
        for _ in outgoing:
            if b.mode is Mode.FAIL_PERMANENTLY:
                answers.append(Permanent(f"{self.name}: told to fail permanently"))
                continue
            if b.mode is Mode.FAIL_TRANSIENTLY and b.times > 0:
                b.times -= 1
                answers.append(Retryable(f"{self.name}: told to fail transiently ({b.times} more)"))
                continue
            answers.append(
                Accepted(
                    provider_ref=f"{self.name}-{uuid.uuid4()}",
                    delivered=b.mode is not Mode.AWAIT_RECEIPT,
                    keep_record=True,
                )
            )
        return answers


async def recorded(db: Database, cipher: PiiCipher, to: str | None, limit: int) -> list[Recorded]:
    r = orm.sandbox_records
    query = select(r).order_by(r.c.seq.desc()).limit(limit)
    if to:
        query = query.where(r.c.to_lookup.in_([to_lookup(cipher, meant) for meant in addresses_meant(to)]))
    async with db.read() as conn:
        rows = (await conn.execute(query)).all()
    return [
        Recorded(
            x.provider,
            Channel(x.channel),
            cipher.open(x.to_sealed),
            x.title,
            x.body,
            x.delivery_id,
            x.recorded_at,
        )
        for x in reversed(rows)
    ]
