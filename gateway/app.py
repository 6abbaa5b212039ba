"""The gateway application factory.

How a route declares its problems for the OpenAPI document: see gateway/problems.py."""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, params
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from starlette.routing import BaseRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway import pages, privacy, problems
from gateway.access_log import AccessLog
from gateway.clients import Clients
from gateway.config import GatewaySettings
from gateway.deps import CHANNEL_DESCRIPTION, CHANNELS, Call, ChannelRoute, KnownQueryRoute
from gateway.hall_feed import QueueFeed
from gateway.middleware import AdmissionLimit, BodyLimit, RequestTelemetry
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


def create_app(
    settings: GatewaySettings, *, clock: Clock = utc_now, access_log: AccessLog | None = None
) -> FastAPI:
    """``clock``: the time tokens' expiry is checked against (tests move it);
    ``access_log``: where each request's access-log line goes (``python -m gateway``
    gives it in place of uvicorn's, decision 107; none in tests)."""
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

        async def queue_snapshot(office_id: str) -> str:
            call = Call(str(uuid.uuid4()), context.ANONYMOUS, settings.grpc_timeout)
            return (await hall.read_queue(app.state.clients, call, office_id)).model_dump_json()

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
        # The server span is the gateway's own (RequestTelemetry, decision 81):
        # FastAPI's would be a second one per request, with the query's values in it.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # The routes the app is made with: the API document, Swagger UI, ReDoc and their assets.
    documentation = list(app.router.routes)
    # Every route refuses query parameters it does not take.
    app.router.route_class = KnownQueryRoute
    app.state.grpc_timeout = settings.grpc_timeout
    app.state.receipt_secret = receipt_secret.encode()
    problems.install(app)
    # The client address (the per-address code limit) from X-Forwarded-For only when
    # the peer is a configured proxy: uvicorn's own handling is switched off where the
    # gateway is served (it trusts 127.0.0.1 by default), so this setting decides.
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    privacy.redact_access_log()

    # Added innermost first: the admission limit inside the body limit, both inside
    # the request's telemetry, so that every answer, a 413 or a 503 too, is counted,
    # traced and carries its request and trace ids.
    app.add_middleware(AdmissionLimit, limit=settings.max_in_flight, wait=settings.admission_wait)
    # Outside the admission limit: an oversized body never takes a turn.
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        limits={"/v1/admin/catalogue": admin.MAX_CATALOGUE_BYTES, "/v1/admin/residents/import": IMPORT_BYTES},
        patterns=[(preapplications.UPLOAD_PATH, settings.attachment_max_bytes)],
    )
    app.add_middleware(RequestTelemetry, access_log=access_log)

    _include(app, health.router)
    if settings.metrics_port("gateway") == settings.http_port:
        # Asked for on the HTTP port itself (a deployment whose scraper only reaches
        # that port): then /metrics is a route, outside /v1 and the API document.
        app.add_api_route("/metrics", health.metrics, include_in_schema=False)
    # In the order a request's path is tried against them (and the API document
    # lists them): a citizen's slot list and booking first, the requests that come
    # by the thousand. No path of one router is a path of another (each begins with
    # its own words), so the order decides nothing else.
    v1 = [
        catalogue.router,
        bookings.router,
        admin.router,
        policies.router,
        # Production serves no sandbox route: what a sandbox recorded (one-time
        # codes too) is for developers, never readable where citizens are real.
        *([notify.sandbox] if settings.env != "prod" else []),
        identity.router,
        notify.preferences,
        identity.admin,
        channels.router,
        channels.face,
        staff.router,
        staff.admin,
        bookings.staff_router,
        preapplications.router,
        preapplications.staff_router,
        hall.router,
        hall.staff_router,
        cards.router,
        cards.staff_router,
    ]
    for router in v1:
        _include(app, router, prefix="/v1", route_class=ChannelRoute)
    # Providers' callbacks come from no citizen channel: they are signed instead.
    _include(app, notify.providers, prefix="/v1")
    _include(app, cards.callbacks, prefix="/v1")
    _after_the_api(app, documentation)
    # The web pages last: every route above wins over a file of the same path.
    app.mount("/", pages.Pages(), name="pages")
    _document_problems(app)
    return app


