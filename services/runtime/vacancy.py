"""Each slot's vacancy, told to every gateway process through a JetStream key-value
bucket, so that the gateway answers vacancy reads and refuses bookings of a full
slot from memory (decision 65).

Booking writes the entries through its outbox (``$KV.<bucket>.<slot id>``), in the
transaction that changed the slot's count, after the slot row's update: that row
stays locked until the commit, so the outbox's order is the commits' order for one
slot and the bucket's last value for a key is the slot's last committed count.

An entry says how many places are left and, for a full slot only, what a refusal
at the edge must know to be the refusal booking would give: the business codes the
slot serves (a slot asked for with another business is booking's 404 to give) and
who must still reach booking although the slot is full: a citizen whose waitlist
hold is this slot's place, and every citizen who ever had a booking in it (a retried
Idempotency-Key replays its first answer, a booking, whatever the slot's count is
now). Citizens are named by a 32-bit digest: a collision sends one more request to
booking, never refuses one.

What the edge does not know it does not refuse: a slot with no entry, a slot with
places, or any slot while the process has not read the bucket to its end (at start,
after NATS came back) goes to booking, which stays the only judge of a booking.

This module is what both sides need without NATS (booking's service layer words
its refusal with :func:`slot_full_detail`); the bucket and its watcher are in
services/runtime/vacancy_watch.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

BUCKET = "mintong_slot_vacancy"
#: The outbox rows' event type: no proto, the value is the compact JSON below.
ENTRY_TYPE = "mintong.kv.slot_vacancy"
#: An entry not rewritten for this long leaves the bucket (and a gateway started
#: after that does not know the slot: it asks booking). Longer than any booking
#: horizon, so a slot's entry outlives the slot's bookable days.
TTL = dt.timedelta(days=45)


def subject(slot_id: int) -> str:
    return f"$KV.{BUCKET}.{slot_id}"


def citizen_digest(citizen_id: str) -> str:
    return hashlib.blake2b(citizen_id.encode(), digest_size=4).hexdigest()


def slot_full_detail(date: dt.date, start: dt.time) -> str:
    """The detail of ``409 slot_full``, the same whether booking or the edge refuses."""
    return f"The {date} {start:%H:%M} slot is fully booked; choose another or join its waitlist."


@dataclass(frozen=True, slots=True)
class SlotVacancy:
    remaining: int
    capacity: int
    date: dt.date
    start: dt.time
    #: Full slots only: the businesses the slot serves, and the digests of the
    #: citizens who must reach booking anyway.
    businesses: frozenset[str] = frozenset()
    passes: frozenset[str] = frozenset()

    def encode(self) -> bytes:
        value: dict[str, object] = {
            "r": self.remaining,
            "c": self.capacity,
            "d": self.date.isoformat(),
            "s": self.start.strftime("%H:%M"),
        }
        if self.remaining <= 0:
            value["b"] = sorted(self.businesses)
            value["p"] = sorted(self.passes)
        return json.dumps(value, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, payload: bytes) -> SlotVacancy:
        value = json.loads(payload)
        return cls(
            remaining=int(value["r"]),
            capacity=int(value["c"]),
            date=dt.date.fromisoformat(value["d"]),
            start=dt.time.fromisoformat(value["s"]),
            businesses=frozenset(value.get("b", ())),
            passes=frozenset(value.get("p", ())),
        )

    @classmethod
    def of(
        cls,
        *,
        remaining: int,
        capacity: int,
        date: dt.date,
        start: dt.time,
        businesses: Iterable[str] = (),
        citizens: Iterable[str] = (),
    ) -> SlotVacancy:
        full = remaining <= 0
        return cls(
            remaining=max(remaining, 0),
            capacity=capacity,
            date=date,
            start=start,
            businesses=frozenset(businesses) if full else frozenset(),
            passes=frozenset(citizen_digest(c) for c in citizens) if full else frozenset(),
        )
