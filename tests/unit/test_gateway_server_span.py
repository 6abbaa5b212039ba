"""The gateway's server span (gateway/middleware.py RequestTelemetry, decision 81):
the caller's trace continued, named after the route template, the HTTP attributes
the trace files and traceview read (the query's values redacted), an error for a
5xx or an exception, the request and trace ids in every answer, and no span for
the probes' health checks. The span is made when the request has ended (decision
128): the sampler asked at its start all the same, its context current meanwhile."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import REGISTRY

from gateway.middleware import AdmissionLimit, RequestTelemetry
from services.runtime.telemetry import KeepErrorsAndSlow, RecordUnsampled

LABELS = ("route", "method", "status", "channel")

PARENT = "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01"


def app() -> FastAPI:
    # As the gateway's app: FastAPI's own request telemetry off (its spans would be a
    # second server span per request).
    made = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
    inner, v1 = APIRouter(), APIRouter(prefix="/v1")

    @inner.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        # The server span is current: what the route does is a child of it.
        with trace.get_tracer("test").start_as_current_span("inside"):
            return {"id": thing_id}

    @inner.get("/broken")
    async def broken() -> None:
        raise RuntimeError("out of order")

    @made.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    v1.include_router(inner)
    made.include_router(v1)
    made.add_middleware(RequestTelemetry)
    return made


async def test_a_request_is_one_server_span_of_the_callers_trace(spans: InMemorySpanExporter) -> None:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        answer = await http.get(
            "/v1/things/t1?to=%2B8613800138000&limit=5",
            headers={"traceparent": PARENT, "X-Request-Id": "req-7", "User-Agent": "tests"},
        )
        missing = await http.get("/v1/nothing")
        failed = await http.get("/v1/broken")
        health = await http.get("/healthz")

    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "req-7"
    assert answer.headers["x-trace-id"] == "0123456789abcdef0123456789abcdef"
    finished = {s.name: s for s in spans.get_finished_spans()}
    assert len(finished) == len(spans.get_finished_spans()), "one server span per request"
    server = finished["GET /v1/things/{thing_id}"]
    assert server.kind is SpanKind.SERVER
    assert server.parent is not None and server.parent.span_id == 0x0123456789ABCDEF
    assert finished["inside"].parent is not None
    assert finished["inside"].parent.span_id == server.context.span_id
    assert dict(server.attributes or {}) == {
        "http.scheme": "http",
        "http.host": "gateway",  # httpx's ASGI transport names no server port
        "http.flavor": "1.1",
        "http.target": "/v1/things/t1",
        "http.url": "http://gateway/v1/things/t1?to=REDACTED&limit=REDACTED",
        "http.method": "GET",
        "http.server_name": "gateway",
        "http.user_agent": "tests",
        "net.peer.ip": "127.0.0.1",
        "net.peer.port": 123,
        "mintong.request_id": "req-7",
        "http.route": "/v1/things/{thing_id}",
        "http.status_code": 200,
    }
    assert server.status.status_code is StatusCode.UNSET

    # No route: the span is named after the method alone; the ids are in the answer.
    assert missing.status_code == 404 and missing.headers["x-request-id"] and missing.headers["x-trace-id"]
    unknown = next(
        s for s in spans.get_finished_spans() if (s.attributes or {}).get("http.target") == "/v1/nothing"
    )
    assert unknown.name == "GET" and (unknown.attributes or {}).get("http.status_code") == 404

    # An exception: the span is an error with the exception recorded.
    assert failed.status_code == 500
    error = finished["GET /v1/broken"]
    assert error.status.status_code is StatusCode.ERROR
    assert [e.name for e in error.events] == ["exception"]

    # The probes' checks: an id in the answer, no span.
    assert health.status_code == 200 and health.headers["x-request-id"]
    assert "x-trace-id" not in health.headers
    assert not [
        s for s in spans.get_finished_spans() if (s.attributes or {}).get("http.target") == "/healthz"
    ]


@pytest.mark.parametrize("supplied", ["", "x" * 129])
async def test_an_unusable_request_id_is_replaced(supplied: str) -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        answer = await http.get("/v1/things/t1", headers={"X-Request-Id": supplied})
    assert len(answer.headers["x-request-id"]) == 36


async def test_a_request_turned_away_is_traced_and_counted(spans: InMemorySpanExporter) -> None:
    # The admission limit's 503 (decision 126): its span has the few attributes that
    # say who was turned away, is an error, and the answer carries both ids.
    release, admitted = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        admitted.set()
        await release.wait()

    made = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
    made.add_api_route("/v1/slow", slow)
    made.add_middleware(AdmissionLimit, limit=1, wait=0.0)
    made.add_middleware(RequestTelemetry)
    counted = ("other", "GET", "503", "none")
    before = REGISTRY.get_sample_value("mintong_http_requests_total", dict(zip(LABELS, counted, strict=True)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=made), base_url="http://gateway") as http:
        holding = asyncio.create_task(http.get("/v1/slow"))
        await admitted.wait()
        answer = await http.get("/v1/slow", headers={"traceparent": PARENT, "X-Request-Id": "req-9"})
        release.set()
        await holding

    assert (answer.status_code, answer.json()["code"], answer.headers["retry-after"]) == (
        503,
        "overloaded",
        "1",
    )
    assert (answer.headers["x-request-id"], answer.headers["x-trace-id"]) == ("req-9", PARENT[3:35])
    (span,) = [s for s in spans.get_finished_spans() if s.context.trace_id == int(PARENT[3:35], 16)]
    assert (span.name, span.kind, span.status.status_code) == ("GET", SpanKind.SERVER, StatusCode.ERROR)
    assert span.status.description == "overloaded"
    assert span.attributes is not None
    assert dict(span.attributes) == {
        "http.method": "GET",
        "http.target": "/v1/slow",
        "net.peer.ip": "127.0.0.1",
        "mintong.request_id": "req-9",
        "http.status_code": 503,
    }
    after = REGISTRY.get_sample_value("mintong_http_requests_total", dict(zip(LABELS, counted, strict=True)))
    assert (after or 0) - (before or 0) == 1


async def test_a_request_without_a_callers_trace_begins_one(spans: InMemorySpanExporter) -> None:
    # The span is made at the request's end (decision 128): a root when the caller
    # sent no trace context, its trace id the answer's, the exception as the SDK's
    # record_exception writes it.
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        answer = await http.get("/v1/things/t2")
        failed = await http.get("/v1/broken")
    finished = {s.name: s for s in spans.get_finished_spans()}
    server, error = finished["GET /v1/things/{thing_id}"], finished["GET /v1/broken"]
    assert server.parent is None and server.context.trace_flags.sampled
    assert answer.headers["x-trace-id"] == f"{server.context.trace_id:032x}"
    assert failed.status_code == 500 and error.context.trace_id != server.context.trace_id
    assert (
        finished["inside"].parent is not None and finished["inside"].parent.span_id == server.context.span_id
    )
    assert server.start_time is not None and server.end_time is not None
    assert server.start_time <= finished["inside"].start_time <= server.end_time  # type: ignore[operator]
    assert server.resource is trace.get_tracer_provider().resource  # type: ignore[attr-defined]
    assert (server.instrumentation_scope.name if server.instrumentation_scope else None) == "gateway"
    assert error.status.description == "RuntimeError: out of order"
    (event,) = error.events
    attributes = dict(event.attributes or {})
    assert attributes["exception.type"] == "RuntimeError"
    assert attributes["exception.message"] == "out of order"
    assert "RuntimeError: out of order" in str(attributes["exception.stacktrace"])
    assert attributes["exception.escaped"] == "False"


async def test_an_unsampled_request_is_exported_only_when_it_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    # The sampler is still asked for the server span (telemetry.begin): a trace it
    # leaves out is recorded, its ids in the answers, and a failed request's span is
    # exported all the same (decision 63).
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=RecordUnsampled(ParentBased(ALWAYS_OFF)))
    provider.add_span_processor(KeepErrorsAndSlow(exporter, 60_000))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        answer = await http.get("/v1/things/t3")
        failed = await http.get("/v1/broken")
    provider.force_flush()
    (exported,) = exporter.get_finished_spans()
    assert exported.name == "GET /v1/broken" and exported.status.status_code is StatusCode.ERROR
    assert not exported.context.trace_flags.sampled
    assert failed.status_code == 500
    assert len(answer.headers["x-trace-id"]) == 32  # its ids are real, its span not exported
