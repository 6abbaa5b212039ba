"""A background loop a service runs beside its gRPC server (outbox relay, consumers)."""

from __future__ import annotations

import asyncio


class BackgroundLoop:
    """Runs ``_run`` as a task from ``start`` until ``stop``. ``_run`` loops while
    ``self.running``: stopping sets a flag as well as cancelling the task, because
    on Python 3.11 a cancellation racing with a wait_for/timeout can be swallowed,
    and the loop would then never end."""

    name = "background-loop"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

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
