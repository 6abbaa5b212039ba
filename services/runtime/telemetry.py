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
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path

from google.protobuf import json_format
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)


class OtlpJsonLinesExporter(SpanExporter):
    """Writes each batch as one OTLP-JSON ``ExportTraceServiceRequest`` line."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        document = json_format.MessageToDict(encode_spans(spans))
        _hex_ids(document)
        line = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()


def _hex_ids(node: object) -> None:
    """OTLP-JSON spells trace and span ids in hex, where proto-JSON uses base64."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)


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
    exporter = _exporter(service, data_dir)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
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
