"""Watching a NATS key-value bucket from its start: the loop the gateway's
revocation and vacancy views share (services/runtime/revocations.py,
services/runtime/vacancy_watch.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue

from services.runtime.events import EventBus

log = logging.getLogger(__name__)


class BucketWatch:
    """Reads ``bucket`` from its start and then every change, until stopped; again
    from the start after ``restart`` (NATS came back: an outage may have dropped the
    watch's consumer with entries unseen) or a failure. ``ready`` is set once the
    entries there at start have all come. Subclasses say what an entry means
    (``on_entry``); ``wait_until`` waits for what the entries make true."""

    name = "bucket-watch"
    bucket = ""
    #: Who makes the bucket (the log line while it is not there yet).
    owner = ""
    #: What the log calls this watch.
    label = "bucket watch"
    #: Whether what is known stops counting while the bucket is read again.
    forget_while_reading = False

    def __init__(self, bus: EventBus, *, retry: float = 1.0) -> None:
        self.bus = bus
        self.retry = retry
        self.ready = asyncio.Event()
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._restart = asyncio.Event()

    def on_entry(self, entry: KeyValue.Entry) -> None:
        raise NotImplementedError

    async def opened(self, kv: KeyValue) -> None:
        """The bucket is found, before its entries are read."""

    def loaded(self) -> None:
        """The entries there at start have all come."""

    async def wait_until(self, check: Callable[[], bool]) -> None:
        async with self._changed:
            await self._changed.wait_for(check)

    def restart(self) -> None:
        if self.forget_while_reading:
            self.ready.clear()
        self._restart.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._watch()
            except asyncio.CancelledError:
                raise
            except BucketNotFoundError:
                log.info("no bucket %s yet (%s makes it); looking again", self.bucket, self.owner)
            except Exception as exc:
                log.warning("%s: %s; starting again", self.label, exc or type(exc).__name__)
            if self.forget_while_reading:
                self.ready.clear()
            await asyncio.sleep(self.retry)

    async def _watch(self) -> None:
        js = await self.bus.jetstream()
        kv = await js.key_value(self.bucket)
        await self.opened(kv)
        self._restart.clear()
        watcher = await kv.watchall()
        restart = asyncio.ensure_future(self._restart.wait())
        try:
            while True:
                update = asyncio.ensure_future(watcher.updates(timeout=None))
                done, _ = await asyncio.wait({update, restart}, return_when=asyncio.FIRST_COMPLETED)
                if restart in done:
                    update.cancel()
                    return
                entry = update.result()
                if entry is None:  # the entries there were at start have all come
                    self.ready.set()
                    self.loaded()
                else:
                    self.on_entry(entry)
                async with self._changed:
                    self._changed.notify_all()
        finally:
            restart.cancel()
            with contextlib.suppress(Exception):
                await watcher.stop()
