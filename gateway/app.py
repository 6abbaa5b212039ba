"""The gateway application factory.

How a route declares its problems for the OpenAPI document: see gateway/problems.py."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway import pages, privacy, problems
from gateway.clients import Clients
from gateway.config import GatewaySettings
from gateway.deps import CHANNELS, Call, channel, known_query
from gateway.hall_feed import QueueFeed
from gateway.middleware import AdmissionLimit, BodyLimit, Metrics, RequestId
from gateway.routes import (
    admin,
    bookings,
    cards,
    catalogue,
    channels,
    hall,
    health,
    identity,
    notify,
    policies,
    preapplications,
    staff,
)
from gateway.routes.identity import IMPORT_BYTES
from gateway.tokens import TokenChecker, TokenKeys
from gateway.vacancy import EdgeVacancy
from services.runtime import context, metrics, telemetry
from services.runtime.clock import Clock, utc_now
from services.runtime.events import EventBus
from services.runtime.revocations import RevocationWatcher
from services.runtime.vacancy_watch import VacancyWatcher

DESCRIPTION = """The one HTTP API of mintong for the bureau's APP, WeChat official account
and web platform. Every `/v1` request names its channel in `X-Mintong-Channel`.
Errors are `application/problem+json` (RFC 9457) with a machine-readable `code`
and the `field` at fault."""


def create_app(settings: GatewaySettings, *, clock: Clock = utc_now) -> FastAPI:
    """``clock``: the time tokens' expiry is checked against (tests move it)."""
    receipt_secret = settings.ensure_secrets()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clients = Clients(settings)
        # The gateway publishes nothing: it connects for readiness, the revocation and
        # vacancy buckets and the halls' queue changes, and leaves the streams to the
        # services that own them.
        app.state.bus = EventBus(settings.nats_url, "mintong-gateway", streams=[])
        revoked = RevocationWatcher(app.state.bus)
        app.state.bus.on_reconnect.append(revoked.restart)
        keys = TokenKeys(
            app.state.clients.identity,
            timeout=settings.grpc_timeout,
            min_interval=settings.token_keys_min_interval,
            every=settings.token_keys_refresh_interval,
        )
        app.state.tokens = TokenChecker(keys, revoked, clock, ready_wait=settings.admission_wait)

        async def queue_snapshot(office_id: str) -> dict[str, Any]:
            call = Call(str(uuid.uuid4()), context.ANONYMOUS, settings.grpc_timeout)
            return (await hall.read_queue(app.state.clients, call, office_id)).model_dump(mode="json")

        # The halls' display boards: one NATS subscription per process (decision 61).
        app.state.queue_feed = QueueFeed(app.state.bus, queue_snapshot)
        app.state.bus.on_reconnect.append(app.state.queue_feed.reconnected)
        vacancy = VacancyWatcher(app.state.bus)
        app.state.bus.on_reconnect.append(vacancy.restart)
        app.state.bus.on_disconnect.append(vacancy.lost)
        app.state.edge = EdgeVacancy(vacancy, enabled=settings.edge_vacancy, list_ttl=settings.slot_list_ttl)
        await app.state.bus.start()
        await revoked.start()
        await keys.start()
        if settings.edge_vacancy:
            await vacancy.start()
        readings = metrics.READINGS.add(lambda: metrics.nats_rows("gateway", app.state.bus))
        await app.state.queue_feed.start()
        try:
            yield
        finally:
            await app.state.queue_feed.stop()
            metrics.READINGS.remove(readings)
            await vacancy.stop()
            await keys.stop()
            await revoked.stop()
            await app.state.clients.close()
            await app.state.bus.close()
            telemetry.flush()

    # Swagger UI and ReDoc from assets the gateway serves itself: the machines
    # that run it may have no internet to reach a CDN.
    app = FastAPIOffline(
        title="mintong gateway",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(known_query)],
    )
    app.state.grpc_timeout = settings.grpc_timeout
    app.state.receipt_secret = receipt_secret.encode()
    problems.install(app)
    # The client address (the per-address code limit) from X-Forwarded-For only when
    # the peer is a configured proxy: uvicorn's own handling is switched off where the
    # gateway is served (it trusts 127.0.0.1 by default), so this setting decides.
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    privacy.redact_access_log()

    # Added innermost first: the admission limit sits inside the request id, both
    # inside the tracing middleware (instrument_app below wraps them all), so every
    # answer, a 503 too, carries its request and trace ids.
    app.add_middleware(AdmissionLimit, limit=settings.max_in_flight, wait=settings.admission_wait)
    # Outside the admission limit: an oversized body never takes a turn.
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        limits={"/v1/admin/catalogue": admin.MAX_CATALOGUE_BYTES, "/v1/admin/residents/import": IMPORT_BYTES},
        patterns=[(preapplications.UPLOAD_PATH, settings.attachment_max_bytes)],
    )
    app.add_middleware(RequestId)
    # Outside the request id and the limits: every answer is counted, theirs too.
    app.add_middleware(Metrics)

    app.include_router(health.router)
    if settings.metrics_port("gateway") == settings.http_port:
        # Asked for on the HTTP port itself (a deployment whose scraper only reaches
        # that port): then /metrics is a route, outside /v1 and the API document.
        app.add_api_route("/metrics", health.metrics, include_in_schema=False)
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(channel)])
    v1.include_router(catalogue.router)
    v1.include_router(admin.router)
    v1.include_router(policies.router)
    if settings.env != "prod":
        # Production serves no sandbox route: what a sandbox recorded (one-time
        # codes too) is for developers, never readable where citizens are real.
        v1.include_router(notify.sandbox)
    v1.include_router(identity.router)
    v1.include_router(notify.preferences)
    v1.include_router(identity.admin)
    v1.include_router(channels.router)
    v1.include_router(channels.face)
    v1.include_router(staff.router)
    v1.include_router(staff.admin)
    v1.include_router(bookings.router)
    v1.include_router(bookings.staff_router)
    v1.include_router(preapplications.router)
    v1.include_router(preapplications.staff_router)
    v1.include_router(hall.router)
    v1.include_router(hall.staff_router)
    v1.include_router(cards.router)
    v1.include_router(cards.staff_router)
    app.include_router(v1)
    # Providers' callbacks come from no citizen channel: they are signed instead.
    app.include_router(notify.providers, prefix="/v1")
    app.include_router(cards.callbacks, prefix="/v1")
    # The web pages last: every route above wins over a file of the same path.
    app.mount("/", pages.Pages(), name="pages")
    _document_problems(app)
    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls="healthz,readyz",
        server_request_hook=privacy.redact_span_url,
        # No ASGI "http send/receive" spans: three more per request to make and
        # export, saying nothing the server span does not (decision 63).
        exclude_spans=["receive", "send"],
    )
    return app


def _document_problems(app: FastAPI) -> None:
    """The OpenAPI document with every operation's problem answers (problems.document)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = problems.document(_channel_header(_hoist_defs(document)))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _hoist_defs(document: dict[str, Any]) -> dict[str, Any]:
    """A request body schema given whole (the catalogue file's) keeps its ``$defs``
    beside the other components, where its references resolve."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                defs = media.get("schema", {}).pop("$defs", None)
                if defs:
                    moved = json.loads(json.dumps(defs).replace('"#/$defs/', '"#/components/schemas/'))
                    components.update(moved)
                    media["schema"] = json.loads(
                        json.dumps(media["schema"]).replace('"#/$defs/', '"#/components/schemas/')
                    )
    return document


def _channel_header(document: dict[str, Any]) -> dict[str, Any]:
    """X-Mintong-Channel as the gateway takes it: required, one of three values (the
    dependency reads it as optional only to answer ``invalid_channel`` itself)."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "header" and parameter["name"].lower() == "x-mintong-channel":
                    parameter["required"] = True
                    parameter["schema"] = {"type": "string", "enum": list(CHANNELS)}
    return document
