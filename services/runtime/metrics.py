"""Metrics in the Prometheus exposition format (prometheus-client; decision 53).

Metric families are declared once per process, at module level like loggers, in
the process-wide registry: declaring one does no I/O and starts nothing. Only a
process's entry point (``lifecycle.serve``, ``python -m gateway``) serves them, on
its own metrics port (:func:`serve`), so a test that runs services in-process binds
no port and several test platforms never collide.

Observation is kept cheap (a booking's CPU matters): a counter or histogram child is
a dict look-up by label values plus a locked add. What costs a query (the outbox's
backlog, a consumer's pending count, the waitlist's holds) is sampled by
:class:`Sampler` every few seconds on the event loop, never per request and never in
the scrape thread; what is an attribute read (a pool's checked-out connections, the
NATS connection's state) is read at scrape time by :class:`Readings`.

Labels are bounded and carry no personal data: route templates, RPC method names,
status codes, channels, problem codes, provider and consumer names; never an id, a
path with ids in it, an address or a name (tests/unit/test_metrics.py checks).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, Counter, Histogram, disable_created_metrics, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.runtime.worker import BackgroundLoop

log = logging.getLogger(__name__)

# No ``*_created`` series beside every counter and histogram: Prometheus does not use
# them here, and they would double what each scrape carries.
disable_created_metrics()

#: Request latency buckets, in seconds: dense around the booking SLO's 0.5 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Delays of events and deliveries, in seconds: from instant to the alert's minutes.
DELAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)

#: The channels a request may name; anything else is counted as "none" (a label
#: value taken from a header must not let a caller mint new series).
CHANNELS = frozenset({"app", "wechat", "web"})


def channel_label(value: str | None) -> str:
    return value if value in CHANNELS else "none"


# --- gRPC servers (services/runtime/grpc_server.py) --------------------------------
GRPC_HANDLED = Counter(
    "mintong_grpc_server_handled",
    "gRPC calls a service finished, by method and status code.",
    ["method", "code"],
)
GRPC_SECONDS = Histogram(
    "mintong_grpc_server_handling_seconds",
    "Time a service took for a gRPC call, by method.",
    ["method"],
    buckets=LATENCY_BUCKETS,
)

# --- the gateway's HTTP requests (gateway/middleware.py) ---------------------------
HTTP_REQUESTS = Counter(
    "mintong_http_requests",
    "HTTP requests the gateway answered, by route template, method, status and channel.",
    ["route", "method", "status", "channel"],
)
HTTP_SECONDS = Histogram(
    "mintong_http_request_duration_seconds",
    "Time the gateway took to answer, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)

# --- events (services/runtime/consumer.py) -----------------------------------------
EVENTS_HANDLED = Counter(
    "mintong_events_handled",
    "Events a durable consumer settled: handled, duplicate (handled before) or failed (redelivered later).",
    ["consumer", "outcome"],
)
EVENT_DELAY = Histogram(
    "mintong_event_delay_seconds",
    "From an event's storing in JetStream to its consumer's commit.",
    ["consumer"],
    buckets=DELAY_BUCKETS,
)


class Readings(Collector):
    """Gauges read at scrape time from live objects (a pool, a connection) and
    from the values samplers keep: each source is a callable giving
    ``(name, help, labels, value)`` rows. Sources come and go with the objects
    they read (a host adds them when it starts and removes them when it stops)."""

    Row = tuple[str, str, dict[str, str], float]

    def __init__(self) -> None:
        self._sources: dict[int, Callable[[], Iterable[Readings.Row]]] = {}
        self._lock = threading.Lock()
        self._next = 0

    def add(self, source: Callable[[], Iterable[Row]]) -> int:
        with self._lock:
            self._next += 1
            self._sources[self._next] = source
            return self._next

    def remove(self, handle: int) -> None:
        with self._lock:
            self._sources.pop(handle, None)

    def describe(self) -> Iterable[Metric]:
        return []  # names vary with the sources; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            sources = list(self._sources.values())
        families: dict[str, GaugeMetricFamily] = {}
        label_names: dict[str, list[str]] = {}
        for source in sources:
            try:
                rows = list(source())
            except Exception:  # a source of a stopping object: skip it this once
                log.debug("metrics source failed", exc_info=True)
                continue
            for name, help_text, labels, value in rows:
                if name not in families:
                    label_names[name] = sorted(labels)
                    families[name] = GaugeMetricFamily(name, help_text, labels=label_names[name])
                families[name].add_metric([labels[k] for k in label_names[name]], value)
        yield from families.values()


READINGS = Readings()
REGISTRY.register(READINGS)


_POOL_HELP = (
    "Database pool connections of a process: checked out, the pool's size, its overflow, "
    "and the limit of connections it may open."
)


def db_pool_rows(service: str, engine: object, limit: int | None = None) -> Iterable[Readings.Row]:
    """A SQLAlchemy pool's size and connections in use (QueuePool; SQLite's pool
    has no size: only what it reports is shown), and the most it may have open
    (``limit``: pool and overflow, which differ by service)."""
    pool = getattr(getattr(engine, "sync_engine", engine), "pool", None)
    for state, method in (("checked_out", "checkedout"), ("size", "size"), ("overflow", "overflow")):
        if callable(reading := getattr(pool, method, None)):
            yield (
                "mintong_db_pool_connections",
                _POOL_HELP,
                {"service": service, "state": state},
                float(reading()),
            )
    if limit is not None:
        yield (
            "mintong_db_pool_connections",
            _POOL_HELP,
            {"service": service, "state": "limit"},
            float(limit),
        )


def nats_rows(process: str, bus: object) -> Iterable[Readings.Row]:
    """1 while the process's NATS connection is up (``EventBus.connected``)."""
    yield (
        "mintong_nats_connected",
        "1 while the process is connected to NATS, else 0.",
        {"service": process},
        1.0 if getattr(bus, "connected", False) else 0.0,
    )


class Sampler(BackgroundLoop):
    """Runs the probes that cost a query every ``every`` seconds; each probe keeps
    its own last values (read by :data:`READINGS` at scrape time). A probe that
    fails (NATS or the database away) keeps its last values and is tried again."""

    name = "metrics-sampler"

    def __init__(self, every: float) -> None:
        super().__init__()
        self.every = every
        self.probes: list[Callable[[], Awaitable[None]]] = []

    async def sample(self) -> None:
        for probe in self.probes:
            try:
                await probe()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("metrics probe %s failed: %s", getattr(probe, "__qualname__", probe), exc)

    async def _run(self) -> None:
        while self.running:
            await self.sample()
            await self.nap(self.every)


def serve(port: int, host: str) -> WSGIServer | None:
    """Serve ``/metrics`` of this process on ``host:port`` in a thread (port 0: no
    metrics server). A port in use is logged, not fatal: citizens are served
    without metrics rather than not at all (`make up` checks its ports first)."""
    if port == 0:
        return None
    try:
        server, _ = start_http_server(port, addr=host)
    except OSError as exc:
        log.error("metrics: cannot listen on %s:%s (%s); this process serves no metrics", host, port, exc)
        return None
    log.info("metrics on http://%s:%s/metrics", host, port)
    return server


def elapsed(started: float) -> float:
    return time.perf_counter() - started
