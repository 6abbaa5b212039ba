"""The gateway application factory."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway import privacy, problems
from gateway.clients import Clients
from gateway.config import GatewaySettings
from gateway.deps import channel
from gateway.routes import admin, bookings, catalogue, channels, health, identity, notify, staff
from services.runtime import telemetry
from services.runtime.events import EventBus

DESCRIPTION = """The one HTTP API of mintong for the bureau's APP, WeChat official account
and web platform. Every `/v1` request names its channel in `X-Mintong-Channel`.
Errors are `application/problem+json` (RFC 9457) with a machine-readable `code`
and the `field` at fault."""


def create_app(settings: GatewaySettings) -> FastAPI:
    receipt_secret = settings.ensure_secrets()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clients = Clients(settings)
        # The gateway publishes nothing: it connects for readiness and leaves the
        # streams to the services that own them.
        app.state.bus = EventBus(settings.nats_url, "mintong-gateway", streams=[])
        await app.state.bus.start()
        try:
            yield
        finally:
            await app.state.clients.close()
            await app.state.bus.close()
            telemetry.flush()

    app = FastAPI(title="mintong gateway", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.grpc_timeout = settings.grpc_timeout
    app.state.receipt_secret = receipt_secret.encode()
    problems.install(app)
    # The client address (the per-address code limit) from X-Forwarded-For only when
    # the peer is a configured proxy: uvicorn's own handling is switched off where the
    # gateway is served (it trusts 127.0.0.1 by default), so this setting decides.
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    privacy.redact_access_log()

    @app.middleware("http")
    async def _request_id(request: Request, call_next) -> Response:
        supplied = request.headers.get("x-request-id", "")
        request.state.request_id = supplied if 0 < len(supplied) <= 128 else str(uuid.uuid4())
        # The request id on the span, and the trace id in the answer: a citizen's
        # report or a channel's log leads an SRE straight to the trace.
        span = trace.get_current_span()
        span.set_attribute("mintong.request_id", request.state.request_id)
        response: Response = await call_next(request)
        response.headers["X-Request-Id"] = request.state.request_id
        if span.get_span_context().is_valid:
            response.headers["X-Trace-Id"] = f"{span.get_span_context().trace_id:032x}"
        return response

    app.include_router(health.router)
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(channel)])
    v1.include_router(catalogue.router)
    v1.include_router(admin.router)
    v1.include_router(notify.router)
    v1.include_router(identity.router)
    v1.include_router(identity.admin)
    v1.include_router(channels.router)
    v1.include_router(channels.face)
    v1.include_router(staff.router)
    v1.include_router(staff.admin)
    v1.include_router(bookings.router)
    v1.include_router(bookings.staff_router)
    app.include_router(v1)
    # Providers' callbacks come from no citizen channel: they are signed instead.
    app.include_router(notify.providers, prefix="/v1")
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="healthz,readyz", server_request_hook=privacy.redact_span_url
    )
    return app
