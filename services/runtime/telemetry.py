"""OpenTelemetry set-up from the standard ``OTEL_*`` variables, and trace-context
propagation through places OpenTelemetry does not instrument (outbox rows, NATS).

Exporter choice, in this order:
- ``OTEL_SDK_DISABLED=true``: no tracing;
- ``OTEL_TRACES_EXPORTER=otlp`` or ``OTEL_EXPORTER_OTLP_ENDPOINT`` set: OTLP/HTTP
  (the exporter reads its own ``OTEL_EXPORTER_OTLP_*`` settings);
- ``OTEL_TRACES_EXPORTER=console``: spans printed to stdout;
- ``OTEL_TRACES_EXPORTER=none``: spans are made (ids propagate) but not exported;
- otherwise: OTLP-JSON lines in ``<data dir>/traces/<service>.jsonl``, one export
  request per line, the format the OpenTelemetry Collector's ``otlpjsonfile``
  receiver reads back.

Sampling is the SDK's, from ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG``
(default: every trace). A trace the sampler leaves out is still recorded, not
exported: its ids reach the answers' ``X-Trace-Id`` and the log lines, and any of its
spans that ends in error or lasts at least ``MINTONG_TRACE_SLOW_MS`` (default 1000) is
exported all the same (decision 63).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanContext, SpanKind, StatusCode

SLOW_MS_DEFAULT = 1000.0


class OtlpJsonLinesExporter(SpanExporter):
    """Writes each batch as one OTLP-JSON ``ExportTraceServiceRequest`` line."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Each line in one write(2) on an O_APPEND file: the workers of a service
        # (decision 300) append to the same file without splitting each other's lines.
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        line = json.dumps(otlp_json(spans), separators=(",", ":"), ensure_ascii=False)
        with self._lock:
            if self._fd is not None:
                os.write(self._fd, (line + "\n").encode())
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """An OTLP-JSON ``ExportTraceServiceRequest``, built straight from the spans.

    The same document as the OTLP protobuf encoder followed by protobuf's
    ``MessageToDict`` (with hex ids, as OTLP-JSON wants), which
    tests/unit/test_telemetry_encoding.py checks; about ten times cheaper, and every
    process exports every span it makes, so under load this was a fifth of their CPU.
    """
    # Grouped by identity: a process has one resource, and hashing a Resource
    # serialises its attributes each time.
    resources: dict[int, Resource] = {}
    grouped: dict[int, dict[Any, list[dict[str, Any]]]] = {}
    for span in spans:
        resources.setdefault(id(span.resource), span.resource)
        grouped.setdefault(id(span.resource), {}).setdefault(span.instrumentation_scope or None, []).append(
            _span(span)
        )
    resource_spans = []
    for key, scopes in grouped.items():
        resource = resources[key]
        scope_spans = []
        for scope, encoded in scopes.items():
            entry: dict[str, Any] = {}
            if scope is not None:
                entry["scope"] = _omit_empty(
                    {
                        "name": scope.name,
                        "version": scope.version or "",
                        "attributes": _attributes(getattr(scope, "attributes", None)),
                    }
                )
            entry["spans"] = encoded
            if scope is not None and scope.schema_url:
                entry["schemaUrl"] = scope.schema_url
            scope_spans.append(entry)
        item: dict[str, Any] = {"resource": _omit_empty({"attributes": _attributes(resource.attributes)})}
        item["scopeSpans"] = scope_spans
        if resource.schema_url:
            item["schemaUrl"] = resource.schema_url
        resource_spans.append(item)
    return {"resourceSpans": resource_spans} if resource_spans else {}


_KINDS = {
    SpanKind.INTERNAL: "SPAN_KIND_INTERNAL",
    SpanKind.SERVER: "SPAN_KIND_SERVER",
    SpanKind.CLIENT: "SPAN_KIND_CLIENT",
    SpanKind.PRODUCER: "SPAN_KIND_PRODUCER",
    SpanKind.CONSUMER: "SPAN_KIND_CONSUMER",
}
_STATUS_CODES = {0: None, 1: "STATUS_CODE_OK", 2: "STATUS_CODE_ERROR"}
_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200


def _flags(parent: SpanContext | None) -> int:
    return _HAS_IS_REMOTE | (_IS_REMOTE if parent is not None and parent.is_remote else 0)


