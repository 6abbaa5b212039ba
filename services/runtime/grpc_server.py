"""The gRPC aio server every service runs: health checking, reflection, request
context and error mapping, and a graceful stop.

``start_server`` returns ``(server, port, health)`` so tests bind port 0.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, cast
from urllib.parse import unquote

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

from mintong.common.v1 import common_pb2
from services.runtime import context, metrics, telemetry
from services.runtime.db import lost_connection
from services.runtime.errors import Kind, ProblemError

log = logging.getLogger(__name__)

GRPC_CODES: dict[Kind, int] = {
    Kind.INVALID: code_pb2.INVALID_ARGUMENT,
    Kind.NOT_FOUND: code_pb2.NOT_FOUND,
    Kind.CONFLICT: code_pb2.FAILED_PRECONDITION,
    Kind.UNPROCESSABLE: code_pb2.FAILED_PRECONDITION,
    Kind.UNAUTHENTICATED: code_pb2.UNAUTHENTICATED,
    Kind.FORBIDDEN: code_pb2.PERMISSION_DENIED,
    Kind.TOO_MANY: code_pb2.RESOURCE_EXHAUSTED,
    Kind.UNAVAILABLE: code_pb2.UNAVAILABLE,
}


class PortInUse(RuntimeError):
    pass


def problem_proto(error: ProblemError) -> common_pb2.Problem:
    """The problem as a ``mintong.common.v1.Problem`` (a status's detail, or one
    refused item's answer in a batch)."""
    problem = common_pb2.Problem(
        code=error.code,
        title=error.title,
        detail=error.detail,
        status=error.kind.http_status,
        retry_after_seconds=error.retry_after or 0,
    )
    if error.field:
        problem.field_violations.add(field=error.field, description=error.detail)
    return problem


def problem_status(error: ProblemError) -> grpc.Status:
    """A gRPC status carrying the problem as a ``mintong.common.v1.Problem`` detail."""
    problem = problem_proto(error)
    detail = any_pb2.Any()
    detail.Pack(problem)
    status = status_pb2.Status(code=GRPC_CODES[error.kind], message=error.detail, details=[detail])
    return rpc_status.to_status(status)


#: gRPC status names by code number, for the metrics' ``code`` label.
_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


def _code_of(ctx: grpc.aio.ServicerContext, default: str) -> str:
    """The status a handler ended with through ``ctx.abort`` or ``set_code``."""
    try:
        code = ctx.code()
    except Exception:
        return default
    if isinstance(code, grpc.StatusCode):
        return code.name
    return _CODE_NAMES.get(code, default) if isinstance(code, int) else default


#: The codes a server span is in error for, as OpenTelemetry's gRPC instrumentation
#: (and the semantic conventions) have it: the server's failures, not the caller's.
_SERVER_ERRORS = frozenset(
    {"UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"}
)
_CODE_NUMBERS = {code.name: code.value[0] for code in grpc.StatusCode}


class CallContext:
    """What every call of a service goes through (decisions 105, 125): its server span,
    a child of the caller's trace context read from the metadata, named by the method,
    with the attributes OpenTelemetry's gRPC instrumentation gave it (``rpc.system``,
    ``rpc.service``, ``rpc.method``, ``rpc.grpc.status_code``, ``rpc.user_agent``,
    ``net.peer.*``) and in error for a server failure; the request id and caller
    from metadata into context variables; a :class:`ProblemError` raised by a handler
    turned into a rich status; and each call counted and timed by method and status
    (services/runtime/metrics.py). Health checks get no span (``traced``).

    Not a grpc.aio interceptor: each method handler is wrapped once, when it is
    registered (:class:`_Registrar`), so that a call costs no awaited interceptor
    pipeline, no handler built again, no attributes or metric children looked up
    again; grpc.aio finds the wrapped handler as it would the servicer's."""

    def __init__(self, traced: Callable[[Any], bool] = telemetry.not_health_check) -> None:
        self._traced = traced
        # The installed provider's tracer, looked up again only when the provider
        # changes (none installed: no span).
        self._tracer = telemetry.CurrentTracer("mintong.grpc")

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """``handler`` of ``method`` (``/<package>.<Service>/<Method>``) wrapped.
        Unary calls, and client-streaming ones (an upload in pieces); the
        server-streaming kinds are not used (reflection's), and are left as they are."""
        if handler.unary_unary is not None:
            inner, make = handler.unary_unary, grpc.unary_unary_rpc_method_handler
        elif handler.stream_unary is not None:
            inner, make = handler.stream_unary, grpc.stream_unary_rpc_method_handler
        else:
            return handler
        traced = self._traced(_Details(method))
        tracer = self._tracer
        calls = _Calls(method)
        # The same for every call of the method: copied into each span's attributes.
        method_attributes = telemetry.rpc_attributes(method)

        async def behaviour(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
            metadata = dict(ctx.invocation_metadata() or ())
            tokens = (
                context.request_id.set(metadata.get(context.REQUEST_ID_KEY, "")),
                context.caller.set(context.Caller.parse(metadata.get(context.CALLER_KEY, ""))),
            )
            begun = None
            attached = None
            span_started = 0
            sdk = tracer()
            if traced:
                # The span is made when the call has ended (decision 132, as the
                # gateway's are, decision 128): meanwhile only its context is current,
                # the parent of what the handler does (its statements' spans, its
                # events' rows).
                parent = propagate.extract(metadata)
                begun = telemetry.begin(sdk, parent, method, trace.SpanKind.SERVER)
                if begun is not None:
                    span_started = time.time_ns()
                    parent = trace.set_span_in_context(trace.NonRecordingSpan(begun[0]), parent)
                # Without a span (tracing off), the caller's context is carried on.
                attached = otel_context.attach(parent)
            started = time.perf_counter()
            code = "OK"
            failure: Exception | None = None
            try:
                return await inner(request, ctx)
            except ProblemError as error:
                status = problem_status(error)
                code = _CODE_NAMES.get(GRPC_CODES[error.kind], "UNKNOWN")
                await ctx.abort(status.code, status.details, status.trailing_metadata)
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            except Exception as error:
                if not lost_connection(error):
                    code = _code_of(ctx, "UNKNOWN")
                    if not isinstance(error, grpc.aio.AbortError):
                        # An abort is its status code; anything else, the error itself.
                        failure = error
                    raise
                # The database went away under the call (restarted, failed over, its
                # connections cut): UNAVAILABLE, which callers retry (the gateway
                # answers 503 service_unavailable), not UNKNOWN (502). The pool
                # replaces the connection for the next call.
                log.warning("%s: the database connection was lost: %s", method, error)
                code = "UNAVAILABLE"
                await ctx.abort(grpc.StatusCode.UNAVAILABLE, "The database connection was lost; try again.")
            except BaseException:
                code = _code_of(ctx, "UNKNOWN")
                raise
            finally:
                calls.record(code, time.perf_counter() - started)
                context.caller.reset(tokens[1])
                context.request_id.reset(tokens[0])
                if attached is not None:
                    otel_context.detach(attached)
                if begun is not None:
                    span_context, parent_context, sampled = begun
                    attributes = _call_attributes(method_attributes, metadata, ctx)
                    span_status = telemetry.UNSET
                    if code != "OK":
                        attributes["rpc.grpc.status_code"] = _CODE_NUMBERS.get(code, 2)
                        if code in _SERVER_ERRORS:
                            span_status = trace.Status(trace.StatusCode.ERROR, f"StatusCode.{code}")
                    telemetry.hand_ended(
                        sdk,
                        span_context,
                        parent_context,
                        method,
                        trace.SpanKind.SERVER,
                        {**sampled, **attributes} if sampled else attributes,
                        span_started,
                        time.time_ns(),
                        span_status,
                        (telemetry.exception_event(failure),) if failure is not None else (),
                    )

        return make(
            behaviour,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class _Details(NamedTuple):
    """A call's details as ``traced`` reads them (``grpc.HandlerCallDetails``), known
    at registration: the method."""

    method: str
    invocation_metadata: tuple[tuple[str, str], ...] = ()


class _Calls:
    """A method's metric children, looked up on its first call (a method never
    called has no series, as before) and kept: ``labels()`` checks and locks on
    every look-up."""

    __slots__ = ("_handled", "_method", "_seconds")

    def __init__(self, method: str) -> None:
        # Only methods a servicer registered are wrapped: a bounded label.
        self._method = method
        self._seconds: Any = None
        self._handled: dict[str, Any] = {}

    def record(self, code: str, seconds: float) -> None:
        if self._seconds is None:
            self._seconds = metrics.GRPC_SECONDS.labels(self._method)
        self._seconds.observe(seconds)
        if (handled := self._handled.get(code)) is None:
            handled = self._handled[code] = metrics.GRPC_HANDLED.labels(self._method, code)
        handled.inc()


class _WrappedGeneric(grpc.GenericRpcHandler):
    """A generic handler (health, reflection, a test's) whose method handlers are
    wrapped on their first call, each kept by its method."""

    def __init__(self, inner: grpc.GenericRpcHandler, calls: CallContext) -> None:
        self._inner = inner
        self._calls = calls
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = self._inner.service(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        if isinstance(method, bytes):  # grpc/grpc#31092: some versions give bytes
            method = method.decode()
        kept = self._wrapped.get(method)
        if kept is None or kept[0] is not handler:
            # Only methods a handler answers get here (None above): bounded.
            kept = self._wrapped[method] = (handler, self._calls.wrap(method, handler))
        return kept[1]


class _Registrar:
    """The server as a service's ``register`` sees it: the generated
    ``add_…Servicer_to_server`` functions add their handlers through it, wrapped by
    :class:`CallContext`; anything else is the server's. It is not a
    ``grpc.aio.Server``: code that picks its behaviour by the server's type
    (reflection's) is given the server itself."""

    def __init__(self, server: grpc.aio.Server, calls: CallContext) -> None:
        self._server = server
        self._calls = calls

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(tuple(_WrappedGeneric(h, self._calls) for h in handlers))

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        self._server.add_registered_method_handlers(
            service_name,
            {
                name: self._calls.wrap(f"/{service_name}/{name}", handler)
                for name, handler in method_handlers.items()
            },
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


def _call_attributes(
    method_attributes: dict[str, Any], metadata: dict[str, Any], ctx: grpc.aio.ServicerContext
) -> dict[str, Any]:
    """A call's server span attributes: the method's, then the caller's agent and address."""
    attributes = dict(method_attributes)
    if (agent := metadata.get("user-agent")) is not None:
        attributes["rpc.user_agent"] = agent
    attributes.update(_peer_attributes(ctx.peer() or ""))
    return attributes


@functools.lru_cache(maxsize=256)
def _peer_attributes(peer: str) -> dict[str, str]:
    """``net.peer.*`` of a peer as gRPC spells it (ipv4:127.0.0.1:57284,
    ipv6:[::1]:57284, unix:…): worked out once per connection, which carries many
    calls (the caller's channel keeps it open). Read only: copied into each span's."""
    attributes: dict[str, str] = {}
    kind, _, address = peer.split(",", 1)[0].partition(":")
    if kind in ("ipv4", "ipv6") and ":" in address:
        ip, port = address.rsplit(":", 1)
        ip = unquote(ip)
        attributes["net.peer.ip"], attributes["net.peer.port"] = ip, port
        if ip in ("[::1]", "127.0.0.1"):
            attributes["net.peer.name"] = "localhost"
    return attributes


async def start_server(
    register: Callable[[grpc.aio.Server], None],
    service_names: Iterable[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    reuse_port: bool = False,
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """Build, bind and start a server; ``register`` adds the service's servicers.
    ``reuse_port``: the port is shared with the service's other workers (the kernel
    spreads connections over them, decision 75)."""
    server = grpc.aio.server(
        # gRPC shares ports by default: a second copy started by mistake would
        # silently split the calls. Only a service's own workers share theirs.
        options=[("grpc.so_reuseport", int(reuse_port))],
    )
    # Health checks are probes, every few seconds: not worth a trace each.
    registrar = cast(grpc.aio.Server, _Registrar(server, CallContext(traced=telemetry.not_health_check)))
    register(registrar)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, registrar)
    names = list(service_names)
    # On the server itself: reflection picks its aio servicer by the server's type, and
    # its one method is bidirectional streaming, which CallContext leaves as it is.
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError as exc:
        raise PortInUse(f"cannot listen on {host}:{port}: is the port already in use?") from exc
    if bound == 0:
        raise PortInUse(f"cannot listen on {host}:{port}: is the port already in use?")
    await server.start()
    for name in ["", *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, bound, health_servicer


async def stop_server(
    server: grpc.aio.Server, health_servicer: health.aio.HealthServicer, *, drain: float, grace: float
) -> None:
    """Tell load balancers first (NOT_SERVING) and keep answering for ``drain``
    seconds, then refuse new calls and give in-flight ones ``grace`` seconds."""
    await health_servicer.enter_graceful_shutdown()
    await asyncio.sleep(drain)
    await server.stop(grace)
