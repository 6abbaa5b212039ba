"""Run an async service until SIGTERM or SIGINT, then stop it gracefully."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import uvloop
from opentelemetry import trace
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from services.runtime import metrics
from services.runtime.config import ServiceSettings
from services.runtime.grpc_server import PortInUse
from services.runtime.host import ServiceHost
from services.runtime.sql_tracing import instrument_sql
from services.runtime.telemetry import setup_tracing

SettingsT = TypeVar("SettingsT", bound=BaseSettings)

log = logging.getLogger(__name__)


def load_settings(cls: type[SettingsT]) -> SettingsT:
    """Settings from the environment, or exit naming what is wrong, never echoing
    values (some are secrets)."""
    try:
        return cls()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        sys.exit(f"bad configuration: {problems}")


class TraceIds(logging.Filter):
    """Names on each line the trace it was written in, sampled or not (an unsampled
    trace is still recorded, so its id is real): an error line leads to its spans,
    and to the answer that carried the same id in ``X-Trace-Id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.trace = f" trace={context.trace_id:032x}" if context.is_valid else ""
        return True


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s%(trace)s: %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(TraceIds())


def supervise(name: str, workers: int) -> int:
    """Run ``workers`` copies of this very command (``python -m ...``), each told its
    index in MINTONG_WORKER_INDEX, until SIGTERM or SIGINT; returns the exit code.

    Each worker is a whole process of the service (its own port binding with
    SO_REUSEPORT, health, drain, grace, NATS connection, pools and background
    loops): a stop reaches each as SIGTERM and each stops itself as it would alone.
    The workers stay in the supervisor's process group, so what signals or kills
    the group (honcho, a container's end) reaches them too. A worker killed by a
    signal (SIGKILL, the OOM killer, a crash) is started again while the others keep
    its port; one that exits with an error code (a port taken, a bad setting, a
    database out of reach at start) stops them all, and the supervisor exits with
    that code: starting it again would fail the same way (decision 75)."""
    command = [sys.executable, *sys.orig_argv[1:]]
    running: dict[int, subprocess.Popen[bytes]] = {}
    stopping = False
    code = 0

    def start(index: int) -> None:
        running[index] = subprocess.Popen(command, env=dict(os.environ, MINTONG_WORKER_INDEX=str(index)))
        log.info("%s worker %d started (pid %d)", name, index, running[index].pid)

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for index in range(workers):
        start(index)
    # A stop ends a worker with 0, or with the signal uvicorn raises again after its
    # graceful shutdown.
    stopped = {0, -signal.SIGTERM, -signal.SIGINT}
    told: set[int] = set()
    while running:
        time.sleep(0.2)
        for index, process in list(running.items()):
            if stopping and process.pid not in told:
                told.add(process.pid)
                process.terminate()
            if (returncode := process.poll()) is None:
                continue
            del running[index]
            if stopping:
                code = code or (0 if returncode in stopped else 1)
            elif returncode > 0:
                log.error("%s worker %d exited with %d: stopping the others", name, index, returncode)
                code = returncode
                stop()
            else:
                log.warning("%s worker %d ended (rc=%d): starting it again", name, index, returncode)
                start(index)
    return code


def freeze_what_is_built() -> None:
    """Moves every object alive now (the modules, the composition root's objects) out
    of the collector's reach: a full collection then walks only what requests make.
    A full collection walking them all took about 160 ms in notify, 0.4 ms of CPU a
    lone message; 0.1 ms once frozen (docs/performance.md, notify delivery)."""
    gc.collect()
    gc.freeze()


def serve(name: str, settings: ServiceSettings, build: Callable[[], ServiceHost]) -> None:
    """A service process: logging and tracing set up, then the host built and run
    until a signal. A port already in use is a one-line message, not a traceback.
    With MINTONG_<SERVICE>_WORKERS above 1, the supervisor of that many such."""
    configure_logging(settings.log_level)
    if settings.workers(name) > 1 and settings.worker_index is None:
        sys.exit(supervise(name, settings.workers(name)))
    if setup_tracing(name, settings.data_dir) is not None:
        instrument_sql()
    host = build()
    freeze_what_is_built()
    metrics.serve(settings.metrics_port(name, settings.worker_index or 0), settings.grpc_host)
    try:
        # libuv's loop: asyncpg, grpc.aio's poller and NATS run on it at a fraction of
        # the pure-Python loop's cost per I/O event.
        uvloop.run(run_until_signalled(host.start, host.stop))
    except PortInUse as exc:
        sys.exit(f"{name}: {exc}")


async def run_until_signalled(
    start: Callable[[], Awaitable[object]], stop: Callable[[], Awaitable[None]]
) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await start()
    try:
        await stopping.wait()
    finally:
        await stop()
