"""Vacancy at the edge (decision 65): what this gateway process knows of the slots'
vacancy from booking's bucket (services/runtime/vacancy.py), used two ways.

- A booking of a slot known full is refused here with booking's own ``409
  slot_full``; a slot with places, a slot not known, or a process that has not read
  the bucket to its end goes to booking, the only judge of a booking.
- A slot list is booking's answer for the slots (kept ``list_ttl`` seconds: which
  slots there are changes rarely) with each slot's vacancy as the bucket tells it
  now (which changes with every booking), rendered once per change.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from gateway import schemas
from gateway.problems import Problem
from mintong.booking.v1 import catalogue_pb2 as pb
from services.runtime.vacancy import SlotVacancy, slot_full_detail
from services.runtime.vacancy_watch import VacancyWatcher

#: Seconds a slot this process saw freed (a cancellation it passed on) is left to
#: booking whatever the bucket still says: the cancellation's own entry comes a
#: moment later, and the citizen who cancelled or a neighbour should not be told
#: "full" by the very process that freed the place.
FREED_SECONDS = 5.0

#: Slot lists kept at most (distinct offices, businesses and date ranges asked for
#: within ``list_ttl``): a stream of made-up ranges empties the cache rather than
#: fill the memory (a list of 31 days is a few hundred slots).
MAX_LISTS = 1024

ListKey = tuple[str, str, str, str]

#: Booking's words for a full slot, written once per slot time rather than per
#: refusal (the date and time formatting was a thirtieth of a refusal's CPU).
_full_detail = functools.lru_cache(maxsize=4096)(slot_full_detail)


@dataclass
class _List:
    fetched_at: float
    #: Each slot as the API renders it, with booking's vacancy at ``fetched_at``.
    slots: list[dict[str, Any]]
    #: The last rendering: the vacancy it shows, and its bytes, all and free only.
    shown: tuple[int, ...] | None = None
    #: The watcher's count of changes and readiness when ``shown`` was read.
    seen: tuple[int, bool] | None = None
    rendered: dict[bool, bytes] = field(default_factory=dict)


class EdgeVacancy:
    def __init__(self, watcher: VacancyWatcher, *, enabled: bool = True, list_ttl: float = 2.0) -> None:
        self.watcher = watcher
        self.enabled = enabled
        self.list_ttl = list_ttl
        self._lists: dict[ListKey, _List] = {}
        self._fetching: dict[ListKey, asyncio.Future[_List]] = {}
        #: slot id → until when (monotonic) it goes to booking (FREED_SECONDS).
        self._freed: dict[int, float] = {}

    # bookings

    def refusal(self, slot_id: int, business: str, citizen_id: str, idempotency_key: str) -> Problem | None:
        """Booking's ``409 slot_full``, word for word, when booking would certainly
        give it; None otherwise (the request goes to booking). A key booking would
        refuse first (not printable ASCII) is left to booking to name."""
        if not self.enabled or not (idempotency_key.isascii() and idempotency_key.isprintable()):
            return None
        full = self.watcher.full_for(slot_id, business, citizen_id)
        if full is None:
            return None
        if self._freed:
            now = time.monotonic()
            if self._freed.get(slot_id, 0.0) > now:
                return None
            self._freed = {k: v for k, v in self._freed.items() if v > now}
        return Problem(409, "slot_full", _full_detail(full.date, full.start), field="slot_id")

    def freed(self, slot_id: int) -> None:
        """A place of the slot was freed through this process (FREED_SECONDS)."""
        self._freed[slot_id] = time.monotonic() + FREED_SECONDS

    # slot lists

    async def slots(
        self, key: ListKey, fetch: Callable[[], Awaitable[pb.ListSlotsResponse]], *, free: bool
    ) -> bytes:
        """The slot list's JSON body. ``fetch`` asks booking for every slot (full ones
        too: which are free is decided here, with the vacancy of now)."""
        found = self._lists.get(key)
        if found is None or time.monotonic() - found.fetched_at > self.list_ttl:
            found = await self._fetch(key, fetch)
        # The vacancy looked up slot by slot only when the watcher heard of a change
        # since (most reads of a list come between two changes of it).
        seen = (self.watcher.changes, self.watcher.ready.is_set())
        if seen != found.seen:
            known = self.watcher.get
            now = tuple(
                v.remaining if (v := known(s["id"])) is not None else s["remaining"] for s in found.slots
            )
            found.seen = seen
            if now != found.shown:
                found.shown, found.rendered = now, {}
        remaining = found.shown
        assert remaining is not None  # read above at the list's first use
        body = found.rendered.get(free)
        if body is None:
            shown = [
                {**s, "remaining": r}
                for s, r in zip(found.slots, remaining, strict=True)
                if r > 0 or not free
            ]
            # As FastAPI's JSONResponse renders the Slots model.
            body = json.dumps(
                {"slots": shown}, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
            ).encode()
            found.rendered[free] = body
        return body

    async def _fetch(self, key: ListKey, fetch: Callable[[], Awaitable[pb.ListSlotsResponse]]) -> _List:
        """One call to booking per list however many readers ask at once; a task of
        its own, so that a reader who goes away does not cancel it for the others."""
        pending = self._fetching.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load(key, fetch))
            self._fetching[key] = pending
            pending.add_done_callback(lambda _: self._fetching.pop(key, None))
        return await asyncio.shield(pending)

    async def _load(self, key: ListKey, fetch: Callable[[], Awaitable[pb.ListSlotsResponse]]) -> _List:
        answer = await fetch()
        fetched = _List(time.monotonic(), [schemas.Slot.of(s).model_dump(mode="json") for s in answer.slots])
        if len(self._lists) >= MAX_LISTS:
            stale = time.monotonic() - self.list_ttl
            self._lists = {k: v for k, v in self._lists.items() if v.fetched_at >= stale}
            if len(self._lists) >= MAX_LISTS:
                self._lists.clear()
        self._lists[key] = fetched
        return fetched


__all__ = ["EdgeVacancy", "SlotVacancy"]
