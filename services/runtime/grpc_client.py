"""gRPC channels from one service (or the gateway) to another: traced, and carrying
the request id and caller of the call being served."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, Generic, TypeVar

import grpc
from opentelemetry import propagate, trace
from opentelemetry.trace import Status, StatusCode

from services.runtime import context, telemetry
from services.runtime.errors import Kind, ProblemError

T = TypeVar("T")


#: A target naming several processes of one service, e.g.
#: ``ipv4:127.0.0.1:50052,127.0.0.1:50062``: its calls are spread over them.
ROUND_ROBIN = [("grpc.lb_policy_name", "round_robin")]


def insecure_channel(target: str, **options: Any) -> grpc.aio.Channel:
    """A channel to ``target``. Several addresses are balanced call by call
    (round_robin, which also steers calls away from a process that went down)
    rather than gRPC's default pick_first, which would send every call to the first
    one while it lives; one address, or a DNS name (Kubernetes' Service), is left to
    the default."""
    channel_options = [*(ROUND_ROBIN if "," in target else []), *options.pop("options", [])]
    return TracedChannel(grpc.aio.insecure_channel(target, options=channel_options, **options))


class TracedChannel(grpc.aio.Channel):
    """A grpc.aio channel whose unary and client-streaming calls carry the request id
    and caller of the call being served (unless the caller set them) and the trace
    context, each in a client span, without grpc.aio's client interceptors (decision
    106): with any interceptor grpc.aio runs every call through its intercepted call,
    an extra task and a chain of callbacks, and OpenTelemetry's interceptor waited on
    the call's code and details again: together with the server's second
    interceptor, a fifth to a quarter of a call's CPU (docs/performance.md,
    *Uncontended booking*, 2026-12-07). The span is
    the one OpenTelemetry's gRPC instrumentation made: named by the method, the
    ``rpc.*`` attributes, in error with the status for any code but OK. Health checks
    get no span (``telemetry.not_health_check``)."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._channel = channel

    def unary_unary(
        self, method: str, request_serializer: Any = None, response_deserializer: Any = None, **kw: Any
    ) -> Any:
        inner = self._channel.unary_unary(method, request_serializer, response_deserializer, **kw)
        return _Call(inner, method)

    def stream_unary(
        self, method: str, request_serializer: Any = None, response_deserializer: Any = None, **kw: Any
    ) -> Any:
        inner = self._channel.stream_unary(method, request_serializer, response_deserializer, **kw)
        return _Call(inner, method)

    # The server-streaming kinds are not used (services/runtime/grpc_server.py): as gRPC makes them.
    def unary_stream(self, *args: Any, **kw: Any) -> Any:
        return self._channel.unary_stream(*args, **kw)

    def stream_stream(self, *args: Any, **kw: Any) -> Any:
        return self._channel.stream_stream(*args, **kw)

    async def __aenter__(self) -> TracedChannel:
        await self._channel.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._channel.__aexit__(*exc_info)

    async def close(self, grace: float | None = None) -> None:
        await self._channel.close(grace)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self._channel.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self._channel.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self._channel.channel_ready()


class _Call:
    """One method's calls: the generated stub's attribute, called as grpc.aio's
    multicallable is (and awaited by every caller: the answer, or AioRpcError)."""

    __slots__ = ("_attributes", "_inner", "_method", "_traced")

    def __init__(self, inner: Any, method: str) -> None:
        self._inner = inner
        self._method = method
        self._traced = telemetry.not_health_check(SimpleNamespace(method=method))
        self._attributes = telemetry.rpc_attributes(method)

    def __call__(self, request: Any, *, metadata: Any = None, **options: Any) -> Any:
        return self._invoke(request, metadata, options)

    async def _invoke(self, request: Any, metadata: Any, options: dict[str, Any]) -> Any:
        sent = list(metadata or ())
        present = {key for key, _ in sent}
        sent += [(k, v) for k, v in context.outgoing_metadata() if k not in present]
        if not self._traced:
            return await self._inner(request, metadata=sent, **options)
        parent = trace.get_current_span().get_span_context()
        tracer = _tracer()
        if (span_context := telemetry.child_context(tracer, parent)) is None:
            return await self._invoke_in_span(tracer, request, sent, options)
        # Within a request's trace (every call of the gateway's routes): the client
        # span is made when the call has ended (decision 128); meanwhile only its
        # context exists, carried in the metadata as the span's would be.
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(trace.NonRecordingSpan(span_context)))
        sent += carrier.items()
        attributes, status = self._attributes, telemetry.UNSET
        started = time.time_ns()
        try:
            return await self._inner(request, metadata=sent, **options)
        except grpc.aio.AioRpcError as error:
            attributes = {**attributes, "rpc.grpc.status_code": error.code().value[0]}
            status = Status(StatusCode.ERROR, f"{error.code().name}: {error.details()}")
            raise
        except BaseException as error:  # cancelled, or the request could not be sent
            status = Status(StatusCode.ERROR, f"{type(error).__name__}: {error}")
            raise
        finally:
            telemetry.hand_ended(
                tracer,
                span_context,
                parent,
                self._method,
                trace.SpanKind.CLIENT,
                attributes,
                started,
                time.time_ns(),
                status,
            )

    async def _invoke_in_span(
        self, tracer: trace.Tracer, request: Any, sent: list[tuple[str, str]], options: dict[str, Any]
    ) -> Any:
        """A call outside any trace (a root, which the sampler decides), or without
        the SDK: the span made by the tracer, live while the call runs."""
        span = tracer.start_span(self._method, kind=trace.SpanKind.CLIENT, attributes=self._attributes)
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        sent += carrier.items()
        try:
            return await self._inner(request, metadata=sent, **options)
        except grpc.aio.AioRpcError as error:
            if span.is_recording():
                span.set_attribute("rpc.grpc.status_code", error.code().value[0])
                span.set_status(trace.StatusCode.ERROR, f"{error.code().name}: {error.details()}")
            raise
        except BaseException as error:  # cancelled, or the request could not be sent
            if span.is_recording():
                span.set_status(trace.StatusCode.ERROR, f"{type(error).__name__}: {error}")
            raise
        finally:
            span.end()


_tracer = telemetry.CurrentTracer("mintong.grpc")


class LazyStub(Generic[T]):
    """A stub made on first use, inside the running event loop (a grpc.aio channel
    made by a composition root, before asyncio.run, would belong to no loop), whose
    failures become a 503 problem naming the service rather than a crash."""

    def __init__(self, service: str, target: str, make: Callable[[grpc.aio.Channel], T]) -> None:
        self.service = service
        self.target = target
        self._make = make
        self._stub: T | None = None

    def get(self) -> T:
        if self._stub is None:
            self._stub = self._make(insecure_channel(self.target))
        return self._stub

    def unavailable(self, error: grpc.aio.AioRpcError) -> ProblemError:
        problem = ProblemError(
            f"{self.service}_unavailable",
            f"The {self.service} service could not answer ({error.code().name}); try again.",
            kind=Kind.UNAVAILABLE,
        )
        problem.retry_after = 5
        return problem
