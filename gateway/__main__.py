"""``python -m gateway``: serve the HTTP gateway until SIGTERM/SIGINT.
``python -m gateway openapi``: print the OpenAPI document (docs/openapi.json)."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys

import uvicorn
from pydantic import SecretStr
from uvicorn.main import STARTUP_FAILURE

from gateway.access_log import AccessLog
from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.http_server import OneWriteHttpToolsProtocol
from services.runtime import metrics
from services.runtime.lifecycle import configure_logging, freeze_what_is_built, load_settings, supervise
from services.runtime.telemetry import setup_tracing


def openapi() -> str:
    """The OpenAPI document, from settings that need no environment."""
    app = create_app(GatewaySettings(receipt_secret=SecretStr("not-used-for-documents")))
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """The HTTP port, bound with SO_REUSEPORT: the gateway's workers each bind their
    own, and the kernel spreads new connections over them (decision 75)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def main() -> None:
    if sys.argv[1:] == ["openapi"]:
        sys.stdout.write(openapi())
        return
    settings = load_settings(GatewaySettings)
    configure_logging(settings.log_level)
    # No log format of the gateway's names the caller's file and line, the thread or
    # the process: logging need not look them up for every record (the access log
    # writes one per request; the logging HOWTO's "Optimization").
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    if settings.gateway_workers > 1 and settings.worker_index is None:
        print(
            f"mintong gateway on http://{settings.http_host}:{settings.http_port} "
            f"({settings.gateway_workers} workers; docs at /docs)",
            flush=True,
        )
        sys.exit(supervise("gateway", settings.gateway_workers))
    setup_tracing("gateway", settings.data_dir)
    # The access log written by the gateway's request telemetry, the same lines where
    # uvicorn wrote them, at the level uvicorn wrote them (decision 107).
    access = settings.log_level.upper() in ("TRACE", "DEBUG", "INFO")
    app = create_app(settings, access_log=AccessLog(sys.stdout) if access else None)
    freeze_what_is_built()
    # On a port of its own, not the public one: what the platform measures is for
    # the SREs' Prometheus, not for whoever reaches the gateway.
    # (Unless it is the HTTP port itself: create_app then serves /metrics as a route.)
    if settings.metrics_port("gateway") != settings.http_port:
        metrics.serve(settings.metrics_port("gateway", settings.worker_index or 0), settings.http_host)
    if settings.worker_index is None:
        print(
            f"mintong gateway on http://{settings.http_host}:{settings.http_port} (docs at /docs)", flush=True
        )
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=int(settings.shutdown_grace),
        # X-Forwarded-For is the app's business (MINTONG_TRUSTED_PROXIES), not uvicorn's.
        proxy_headers=False,
        # Written by the app's RequestTelemetry instead (decision 107).
        access_log=False,
        # The C parser and libuv's loop, named rather than "auto" so that a missing one
        # fails at start instead of silently costing more CPU per request; an answer
        # written in one piece, not its head and its body apart (decision 119).
        http=OneWriteHttpToolsProtocol,
        loop="uvloop",
        # A crowd is answered (a booking, a refusal or a 503 with Retry-After from the
        # admission limit), not dropped at the door or on a keep-alive race.
        backlog=settings.http_backlog,
        timeout_keep_alive=settings.http_keep_alive,
    )
    # A worker is a whole gateway (its lifespan: clients, edge watchers, the hall
    # board's subscription; its drain and shutdown) on a socket shared by SO_REUSEPORT;
    # uvicorn's own workers would share one socket from a parent that runs none of it.
    sockets = None
    if settings.worker_index is not None:
        try:
            sockets = [reuse_port_socket(settings.http_host, settings.http_port)]
        except OSError as exc:
            sys.exit(f"gateway: cannot listen on {settings.http_host}:{settings.http_port}: {exc.strerror}")
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run does
        server.run(sockets=sockets)
    if not server.started:
        sys.exit(STARTUP_FAILURE)


if __name__ == "__main__":
    main()
