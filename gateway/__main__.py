"""``python -m gateway``: serve the HTTP gateway until SIGTERM/SIGINT.
``python -m gateway openapi``: print the OpenAPI document (docs/openapi.json)."""

from __future__ import annotations

import json
import sys

import uvicorn
from pydantic import SecretStr

from gateway.app import create_app
from gateway.config import GatewaySettings
from services.runtime import metrics
from services.runtime.lifecycle import configure_logging, load_settings
from services.runtime.telemetry import setup_tracing


def openapi() -> str:
    """The OpenAPI document, from settings that need no environment."""
    app = create_app(GatewaySettings(receipt_secret=SecretStr("not-used-for-documents")))
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    if sys.argv[1:] == ["openapi"]:
        sys.stdout.write(openapi())
        return
    settings = load_settings(GatewaySettings)
    configure_logging(settings.log_level)
    setup_tracing("gateway", settings.data_dir)
    app = create_app(settings)
    # On a port of its own, not the public one: what the platform measures is for
    # the SREs' Prometheus, not for whoever reaches the gateway.
    # (Unless it is the HTTP port itself: create_app then serves /metrics as a route.)
    if settings.metrics_port("gateway") != settings.http_port:
        metrics.serve(settings.metrics_port("gateway"), settings.http_host)
    print(f"mintong gateway on http://{settings.http_host}:{settings.http_port} (docs at /docs)", flush=True)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=int(settings.shutdown_grace),
        # X-Forwarded-For is the app's business (MINTONG_TRUSTED_PROXIES), not uvicorn's.
        proxy_headers=False,
        # The C parser and libuv's loop, named rather than "auto" so that a missing one
        # fails at start instead of silently costing more CPU per request.
        http="httptools",
        loop="uvloop",
        # A crowd is answered (a booking, a refusal or a 503 with Retry-After from the
        # admission limit), not dropped at the door or on a keep-alive race.
        backlog=settings.http_backlog,
        timeout_keep_alive=settings.http_keep_alive,
    )


if __name__ == "__main__":
    main()
