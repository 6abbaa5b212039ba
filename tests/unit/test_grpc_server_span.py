"""A gRPC call's server span, made around each method handler
(services/runtime/grpc_server.py CallContext, decisions 105, 125): the caller's
trace continued, named by the method, the attributes OpenTelemetry's gRPC
instrumentation gave it, the status code of a refusal without an error, a failure
in error with its exception, the span current while the handler runs, and no span
for a health check. And its client span, made by the services' channel
(services/runtime/grpc_client.py TracedChannel, decision 106): the parent of the
server's, the request id and caller carried, in error for any code but OK; within
a trace made when the call has ended, with its parent's flags (decision 128)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import SpanKind, StatusCode

from services.runtime import context
from services.runtime.errors import Kind, ProblemError
from services.runtime.grpc_client import insecure_channel
from services.runtime.grpc_server import start_server
from services.runtime.telemetry import KeepErrorsAndSlow, RecordUnsampled

TRACE_ID = "0123456789abcdef0123456789abcdef"
PARENT = f"00-{TRACE_ID}-0123456789abcdef-01"


def _register(server: grpc.aio.Server) -> None:
    async def ok(request: bytes, ctx: Any) -> bytes:
        # The server span is current: what the handler does is a child of it.
        with trace.get_tracer("test").start_as_current_span("inside"):
            return request + context.request_id.get().encode()

    async def refused(request: bytes, ctx: Any) -> bytes:
        raise ProblemError("not_here", "Nothing here.", kind=Kind.NOT_FOUND)

    async def broken(request: bytes, ctx: Any) -> bytes:
        raise RuntimeError("out of order")

    handlers = {
        name: grpc.unary_unary_rpc_method_handler(behaviour)
        for name, behaviour in (("Ok", ok), ("Refused", refused), ("Broken", broken))
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("t.v1.Things", handlers),))


async def test_a_call_is_one_server_span_of_the_callers_trace(spans: InMemorySpanExporter) -> None:
    server, port, _ = await start_server(_register, ["t.v1.Things"])
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            metadata = (("traceparent", PARENT), (context.REQUEST_ID_KEY, "req-7"))
            answer = await channel.unary_unary("/t.v1.Things/Ok")(b"hello ", metadata=metadata)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await channel.unary_unary("/t.v1.Things/Refused")(b"", metadata=metadata)
            with pytest.raises(grpc.aio.AioRpcError) as broken:
                await channel.unary_unary("/t.v1.Things/Broken")(b"", metadata=metadata)
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    finally:
        await server.stop(None)

    assert answer == b"hello req-7"
    assert refused.value.code() is grpc.StatusCode.NOT_FOUND
    assert broken.value.code() is grpc.StatusCode.UNKNOWN
    finished = spans.get_finished_spans()
    servers = {s.name: s for s in finished if s.kind is SpanKind.SERVER}
    assert set(servers) == {"/t.v1.Things/Ok", "/t.v1.Things/Refused", "/t.v1.Things/Broken"}  # no health
    ok, not_found, failed = (servers[f"/t.v1.Things/{name}"] for name in ("Ok", "Refused", "Broken"))
    for span in (ok, not_found, failed):
        assert f"{span.context.trace_id:032x}" == TRACE_ID
        assert span.parent is not None and span.parent.is_remote
    ok_attributes, not_found_attributes, failed_attributes = (
        dict(s.attributes or {}) for s in (ok, not_found, failed)
    )
    assert {k: v for k, v in ok_attributes.items() if k != "net.peer.port"} == {
        "rpc.system": "grpc",
        "rpc.grpc.status_code": 0,
        "rpc.method": "Ok",
        "rpc.service": "t.v1.Things",
        "rpc.user_agent": ok_attributes["rpc.user_agent"],
        "net.peer.ip": "127.0.0.1",
        "net.peer.name": "localhost",
    }
    inside = next(s for s in finished if s.name == "inside")
    assert inside.parent is not None and inside.parent.span_id == ok.context.span_id
    assert ok.status.status_code is StatusCode.UNSET
    # A refusal is the caller's: its code, no error, no exception.
    assert not_found_attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert not_found.status.status_code is StatusCode.UNSET and not not_found.events
    # A failure is the server's: in error, with the exception.
    assert failed_attributes["rpc.grpc.status_code"] == grpc.StatusCode.UNKNOWN.value[0]
    assert failed.status.status_code is StatusCode.ERROR
    assert [e.name for e in failed.events] == ["exception"]
    assert dict(failed.events[0].attributes or {})["exception.message"] == "out of order"


async def test_a_call_from_a_services_channel_is_a_client_span_carrying_the_context(
    spans: InMemorySpanExporter,
) -> None:
    server, port, _ = await start_server(_register, ["t.v1.Things"])
    request_id = context.request_id.set("req-9")
    try:
        async with insecure_channel(f"127.0.0.1:{port}") as channel:
            with trace.get_tracer("test").start_as_current_span("request") as request:
                answer = await channel.unary_unary("/t.v1.Things/Ok")(b"hello ")
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await channel.unary_unary("/t.v1.Things/Refused")(b"", timeout=5)
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    finally:
        context.request_id.reset(request_id)
        await server.stop(None)

    assert answer == b"hello req-9"  # the request id went along
    assert refused.value.code() is grpc.StatusCode.NOT_FOUND
    finished = spans.get_finished_spans()
    clients = {s.name: s for s in finished if s.kind is SpanKind.CLIENT}
    servers = {s.name: s for s in finished if s.kind is SpanKind.SERVER}
    assert set(clients) == set(servers) == {"/t.v1.Things/Ok", "/t.v1.Things/Refused"}  # no health
    for name, client in clients.items():
        assert client.parent is not None and client.parent.span_id == request.get_span_context().span_id
        server_parent = servers[name].parent
        assert server_parent is not None and server_parent.span_id == client.context.span_id
    ok, not_found = clients["/t.v1.Things/Ok"], clients["/t.v1.Things/Refused"]
    assert dict(ok.attributes or {}) == {
        "rpc.system": "grpc",
        "rpc.grpc.status_code": 0,
        "rpc.method": "Ok",
        "rpc.service": "t.v1.Things",
    }
    assert ok.status.status_code is StatusCode.UNSET
    assert dict(not_found.attributes or {})["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert not_found.status.status_code is StatusCode.ERROR
    assert not_found.status.description == "NOT_FOUND: Nothing here."


async def test_reflection_lists_the_services() -> None:
    """Reflection answers beside the wrapped handlers (decision 125: it is registered
    on the server itself, so that it picks its aio servicer by the server's type)."""
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    server, port, _ = await start_server(_register, ["t.v1.Things"])
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            answers = [answer async for answer in stub.ServerReflectionInfo(iter([request]))]
    finally:
        await server.stop(None)
    names = {s.name for s in answers[0].list_services_response.service}
    assert {"t.v1.Things", "grpc.health.v1.Health"} <= names


async def test_a_call_outside_any_trace_is_a_root_client_span(spans: InMemorySpanExporter) -> None:
    # Outside a trace (a background loop's call) the sampler decides a new trace: the
    # SDK's own span; inside one the span is made when the call has ended (decision 128).
    server, port, _ = await start_server(_register, ["t.v1.Things"])
    try:
        async with insecure_channel(f"127.0.0.1:{port}") as channel:
            await channel.unary_unary("/t.v1.Things/Ok")(b"alone ")
    finally:
        await server.stop(None)
    finished = spans.get_finished_spans()
    (client,) = [s for s in finished if s.kind is SpanKind.CLIENT]
    (server_span,) = [s for s in finished if s.kind is SpanKind.SERVER]
    assert client.parent is None and client.name == "/t.v1.Things/Ok"
    assert server_span.parent is not None and server_span.parent.span_id == client.context.span_id


async def test_a_client_span_follows_its_unsampled_parent_and_is_exported_when_it_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Made at its end, the client span takes its parent's flags without the sampler:
    # in a trace the sampler left out it is recorded, and exported only in error.
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=RecordUnsampled(ParentBased(ALWAYS_OFF)))
    provider.add_span_processor(KeepErrorsAndSlow(exporter, 60_000))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    server, port, _ = await start_server(_register, ["t.v1.Things"])
    try:
        async with insecure_channel(f"127.0.0.1:{port}") as channel:
            with provider.get_tracer("test").start_as_current_span("request") as request:
                await channel.unary_unary("/t.v1.Things/Ok")(b"quiet ")
                with pytest.raises(grpc.aio.AioRpcError):
                    await channel.unary_unary("/t.v1.Things/Refused")(b"", timeout=5)
    finally:
        await server.stop(None)
    provider.force_flush()
    (refused,) = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT]
    assert refused.name == "/t.v1.Things/Refused" and refused.status.status_code is StatusCode.ERROR
    assert refused.context.trace_id == request.get_span_context().trace_id
    assert refused.parent is not None and refused.parent.span_id == request.get_span_context().span_id
    assert not refused.context.trace_flags.sampled
    assert (refused.instrumentation_scope.name if refused.instrumentation_scope else None) == "mintong.grpc"
