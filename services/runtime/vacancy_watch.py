"""The vacancy bucket in NATS (services/runtime/vacancy.py says what it holds):
booking creates it, every gateway process watches it."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BadRequestError
from nats.js.kv import KeyValue

from services.runtime.bucket_watch import BucketWatch
from services.runtime.events import EventBus
from services.runtime.vacancy import BUCKET, TTL, SlotVacancy, citizen_digest

log = logging.getLogger(__name__)


async def ensure_bucket(js: JetStreamContext) -> KeyValue:
    """Create the bucket (booking, at every connection: the relay's publications to
    it need its stream). Only the TTL is ever changed on an existing one."""
    config = KeyValueConfig(bucket=BUCKET, ttl=TTL.total_seconds(), history=1)
    try:
        return await js.create_key_value(config)
    except BadRequestError:  # it exists with another TTL
        info = await js.stream_info(f"KV_{BUCKET}")
        info.config.max_age = TTL.total_seconds()
        await js.update_stream(info.config)
        return await js.key_value(BUCKET)


class VacancyWatcher(BucketWatch):
    """A gateway process's view of the slots' vacancy. ``ready`` is set once the
    bucket has been read to its end, and cleared while NATS is away or the bucket
    is being read again: the callers then ask booking."""

    name = "vacancy-watcher"
    bucket = BUCKET
    owner = "booking"
    label = "vacancy watch"
    forget_while_reading = True

    def __init__(
        self, bus: EventBus, *, retry: float = 1.0, today: Callable[[], dt.date] = dt.date.today
    ) -> None:
        super().__init__(bus, retry=retry)
        self._today = today
        self._slots: dict[int, SlotVacancy] = {}
        self._next_prune = 0.0
        #: Moves at every change of what is known: a reader that worked from it at
        #: one count (a rendered slot list) need not look again until it moves.
        self.changes = 0

    def __len__(self) -> int:
        return len(self._slots)

    def get(self, slot_id: int) -> SlotVacancy | None:
        """The slot's vacancy as last heard, or None when unknown or not ready."""
        if not self.ready.is_set():
            return None
        return self._slots.get(slot_id)

    def full_for(self, slot_id: int, business: str, citizen_id: str) -> SlotVacancy | None:
        """The slot, when this citizen's booking of it is certain to be refused
        ``slot_full`` by booking; None sends the request to booking."""
        known = self.get(slot_id)
        if known is None or known.remaining > 0 or business not in known.businesses:
            return None
        if known.passes and citizen_digest(citizen_id) in known.passes:
            return None
        return known

    async def wait_for(self, slot_id: int, remaining: int) -> None:
        """Until the slot is known with ``remaining`` places (tests, the staleness bench)."""
        await self.wait_until(lambda: (v := self.get(slot_id)) is not None and v.remaining == remaining)

    def lost(self) -> None:
        """NATS went away: what is known may go stale unseen, so ask booking."""
        self.ready.clear()

    def loaded(self) -> None:
        log.info("vacancy watch: %d slots known", len(self._slots))

    def on_entry(self, entry: KeyValue.Entry) -> None:
        if not (entry.key and entry.key.isdigit()):
            return
        self.changes += 1
        if entry.operation is None and entry.value:
            try:
                self._slots[int(entry.key)] = SlotVacancy.decode(entry.value)
            except (ValueError, KeyError, TypeError):
                log.warning("vacancy watch: entry %s unreadable; slot left to booking", entry.key)
                self._slots.pop(int(entry.key), None)
        else:  # deleted or purged: no longer known
            self._slots.pop(int(entry.key), None)
        self._prune()

    def _prune(self) -> None:
        """Forget slots of days gone (bounded memory in a long-running process);
        at most once a minute."""
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + 60.0
        yesterday = self._today() - dt.timedelta(days=1)
        self._slots = {k: v for k, v in self._slots.items() if v.date >= yesterday}
        self.changes += 1
