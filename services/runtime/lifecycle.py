"""Run an async service until SIGTERM or SIGINT, then stop it gracefully."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from opentelemetry import trace
import uvloop
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from services.runtime import metrics
from services.runtime.config import ServiceSettings
from services.runtime.grpc_server import PortInUse
from services.runtime.host import ServiceHost
from services.runtime.telemetry import setup_tracing

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


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


def serve(name: str, settings: ServiceSettings, build: Callable[[], ServiceHost]) -> None:
    """A service process: logging and tracing set up, then the host built and run
    until a signal. A port already in use is a one-line message, not a traceback."""
    configure_logging(settings.log_level)
    setup_tracing(name, settings.data_dir)
    host = build()
    metrics.serve(settings.metrics_port(name), settings.grpc_host)
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