def _span(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None
    encoded: dict[str, Any] = {
        "traceId": f"{context.trace_id:032x}",
        "spanId": f"{context.span_id:016x}",
        "traceState": ",".join(f"{k}={v}" for k, v in context.trace_state.items()),
        "parentSpanId": f"{span.parent.span_id:016x}" if span.parent else "",
        "name": span.name,
        "kind": _KINDS[span.kind],
        "startTimeUnixNano": str(span.start_time) if span.start_time else "",
        "endTimeUnixNano": str(span.end_time) if span.end_time else "",
        "attributes": _attributes(span.attributes),
        "droppedAttributesCount": span.dropped_attributes,
        "events": [
            _omit_empty(
                {
                    "timeUnixNano": str(e.timestamp) if e.timestamp else "",
                    "name": e.name,
                    "attributes": _attributes(e.attributes),
                    "droppedAttributesCount": e.dropped_attributes,
                }
            )
            for e in span.events
        ],
        "droppedEventsCount": span.dropped_events,
        "links": [
            _omit_empty(
                {
                    "traceId": f"{link.context.trace_id:032x}",
                    "spanId": f"{link.context.span_id:016x}",
                    "attributes": _attributes(link.attributes),
                    "droppedAttributesCount": link.dropped_attributes,
                    "flags": _flags(link.context),
                }
            )
            for link in span.links
        ],
        "droppedLinksCount": span.dropped_links,
    }
    encoded = _omit_empty(encoded)
    if span.status is not None:
        encoded["status"] = _omit_empty(
            {"message": span.status.description or "", "code": _STATUS_CODES[span.status.status_code.value]}
        )
    encoded["flags"] = _flags(span.parent)
    return encoded


def _attributes(attributes: Any) -> list[dict[str, Any]]:
    if not attributes:
        return []
    return [{"key": key, "value": _any_value(value)} for key, value in attributes.items()]


def _any_value(value: Any) -> dict[str, Any]:
    # A oneof: the value is written even when it is the type's default.
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, Sequence):
        return {"arrayValue": _omit_empty({"values": [_any_value(v) for v in value]})}
    if isinstance(value, Mapping):
        return {"kvlistValue": _omit_empty({"values": _attributes(value)})}
    raise TypeError(f"an attribute of type {type(value).__name__} cannot be exported")


def _omit_empty(fields: dict[str, Any]) -> dict[str, Any]:
    """Proto3 JSON leaves out fields holding their default value."""
    return {k: v for k, v in fields.items() if v not in ("", 0, [], None)}


class RecordUnsampled(Sampler):
    """The configured sampler, except that a trace it leaves out is recorded (not
    exported) rather than dropped, so that an error or a slow span in it can still be
    kept (:class:`KeepErrorsAndSlow`). Recording costs the spans' making; the export,
    the larger part, is what sampling saves."""

    def __init__(self, inner: Sampler) -> None:
        self.inner = inner

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        result = self.inner.should_sample(*args, **kwargs)
        if result.decision is Decision.DROP:
            return SamplingResult(Decision.RECORD_ONLY, result.attributes, result.trace_state)
        return result

    def get_description(self) -> str:
        return f"RecordUnsampled{{{self.inner.get_description()}}}"


class KeepErrorsAndSlow(BatchSpanProcessor):
    """Batches sampled spans for export, as its parent does, and also the spans of
    unsampled traces that ended in error or took at least ``slow_ms``."""

    def __init__(self, exporter: SpanExporter, slow_ms: float) -> None:
        super().__init__(exporter)
        self._slow_ns = int(slow_ms * 1_000_000)

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is None:
            return
        if span.context.trace_flags.sampled:
            super().on_end(span)
        elif span.status.status_code is StatusCode.ERROR or (
            span.start_time is not None
            and span.end_time is not None
            and span.end_time - span.start_time >= self._slow_ns
        ):
            # The parent class exports sampled spans only; its batcher takes any.
            self._batch_processor.emit(span)


def slow_ms_from_env() -> float:
    raw = os.environ.get("MINTONG_TRACE_SLOW_MS", "").strip()
    try:
        value = float(raw) if raw else SLOW_MS_DEFAULT
    except ValueError:
        raise ValueError(f"MINTONG_TRACE_SLOW_MS must be a number of milliseconds, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"MINTONG_TRACE_SLOW_MS must be positive, not {raw!r}")
    return value


def _exporter(service: str, data_dir: Path) -> SpanExporter | None:
    choice = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if choice == "otlp" or (not choice and os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if choice == "console":
        return ConsoleSpanExporter()
    if choice == "none":
        return None
    return OtlpJsonLinesExporter(data_dir / "traces" / f"{service}.jsonl")


def setup_tracing(service: str, data_dir: Path) -> TracerProvider | None:
    """Install the process's tracer provider and SQL instrumentation. Call once, from
    an entrypoint: never at import time, never from a composition root tests reuse."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service}
    provider = TracerProvider(resource=Resource.create(attributes))
    # The SDK has read OTEL_TRACES_SAMPLER; what it leaves out is recorded all the same
    # (even under the default, a remote parent's "not sampled" is followed).
    provider.sampler = RecordUnsampled(provider.sampler)
    exporter = _exporter(service, data_dir)
    if exporter is not None:
        provider.add_span_processor(KeepErrorsAndSlow(exporter, slow_ms_from_env()))
    trace.set_tracer_provider(provider)
    instrument_sql()
    return provider


def instrument_sql() -> None:
    """Trace every SQL statement of engines created from now on."""
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    instrumentor = SQLAlchemyInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(enable_commenter=False)


def flush(timeout_millis: int = 5000) -> None:
    """Export the spans still buffered. For processes that may not reach atexit:
    uvicorn re-raises SIGTERM after its shutdown, which ends the process at once."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush(timeout_millis)


def current_carrier() -> dict[str, str]:
    """The active trace context as headers (W3C ``traceparent``/``tracestate``)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def inject(carrier: MutableMapping[str, str]) -> None:
    propagate.inject(carrier)


def extract(carrier: Mapping[str, str] | None) -> otel_context.Context:
    return propagate.extract(dict(carrier or {}))


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)