def _include(
    app: FastAPI,
    router: APIRouter,
    *,
    prefix: str = "",
    dependencies: Sequence[params.Depends] = (),
    route_class: type[APIRoute] = KnownQueryRoute,
) -> None:
    """``app.include_router(router, prefix=..., dependencies=...)``, its routes made the
    app's own routes (decision 74). FastAPI keeps an included router as a branch it
    walks on every request, matching it twice at each level and recounting every
    router's version on the way: with twenty routers behind ``/v1`` that walk cost
    more than the rest of a refused booking. Each route is declared again as it was
    declared (every option ``add_api_route`` takes is the route's attribute of the
    same name), so the routes, their dependencies and the API document are the same.
    ``route_class``: :class:`ChannelRoute` for the routes whose requests name their
    channel."""
    if router.on_startup or router.on_shutdown:
        raise TypeError(f"{router!r}: start-up and shut-down belong in the app's lifespan")
    options = _route_options()
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r}: only API routes are included here")
        app.router.add_api_route(
            prefix + route.path,
            route.endpoint,
            dependencies=[*dependencies, *route.dependencies],
            route_class_override=route_class,
            **{name: getattr(route, name) for name in options},
        )


@functools.cache
def _route_options() -> tuple[str, ...]:
    """The options of ``APIRouter.add_api_route`` that a route keeps as attributes
    (read from its signature once, not for each router included)."""
    taken = inspect.signature(APIRouter.add_api_route).parameters
    return tuple(
        name
        for name in taken
        if name not in ("self", "path", "endpoint", "dependencies", "route_class_override")
    )


def _after_the_api(app: FastAPI, documentation: Sequence[BaseRoute]) -> None:
    """The documentation's routes moved behind the API's. FastAPI tries a request's
    path against every route in order, and the routes the app was made with came
    first: a booking's path was tried against five of them before its own (about 2 µs
    each, decision 134). None of their paths is an API path, so no request finds
    another route; the API document is unchanged (they are not in it)."""
    moved = {id(route) for route in documentation}
    app.router.routes[:] = [route for route in app.router.routes if id(route) not in moved] + [*documentation]


def _document_problems(app: FastAPI) -> None:
    """The OpenAPI document with every operation's problem answers (problems.document)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = problems.document(_channel_header(_hoist_defs(document), app.routes))
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


def _channel_header(document: dict[str, Any], routes: Sequence[Any]) -> dict[str, Any]:
    """X-Mintong-Channel as the gateway takes it: required, one of three values, on
    every route that checks it (:class:`ChannelRoute`, not a dependency: decision
    96) and wherever a route's own ``Channel`` parameter names it (the dependency
    reads it as optional only to answer ``invalid_channel`` itself)."""
    paths = document.get("paths", {})
    for route in routes:
        if not (isinstance(route, ChannelRoute) and route.include_in_schema):
            continue
        for method in route.methods or ():
            parameters = paths[route.path_format][method.lower()].setdefault("parameters", [])
            if not any(_is_channel(p) for p in parameters):
                # Where a dependency of the route's would have it: after the path, the
                # query and the route's own headers.
                # (Accept-Language counts as a dependency's, where a route takes it
                # itself: gateway.language.answer_in, decision 112.)
                own = {f.alias for f in route.dependant.header_params} - {"accept-language"}
                at = next(
                    (i for i, p in enumerate(parameters) if p["in"] == "header" and p["name"] not in own),
                    None,
                )
                header = {"name": "x-mintong-channel", "in": "header", "required": True, "schema": {}}
                header["description"] = CHANNEL_DESCRIPTION
                parameters.insert(len(parameters) if at is None else at, header)
    for operations in paths.values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if _is_channel(parameter):
                    parameter["required"] = True
                    parameter["schema"] = {"type": "string", "enum": list(CHANNELS)}
    return document


def _is_channel(parameter: dict[str, Any]) -> bool:
    return parameter["in"] == "header" and parameter["name"].lower() == "x-mintong-channel"
