"""The gateway's middlewares, as plain ASGI (Starlette's BaseHTTPMiddleware
costs a task and a stream per request, which showed in the flash-crowd profile)."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

from opentelemetry import trace
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.problems import BodyTooLarge, Problem, problem_response
from services.runtime import metrics


class RequestId:
    """The request id (the caller's ``X-Request-Id`` if sensible, else a new one) on
    the request's span and in the answer, with the trace id: a citizen's report or a
    channel's log leads an SRE straight to the trace."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = supplied if 0 < len(supplied) <= 128 else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        span = trace.get_current_span()
        span.set_attribute("mintong.request_id", request_id)
        context = span.get_span_context()

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = request_id
                if context.is_valid:
                    headers["X-Trace-Id"] = f"{context.trace_id:032x}"
            await send(message)

        await self.app(scope, receive, send_with_ids)


_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def route_template(scope: Scope, status: int) -> str:
    """The matched route's path template with its router's prefix (``/v1/bookings/
    {booking_id}``): FastAPI names the full template in its route context; where it
    does not, the prefix is what the request's path has before the route's own
    template filled in. No route: ``pages`` for the web pages' answers, ``other``
    for a refusal (an unknown path, a method no route takes)."""
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    if (full := getattr(context, "path_format", None)) is not None:
        return str(full)
    route = scope.get("route")
    if (own := getattr(route, "path", None)) is None:
        return "pages" if status < 400 else "other"
    params = scope.get("path_params") or {}
    try:
        filled = _PARAM.sub(lambda m: str(params[m.group(1)]), own)
    except KeyError:
        return str(own)
    path: str = scope["path"]
    return path[: len(path) - len(filled)] + own if path.endswith(filled) else str(own)


class Metrics:
    """Counts and times every HTTP answer by route template (``/v1/bookings/{booking_id}``,
    never the path with its ids), method, status and channel
    (services/runtime/metrics.py). Outermost but for tracing: a 413 or a 503 from
    the limits inside is counted too, and an exception as the 500 it becomes."""

    #: Methods a route may be asked with; any other (made up by a caller) is "other".
    METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            template = route_template(scope, status)
            method = scope["method"] if scope["method"] in self.METHODS else "other"
            named = next((v for k, v in scope["headers"] if k == b"x-mintong-channel"), b"")
            channel = metrics.channel_label(named.decode("latin-1"))
            metrics.HTTP_SECONDS.labels(template, method).observe(time.perf_counter() - started)
            metrics.HTTP_REQUESTS.labels(template, method, str(status), channel).inc()


#: The path ending of the hall's queue stream (gateway/routes/hall.py), never admitted
#: against the limit.
STREAM = "/queue/stream"


class AdmissionLimit:
    """At most ``limit`` API requests in progress at once; one that cannot start
    within ``wait`` seconds is answered 503 ``overloaded`` with Retry-After at once.

    Without it a crowd larger than the platform can serve in the gRPC timeout is
    all admitted, every request waits behind all the others, and most end as 504s
    after work that is then thrown away. With it, the admitted ones are served at
    full speed and the others learn immediately when to try again. Health checks
    are never held back."""

    def __init__(self, app: ASGIApp, *, limit: int, wait: float, retry_after: int = 1) -> None:
        self.app = app
        self.wait = wait
        self.retry_after = retry_after
        self._slots = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A display board's stream stays open all day: it would hold a turn for good.
        if scope["type"] != "http" or not scope["path"].startswith("/v1/") or scope["path"].endswith(STREAM):
            await self.app(scope, receive, send)
            return
        try:
            # (asyncio.timeout, not wait_for: wait_for runs the wait as a task of its
            # own, a task and a turn of the event loop per request even when a turn
            # is free.)
            async with asyncio.timeout(self.wait):
                await self._slots.acquire()
        except TimeoutError:
            busy = Problem(
                503,
                "overloaded",
                "Too many requests are being served right now; try again in a moment.",
                headers={"Retry-After": str(self.retry_after)},
            )
            await problem_response(busy, Request(scope))(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()


class BodyLimit:
    """A request body over its limit is refused with 413 ``body_too_large`` before
    it is read: at once when Content-Length says so, and as soon as a chunked body
    has passed the limit while it arrives (the route never sees the rest).

    ``limits`` gives paths that take more (the catalogue file) their own limit,
    ``patterns`` paths with ids in them (a pre-application's documents); every
    other path has ``default``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default: int,
        limits: dict[str, int] | None = None,
        patterns: list[tuple[re.Pattern[str], int]] | None = None,
    ) -> None:
        self.app = app
        self.default = default
        self.limits = limits or {}
        self.patterns = patterns or []

    def limit_of(self, path: str) -> int:
        if (limit := self.limits.get(path)) is not None:
            return limit
        return next((limit for pattern, limit in self.patterns if pattern.match(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["path"])
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await problem_response(BodyTooLarge(limit).problem(), Request(scope))(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException: FastAPI lets it pass while it reads a body,
                    # and the gateway's handler answers it as a problem.
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)
