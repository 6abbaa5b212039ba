"""A background loop a service runs beside its gRPC server (outbox relay, consumers)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class BackgroundLoop:
    """Runs ``_run`` as a task from ``start`` until ``stop``. ``_run`` loops while
    ``self.running``: stopping sets a flag as well as cancelling the task, because
    on Python 3.11 a cancellation racing with a wait_for/timeout can be swallowed,
    and the loop would then never end."""

    name = "background-loop"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._next_chore = 0.0
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New work is there: end the current nap now rather than at its end."""
        self._wake.set()

    async def nap(self, seconds: float) -> None:
        """Sleep until woken or ``seconds`` have passed. asyncio.wait rather than
        wait_for or timeout(): on Python 3.11 those can swallow a cancellation that
        races with their own timeout, and stop() hangs."""
        waiter = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({waiter}, timeout=seconds)
        finally:
            waiter.cancel()
        self._wake.clear()

    async def now_and_then(self, chore: Callable[[], Awaitable[object]], every: float = 600.0) -> None:
        """Run a housekeeping chore at most once per ``every`` seconds; a failed one
        waits for the next time rather than stopping the loop."""
        now = asyncio.get_running_loop().time()
        if now >= self._next_chore:
            self._next_chore = now + every
            try:
                await chore()
            except Exception as exc:
                log.warning("%s: housekeeping failed: %s", self.name, exc)

    @property
    def running(self) -> bool:
        return not self._stopping

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        raise NotImplementedError


class Periodic(BackgroundLoop):
    """Runs ``chore`` every ``every`` seconds until stopped (a service's sweeps and
    keepers); a failed round is logged and the next comes as usual: a database
    hiccup must not end the loop."""

    def __init__(self, name: str, chore: Callable[[], Awaitable[object]], *, every: float) -> None:
        super().__init__()
        self.name = name
        self.chore = chore
        self.every = every

    async def _run(self) -> None:
        while self.running:
            try:
                await self.chore()
            except Exception:
                log.exception("%s: a round failed", self.name)
            await self.nap(self.every)
