"""The gateway's middlewares, as plain ASGI (Starlette's BaseHTTPMiddleware
costs a task and a stream per request, which showed in the flash-crowd profile)."""

from __future__ import annotations

import asyncio
import collections
import functools
import math
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import Event
from opentelemetry.trace import Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.access_log import AccessLog
from gateway.privacy import redact_query
from gateway.problems import BodyTooLarge, Problem, send_problem
from services.runtime import metrics, telemetry

#: Paths answered with no span: the probes' health checks, every few seconds each.
UNTRACED = frozenset({"/healthz", "/readyz"})
#: Methods a route may be asked with; any other (made up by a caller) is "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestTelemetry:
    """Everything the gateway records of a request, in one pass (decision 81):

    - its id (the caller's ``X-Request-Id`` if sensible, else a new one), in the
      answer with the trace id, so that a citizen's report or a channel's log leads
      an SRE straight to the trace;
    - its server span: the caller's ``traceparent`` continued, named after the route
      template (``POST /v1/bookings``), with the HTTP attributes OpenTelemetry's ASGI
      instrumentation gave it (the query's values redacted, gateway/privacy.py), an
      error when the answer is a 5xx or the request raised; sampling is the tracer
      provider's (decision 63);
    - its metrics: every answer counted and timed by route template, method, status
      and channel (services/runtime/metrics.py), a 413 or 503 of the limits inside
      too, and an exception as the 500 it becomes.

    - its access-log line, when given ``access_log`` (the server's is switched off
      then, decision 107), at the answer's start as uvicorn wrote it.

    Outermost of the gateway's middlewares. One middleware rather than three (the
    instrumentation's, the request id's, the metrics'): each wrapped ``send`` and read
    the headers again, a quarter of a refused booking's CPU (docs/performance.md)."""

    def __init__(self, app: ASGIApp, access_log: AccessLog | None = None) -> None:
        self.app = app
        self.access_log = access_log
        # The installed provider's tracer (none installed: no spans).
        self.tracer = telemetry.CurrentTracer("gateway")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        supplied, named = b"", b""
        carrier: dict[str, str] = {}
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                supplied = value
            elif key == b"x-mintong-channel":
                named = value
            elif key in _CARRIED:
                carrier[key.decode("latin-1")] = value.decode("latin-1")
        request_id = supplied.decode("latin-1") if 0 < len(supplied) <= 128 else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        method = scope["method"] if scope["method"] in METHODS else "other"
        # A made-up method names no span either (as OpenTelemetry's instrumentation).
        named_method = method if method != "other" else "HTTP"
        tracer = self.tracer()
        begun = None
        token = None
        span_started = 0
        ids = [(b"x-request-id", request_id.encode("latin-1"))]
        if scope["path"] not in UNTRACED:
            # No trace context sent (most requests): the propagators would find none
            # and give an empty context, at 2 % of a refusal's CPU (decision 138).
            parent = propagate.extract(carrier) if carrier else _NO_PARENT
            begun = telemetry.begin(tracer, parent, named_method, trace.SpanKind.SERVER)
            if begun is not None:
                # The span is made when the request has ended (decision 128): meanwhile
                # only its context is current, the parent of the request's calls.
                span_started = time.time_ns()
                token = otel_context.attach(
                    trace.set_span_in_context(trace.NonRecordingSpan(begun[0]), parent)
                )
                ids.append((b"x-trace-id", f"{begun[0].trace_id:032x}".encode()))
        status = 500
        answered = False
        failure: Exception | None = None
        access_log = self.access_log

        async def send_with_ids(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                message["headers"] = [*message.get("headers", ()), *ids]
                if access_log is not None:
                    access_log.line(scope, status)
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        except Exception as exc:  # (a cancelled request is no error of the gateway's)
            failure = exc
            if access_log is not None and not answered:
                access_log.line(scope, 500)  # the server answers it so
            raise
        finally:
            template = _template(scope)
            if begun is not None and token is not None:
                otel_context.detach(token)
                # The request's attributes at its end, with its answer's, in one
                # dict: a client turned away by the admission limit (a crowd's first
                # wave, by the thousand) gets the few that say who was turned away
                # and why, not the fourteen that describe a request served (decision
                # 126).
                events: tuple[Event, ...] = ()
                if scope["state"].get(TURNED_AWAY):
                    attributes = _turned_away_attributes(scope, request_id)
                    span_status = _OVERLOADED
                else:
                    attributes = _request_attributes(scope, request_id)
                    if failure is not None:
                        events = (telemetry.exception_event(failure),)
                        span_status = Status(StatusCode.ERROR, f"{type(failure).__name__}: {failure}")
                    else:
                        span_status = _FAILED if status >= 500 else telemetry.UNSET
                name = named_method
                if template is not None:
                    name = f"{named_method} {template}"
                    attributes["http.route"] = template
                attributes["http.status_code"] = status
                context, parent_context, sampled = begun
                telemetry.hand_ended(
                    tracer,
                    context,
                    parent_context,
                    name,
                    trace.SpanKind.SERVER,
                    {**sampled, **attributes} if sampled else attributes,
                    span_started,
                    time.time_ns(),
                    span_status,
                    events,
                )
            label = template if template is not None else "pages" if status < 400 else "other"
            _timer(label, method).observe(time.perf_counter() - started)
            _counter(label, method, status, metrics.channel_label(named.decode("latin-1"))).inc()


# Each label set's child of the two families, found once (prometheus-client's
# ``labels`` checks and locks at every call): the label values are bounded, route
# templates, methods, statuses and channels.
@functools.cache
def _timer(route: str, method: str) -> Any:
    return metrics.HTTP_SECONDS.labels(route, method)


@functools.cache
def _counter(route: str, method: str, status: int, channel: str) -> Any:
    return metrics.HTTP_REQUESTS.labels(route, method, str(status), channel)


_OVERLOADED = Status(StatusCode.ERROR, "overloaded")
_FAILED = Status(StatusCode.ERROR)

#: The headers the trace context propagators read (W3C trace context and baggage).
_CARRIED = frozenset({b"traceparent", b"tracestate", b"baggage"})
#: What the propagators extract from a request carrying none of them: a new trace.
_NO_PARENT = otel_context.Context()


def _request_attributes(scope: Scope, request_id: str) -> dict[str, str | int]:
    """The server span's request attributes, as OpenTelemetry's ASGI instrumentation
    names them (the semantic conventions the trace files and traceview read)."""
    headers = {k: v for k, v in scope["headers"] if k in (b"host", b"user-agent")}
    scheme = scope.get("scheme", "http")
    path: str = scope["path"]
    attributes: dict[str, str | int] = {"http.scheme": scheme}
    if server := scope.get("server"):
        host, port = server
        attributes["http.host"] = f"{host}:{port}" if port is not None else host
        if port is not None:
            attributes["net.host.port"] = port
    if flavor := scope.get("http_version"):
        attributes["http.flavor"] = flavor
    attributes["http.target"] = path
    authority = headers[b"host"].decode("latin-1") if b"host" in headers else attributes.get("http.host")
    url = f"{scheme}://{authority}{scope.get('root_path', '')}{path}"
    if query := scope.get("query_string"):
        url += "?" + redact_query(query.decode("latin-1"))
    attributes["http.url"] = url
    attributes["http.method"] = scope["method"]
    if b"host" in headers:
        attributes["http.server_name"] = headers[b"host"].decode("latin-1")
    if b"user-agent" in headers:
        attributes["http.user_agent"] = headers[b"user-agent"].decode("latin-1")
    if client := scope.get("client"):
        attributes["net.peer.ip"], attributes["net.peer.port"] = client
    attributes["mintong.request_id"] = request_id
    return attributes


def _turned_away_attributes(scope: Scope, request_id: str) -> dict[str, str | int]:
    """The attributes of a request the admission limit turned away: what was asked,
    by whom, and the request id the client was given (its answer's status is added)."""
    attributes: dict[str, str | int] = {"http.method": scope["method"], "http.target": scope["path"]}
    if client := scope.get("client"):
        attributes["net.peer.ip"] = client[0]
    attributes["mintong.request_id"] = request_id
    return attributes


_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _template(scope: Scope) -> str | None:
    """The matched route's path template with its router's prefix (``/v1/bookings/
    {booking_id}``), never the path with its ids: FastAPI names the full template in
    its route context; where it does not, the prefix is what the request's path has
    before the route's own template filled in. None: no route answered."""
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    if (full := getattr(context, "path_format", None)) is not None:
        return str(full)
    route = scope.get("route")
    if (own := getattr(route, "path", None)) is None:
        return None
    params = scope.get("path_params") or {}
    try:
        filled = _PARAM.sub(lambda m: str(params[m.group(1)]), own)
    except KeyError:
        return str(own)
    path: str = scope["path"]
    return path[: len(path) - len(filled)] + own if path.endswith(filled) else str(own)


#: The key in a request's ``scope["state"]`` by which the admission limit tells the
#: request's telemetry that it turned the request away (503 ``overloaded``).
TURNED_AWAY = "turned_away"

#: The path ending of the hall's queue stream (gateway/routes/hall.py), never admitted
#: against the limit.
STREAM = "/queue/stream"


class AdmissionLimit:
    """At most ``limit`` API requests in progress at once, and no more waiting for a
    turn than the platform serves in ``wait`` seconds; any other request is answered
    503 ``overloaded`` at once, with a Retry-After of its own (decisions 117, 121).

    Without it a crowd larger than the platform can serve in the gRPC timeout is
    all admitted, every request waits behind all the others, and most end as 504s
    after work that is then thrown away. With it, the admitted ones are served at
    full speed and the others learn immediately when to try again. Health checks
    are never held back.

    How many may wait follows the rate at which turns end while requests wait for
    them (what the platform gets through when it has more than it can do), so that a
    waiting request gets its turn within ``wait``; one that does not (the rate fell)
    is answered 503 then. Telling everyone turned away to come back after the same
    second brought the crowd back together, to be turned away again: refusals were
    three quarters of a flash crowd's answers and as much of the gateway's CPU as its
    bookings. So the clients turned away are told to come back over the seconds
    ahead, as many in each second as the platform serves and half again
    (:class:`ReturnPlan`)."""

    #: The longest Retry-After: a rate measured low must not send a crowd away for minutes.
    MAX_RETRY_AFTER = 30
    #: Clients expected back in a second, per turn the platform serves in one: a few
    #: more than it serves, so that it does not idle while the crowd waits out its
    #: Retry-After; the ones too many find the queue full and are told again.
    RETURNS_PER_SERVED = 1.5
    #: A pause longer than this between turns ended under load starts a new measure.
    RATE_GAP = 1.0

    def __init__(
        self, app: ASGIApp, *, limit: int, wait: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.limit = limit
        self.wait = wait
        self.clock = clock
        self._slots = asyncio.Semaphore(limit)
        self._waiting = 0
        #: When the last turns ended while requests waited (the platform saturated).
        self._ended: collections.deque[float] = collections.deque(maxlen=max(limit, 8))
        self._returns = ReturnPlan(self.MAX_RETRY_AFTER)

    def rate(self) -> float:
        """Turns a second the platform gets through when saturated, as last measured;
        until measured, ``limit`` per ``wait`` (at least per 0.1 s)."""
        ended = self._ended
        if len(ended) >= 8 and (span := ended[-1] - ended[0]) > 0:
            return (len(ended) - 1) / span
        return self.limit / max(self.wait, 0.1)

    def retry_after(self, now: float) -> int:
        """Seconds a client turned away now is told to wait: the first that has room,
        after the requests waiting now have had their turns."""
        rate = self.rate()
        return self._returns.place(now, self.RETURNS_PER_SERVED * rate, self._waiting / rate)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A display board's stream stays open all day: it would hold a turn for good.
        if scope["type"] != "http" or not scope["path"].startswith("/v1/") or scope["path"].endswith(STREAM):
            await self.app(scope, receive, send)
            return
        if self._slots.locked():
            # No turn free (or others wait for one first): wait for one if it can
            # come within ``wait``, at most that long. (asyncio.timeout, not
            # wait_for: wait_for runs the wait as a task of its own.)
            admitted = False
            if self._waiting < self.rate() * self.wait:
                self._waiting += 1
                try:
                    async with asyncio.timeout(self.wait):
                        await self._slots.acquire()
                    admitted = True
                except TimeoutError:
                    pass
                finally:
                    self._waiting -= 1
            if not admitted:
                await self._turn_away(scope, receive, send)
                return
        else:
            # A turn is free: taken at once, without arming a timer that would be
            # cancelled straight away (a twentieth of a refusal's CPU).
            await self._slots.acquire()
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()
            if self._waiting:
                now = self.clock()
                if self._ended and now - self._ended[-1] > self.RATE_GAP:
                    self._ended.clear()
                self._ended.append(now)

    async def _turn_away(self, scope: Scope, receive: Receive, send: Send) -> None:
        retry_after = self.retry_after(self.clock())
        scope.setdefault("state", {})[TURNED_AWAY] = True
        await send_problem(_busy(retry_after), scope, send)


@functools.cache
def _busy(retry_after: int) -> Problem:
    """The 503 of a client told ``retry_after`` seconds: thirty at most, made once."""
    return Problem(
        503,
        "overloaded",
        "Too many requests are being served right now; try again in a moment.",
        headers={"Retry-After": str(retry_after)},
    )


class ReturnPlan:
    """The clients turned away, counted by the second they are expected back, so
    that each is told a Retry-After whose second has room (decision 121).

    A client told ``k`` seconds comes back between ``k`` and ``2k`` seconds later
    (a careful client jitters its wait so; bench/flash_crowd.py's crowd waits 1–2×
    Retry-After), so it counts as ``1/k`` of a return in each of those ``k`` seconds. Each client gets
    the smallest ``k`` (at least ``after``, at most ``longest``) for which none of
    its seconds would go over ``per_second``. The first crowd fills the seconds in
    doubling steps (told 1, 2, 4, 8 … s, each step as many returns a second as the
    others). Handing out turns at a fixed multiple of the rate instead left the
    platform idle (a turn at ``t`` told as ``ceil(t)`` comes back over ``[t, 2t]``:
    the returns came at 0.7 of the turns handed) or refused most returns again (at
    four times, 2.8 returns per turn served)."""

    def __init__(self, longest: int) -> None:
        self.longest = longest
        #: Expected returns in each whole second of the clock from ``_start`` on.
        self._due: list[float] = []
        self._start = 0
        #: The last ``k`` chosen in this second and the ``per_second`` it was chosen
        #: for: the seconds only fill up meanwhile, so no smaller ``k`` has room unless
        #: ``per_second`` rose (a crowd's refusals do not search from 1 each time).
        self._last = (0, 0.0)

    def place(self, now: float, per_second: float, after: float = 0.0) -> int:
        """Seconds to tell a client turned away ``now``, counted in the plan."""
        second = math.floor(now)
        if second != self._start:
            del self._due[: max(0, second - self._start)]
            self._start, self._last = second, (0, 0.0)
        due = self._due
        if len(due) < 2 * self.longest:
            due.extend([0.0] * (2 * self.longest - len(due)))
        first = min(self.longest, max(1, math.ceil(after)))
        last, last_per_second = self._last
        if per_second <= last_per_second:
            first = max(first, last)
        chosen = self.longest
        for k in range(first, self.longest + 1):
            if max(due[k : 2 * k]) + 1 / k <= per_second:
                chosen = k
                break
        share = 1 / chosen
        for i in range(chosen, 2 * chosen):
            due[i] += share
        self._last = (chosen, per_second)
        return chosen


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
        if declared is not None and declared.isdigit():
            if int(declared) > limit:
                await send_problem(BodyTooLarge(limit).problem(), scope, send)
                return
            # Within the limit: the server's HTTP parser ends the body where
            # Content-Length says (uvicorn's httptools and h11 alike; what follows is
            # the connection's next request), so there is nothing to count. Most
            # requests declare their length: no wrapped ``receive`` for them.
            await self.app(scope, receive, send)
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
