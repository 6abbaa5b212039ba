"""Runs one service process: its gRPC server, its NATS connection, its outbox relay
and its event consumers, started and stopped in the right order."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

import grpc
from sqlalchemy import Table

from services.runtime import metrics
from services.runtime.config import ServiceSettings
from services.runtime.consumer import EventConsumer
from services.runtime.db import Database
from services.runtime.events import EventBus, load_streams
from services.runtime.grpc_server import start_server, stop_server
from services.runtime.outbox import OutboxBacklog, OutboxRelay

log = logging.getLogger(__name__)


class Worker(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class ServiceHost:
    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        *,
        register: Callable[[grpc.aio.Server], None],
        service_names: Sequence[str],
        db: Database | None = None,
        outbox: Table | None = None,
    ) -> None:
        """Add the service's own background loops (consumers, workers) to
        ``workers`` after construction; they start after NATS and before gRPC."""
        self.name = name
        self.settings = settings
        self.register = register
        self.service_names = list(service_names)
        self.db = db
        self.bus = EventBus(
            settings.nats_url,
            f"mintong-{name}",
            load_streams(settings.nats_streams_file),
            replicas=settings.nats_replicas,
        )
        self.relay = OutboxRelay(db, outbox, self.bus) if db is not None and outbox is not None else None
        self.workers: list[Worker] = [w for w in (self.relay,) if w is not None]
        #: What costs a query to measure, sampled every MINTONG_METRICS_SAMPLE_SECONDS
        #: (``metric_probes``), and what is read at scrape time (``metric_sources``,
        #: the probes' last values among them); services append their own. Every
        #: durable consumer among ``workers`` is added at start.
        self.metric_probes: list[Callable[[], Awaitable[None]]] = []
        self.metric_sources: list[Callable[[], Iterable[metrics.Readings.Row]]] = [self._connection_readings]
        if db is not None and outbox is not None:
            backlog = OutboxBacklog(name, db, outbox)
            self.metric_probes.append(backlog.sample)
            self.metric_sources.append(backlog.readings)
        self.sampler = metrics.Sampler(settings.metrics_sample_seconds)
        self._readings: list[int] = []
        self.port: int | None = None
        self._server: grpc.aio.Server | None = None
        self._health = None

    def wake_relay(self) -> None:
        if self.relay is not None:
            self.relay.wake()

    async def start(self, port: int | None = None) -> int:
        """Start everything; ``port`` 0 picks a free one. Returns the bound port."""
        for sandbox in sorted(self.settings.sandboxes()):
            # Loud at every start in production (where MINTONG_ALLOW_SANDBOX had to
            # name it); a note in development, where sandboxes are the default.
            log.log(
                logging.WARNING if self.settings.env == "prod" else logging.INFO,
                "%s runs on the SANDBOX %s provider: nothing it answers or sends is real%s",
                self.name,
                sandbox,
                " (allowed by MINTONG_ALLOW_SANDBOX)" if self.settings.env == "prod" else "",
            )
        await self.bus.start()
        for worker in self.workers:
            await worker.start()
        consumers = [w for w in self.workers if isinstance(w, EventConsumer)]
        self.sampler.probes = [*self.metric_probes, *(c.sample for c in consumers)]
        sources = [*self.metric_sources, *(c.readings for c in consumers)]
        self._readings = [metrics.READINGS.add(source) for source in sources]
        await self.sampler.start()
        self._server, self.port, self._health = await start_server(
            self.register,
            self.service_names,
            host=self.settings.grpc_host,
            port=self.settings.grpc_port(self.name) if port is None else port,
            reuse_port=self.settings.worker_index is not None,
        )
        which = "" if self.settings.worker_index is None else f" (worker {self.settings.worker_index})"
        log.info("%s serving gRPC on %s:%s%s", self.name, self.settings.grpc_host, self.port, which)
        return self.port

    def _connection_readings(self) -> Iterable[metrics.Readings.Row]:
        yield from metrics.nats_rows(self.name, self.bus)
        if self.db is not None:
            yield from metrics.db_pool_rows(self.name, self.db.engine, self.db.pool_limit)

    async def stop(self) -> None:
        if self._server is not None and self._health is not None:
            await stop_server(
                self._server,
                self._health,
                drain=self.settings.shutdown_drain,
                grace=self.settings.shutdown_grace,
            )
        await self.sampler.stop()
        for handle in self._readings:
            metrics.READINGS.remove(handle)
        self._readings = []
        for worker in reversed(self.workers):
            await worker.stop()
        await self.bus.close()
        if self.db is not None:
            await self.db.dispose()
        log.info("%s stopped", self.name)
