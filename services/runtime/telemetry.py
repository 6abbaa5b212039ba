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
import functools
import json
import os
import threading
import traceback
from collections.abc import Mapping, MutableMapping, Sequence
from json.encoder import encode_basestring as _quote
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, Tracer, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

SLOW_MS_DEFAULT = 1000.0


class OtlpJsonLinesExporter(SpanExporter):
    """Writes each batch as one OTLP-JSON ``ExportTraceServiceRequest`` line."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Each line in one write(2) on an O_APPEND file: the workers of a service
        # (decision 75) append to the same file without splitting each other's lines.
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        line = otlp_json_line(spans)
        with self._lock:
            if self._fd is not None:
                os.write(self._fd, (line + "\n").encode())
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def otlp_json_line(spans: Sequence[ReadableSpan]) -> str:
    """An OTLP-JSON ``ExportTraceServiceRequest`` on one line, written as text
    straight from the spans.

    The same document as the OTLP protobuf encoder followed by protobuf's
    ``MessageToDict`` (with hex ids, as OTLP-JSON wants), which
    tests/unit/test_telemetry_encoding.py checks. Every process exports every span it
    makes, so the encoding is on the hot side of tracing's cost: building the text
    directly, with the C string escaper for every string, is about three times cheaper
    than building dicts for ``json.dumps`` and about four times cheaper than the
    protobuf encoder (binary OTLP) itself (docs/performance.md, decision 72).
    """
    # Grouped by identity: a process has one resource, and hashing a Resource
    # serialises its attributes each time; a tracer has one scope, and hashing an
    # InstrumentationScope reads four properties (a tenth of the export, decision 108).
    resources: dict[int, Resource] = {}
    scopes_of: dict[int, Any] = {}
    grouped: dict[int, dict[int, list[str]]] = {}
    for span in spans:
        resources.setdefault(id(span.resource), span.resource)
        scope_of = span.instrumentation_scope or None
        scopes_of.setdefault(id(scope_of), scope_of)
        grouped.setdefault(id(span.resource), {}).setdefault(id(scope_of), []).append(_span(span))
    resource_spans = []
    for key, scopes in grouped.items():
        resource = resources[key]
        scope_spans = []
        for scope_key, encoded in scopes.items():
            scope = scopes_of[scope_key]
            entry = []
            if scope is not None:
                fields = []
                if scope.name:
                    fields.append('"name":' + _quote(scope.name))
                if scope.version:
                    fields.append('"version":' + _quote(scope.version))
                if getattr(scope, "attributes", None):
                    fields.append('"attributes":' + _attributes(scope.attributes))
                entry.append('"scope":{' + ",".join(fields) + "}")
            entry.append('"spans":[' + ",".join(encoded) + "]")
            if scope is not None and scope.schema_url:
                entry.append('"schemaUrl":' + _quote(scope.schema_url))
            scope_spans.append("{" + ",".join(entry) + "}")
        item = [
            '"resource":{'
            + ('"attributes":' + _attributes(resource.attributes) if resource.attributes else "")
            + "}"
        ]
        item.append('"scopeSpans":[' + ",".join(scope_spans) + "]")
        if resource.schema_url:
            item.append('"schemaUrl":' + _quote(resource.schema_url))
        resource_spans.append("{" + ",".join(item) + "}")
    return '{"resourceSpans":[' + ",".join(resource_spans) + "]}" if resource_spans else "{}"


# Proto3 JSON leaves out every field holding its default value (0, "", []); the kind
# and the flags never do.
_KINDS = {
    SpanKind.INTERNAL: ',"kind":"SPAN_KIND_INTERNAL"',
    SpanKind.SERVER: ',"kind":"SPAN_KIND_SERVER"',
    SpanKind.CLIENT: ',"kind":"SPAN_KIND_CLIENT"',
    SpanKind.PRODUCER: ',"kind":"SPAN_KIND_PRODUCER"',
    SpanKind.CONSUMER: ',"kind":"SPAN_KIND_CONSUMER"',
}
_STATUS_CODES = {
    StatusCode.UNSET: "",
    StatusCode.OK: '"code":"STATUS_CODE_OK"',
    StatusCode.ERROR: '"code":"STATUS_CODE_ERROR"',
}
_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200


def _flags(parent: SpanContext | None) -> int:
    return _HAS_IS_REMOTE | (_IS_REMOTE if parent is not None and parent.is_remote else 0)


def _span(span: ReadableSpan) -> str:
    context = span.get_span_context()
    assert context is not None
    out = [f'{{"traceId":"{context.trace_id:032x}","spanId":"{context.span_id:016x}"']
    if context.trace_state:
        out.append(',"traceState":' + _quote(",".join(f"{k}={v}" for k, v in context.trace_state.items())))
    if span.parent:
        out.append(f',"parentSpanId":"{span.parent.span_id:016x}"')
    if span.name:
        out.append(',"name":' + _quote(span.name))
    out.append(_KINDS[span.kind])
    if span.start_time:
        out.append(f',"startTimeUnixNano":"{span.start_time}"')
    if span.end_time:
        out.append(f',"endTimeUnixNano":"{span.end_time}"')
    attributes, events, links = span.attributes, span.events, span.links
    if attributes:
        out.append(',"attributes":' + _attributes(attributes))
    if span.dropped_attributes:
        out.append(f',"droppedAttributesCount":{span.dropped_attributes}')
    if events:
        out.append(',"events":[' + ",".join(_event(e) for e in events) + "]")
    if span.dropped_events:
        out.append(f',"droppedEventsCount":{span.dropped_events}')
    if links:
        out.append(',"links":[' + ",".join(_link(link) for link in links) + "]")
    if span.dropped_links:
        out.append(f',"droppedLinksCount":{span.dropped_links}')
    status = span.status
    if status is not None:
        fields = [_STATUS_CODES[status.status_code]] if status.status_code is not StatusCode.UNSET else []
        if status.description:
            fields.append('"message":' + _quote(status.description))
        out.append(',"status":{' + ",".join(fields) + "}")
    out.append(f',"flags":{_flags(span.parent)}}}')
    return "".join(out)


def _event(event: Event) -> str:
    fields = []
    if event.timestamp:
        fields.append(f'"timeUnixNano":"{event.timestamp}"')
    if event.name:
        fields.append('"name":' + _quote(event.name))
    if event.attributes:
        fields.append('"attributes":' + _attributes(event.attributes))
    if event.dropped_attributes:
        fields.append(f'"droppedAttributesCount":{event.dropped_attributes}')
    return "{" + ",".join(fields) + "}"


def _link(link: Link) -> str:
    fields = [f'"traceId":"{link.context.trace_id:032x}","spanId":"{link.context.span_id:016x}"']
    if link.attributes:
        fields.append('"attributes":' + _attributes(link.attributes))
    if link.dropped_attributes:
        fields.append(f'"droppedAttributesCount":{link.dropped_attributes}')
    fields.append(f'"flags":{_flags(link.context)}')
    return "{" + ",".join(fields) + "}"


def _attributes(attributes: Mapping[str, Any]) -> str:
    return (
        "["
        + ",".join(
            _unshared_pair(k, v) if (kind := _SCALARS.get(v.__class__)) is None else _pair(k, kind, v)
            for k, v in attributes.items()
        )
        + "]"
    )


#: The attribute types whose values repeat from span to span (a route, a status, a
#: host, a statement) and are hashable, each with its number in :func:`_pair`'s key.
_SCALARS = {str: 0, int: 1, bool: 2}


@functools.lru_cache(maxsize=8192)
def _pair(key: str, kind: int, value: Any) -> str:
    """An attribute's encoding, worked out once while it keeps coming: most of a
    span's attributes are those of the span before (the gateway's server span has
    fourteen, one or two of them new per request), and encoding them was a third of
    the export's CPU (decision 108). ``kind`` keeps ``True`` and ``1`` apart (equal
    as keys)."""
    return _unshared_pair(key, value)


def _unshared_pair(key: str, value: Any) -> str:
    return '{"key":' + _quote(key) + ',"value":' + _any_value(value) + "}"


def _any_value(value: Any) -> str:
    # A oneof: the value is written even when it is the type's default.
    if isinstance(value, str):
        return '{"stringValue":' + _quote(value) + "}"
    if isinstance(value, bool):
        return '{"boolValue":true}' if value else '{"boolValue":false}'
    if isinstance(value, int):
        return f'{{"intValue":"{value:d}"}}'
    if isinstance(value, float):
        return '{"doubleValue":' + json.dumps(value) + "}"
    if isinstance(value, bytes):
        return '{"bytesValue":"' + base64.b64encode(value).decode() + '"}'
    if isinstance(value, Sequence):
        return (
            '{"arrayValue":{'
            + ('"values":[' + ",".join(_any_value(v) for v in value) + "]" if value else "")
            + "}}"
        )
    if isinstance(value, Mapping):
        return '{"kvlistValue":{' + ('"values":' + _attributes(value) if value else "") + "}}"
    raise TypeError(f"an attribute of type {type(value).__name__} cannot be exported")


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


#: A span's status until told otherwise.
UNSET = Status(StatusCode.UNSET)


class CurrentTracer:
    """The installed provider's tracer of one name, looked up again only when the
    provider changes: a tracer got before the process installs its provider
    (setup_tracing) is a proxy, which :func:`child_context` and :func:`begin` cannot
    use (they need the SDK's tracer itself)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._provider: trace.TracerProvider | None = None
        self._tracer: trace.Tracer = trace.NoOpTracer()

    def __call__(self) -> trace.Tracer:
        provider = trace.get_tracer_provider()
        if provider is not self._provider:
            self._provider, self._tracer = provider, provider.get_tracer(self.name)
        return self._tracer


def child_context(tracer: trace.Tracer, parent: SpanContext) -> SpanContext | None:
    """The context of a child of ``parent`` that will be made only once it has ended
    (:func:`hand_ended`), or None where the SDK's own span is needed: ``tracer`` is
    not the SDK's (none installed yet, or another SDK), or there is no parent (a root,
    which the sampler decides).

    A child of a local span is decided as its parent was by every sampler the SDK
    configures from ``OTEL_TRACES_SAMPLER`` (the parent-based ones follow it; the
    others decide by the trace id, which they share), and :class:`RecordUnsampled`
    records both: so the child takes its parent's flags and state without asking the
    sampler (decisions 104, 128)."""
    if not parent.is_valid or not isinstance(tracer, Tracer):
        return None
    return SpanContext(
        parent.trace_id,
        tracer.id_generator.generate_span_id(),
        is_remote=False,
        trace_flags=parent.trace_flags,
        trace_state=parent.trace_state,
    )


def begin(
    tracer: trace.Tracer, context: otel_context.Context, name: str, kind: SpanKind
) -> tuple[SpanContext, SpanContext | None, Mapping[str, Any]] | None:
    """What the SDK's ``start_span`` decides for a span under ``context`` (the
    caller's, extracted; or none), for a span that will be made only once it has
    ended (:func:`hand_ended`, decision 128): its context (a new trace for a root; the
    sampler asked, as for the SDK's span), its parent's context (None: a root) and
    the sampler's attributes. None where no span is recorded: tracing off (no SDK
    installed), or a sampler that drops the trace (:class:`RecordUnsampled` never
    does)."""
    if not isinstance(tracer, Tracer):
        return None
    parent: SpanContext | None = trace.get_current_span(context).get_span_context()
    if parent is not None and parent.is_valid:
        trace_id, random_id = parent.trace_id, parent.trace_flags.random_trace_id
    else:
        parent, trace_id = None, tracer.id_generator.generate_trace_id()
        random_id = tracer.id_generator.is_trace_id_random()
    decided = tracer.sampler.should_sample(context, trace_id, name, kind)
    if not decided.decision.is_recording():
        return None
    flags = TraceFlags.SAMPLED if decided.decision.is_sampled() else TraceFlags.DEFAULT
    if random_id:
        flags |= TraceFlags.RANDOM_TRACE_ID
    span_id = tracer.id_generator.generate_span_id()
    own = SpanContext(
        trace_id, span_id, is_remote=False, trace_flags=TraceFlags(flags), trace_state=decided.trace_state
    )
    return own, parent, decided.attributes or {}


def exception_event(exception: BaseException) -> Event:
    """The event the SDK's ``record_exception`` adds to a span, for a span made at its end."""
    module, qualname = type(exception).__module__, type(exception).__qualname__
    return Event(
        "exception",
        {
            "exception.type": f"{module}.{qualname}" if module and module != "builtins" else qualname,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": "False",
        },
    )


def hand_ended(
    tracer: trace.Tracer,
    context: SpanContext,
    parent: SpanContext | None,
    name: str,
    kind: SpanKind,
    attributes: Mapping[str, Any],
    started: int,
    ended: int,
    status: Status = UNSET,
    events: Sequence[Event] = (),
) -> None:
    """The span ``context`` (from :func:`child_context` or :func:`begin` with
    ``tracer``), made now that it has ended and handed to the span processors, as the
    SDK's ``end()`` hands its own: the same trace, parent, ids, name, kind, attributes
    (never changed afterwards: shared ones may be given), events, times and status,
    without the SDK's live span, its locks, its bounded attributes checked one by one
    and its copy at the end. The processors' ``on_start`` is not called (ours and the
    SDK's batch and simple processors do nothing there)."""
    assert isinstance(tracer, Tracer)
    if (limit := _attribute_length_limit()) is not None:
        attributes = {k: v[:limit] if isinstance(v, str) else v for k, v in attributes.items()}
    tracer.span_processor.on_end(
        ReadableSpan(
            name=name,
            context=context,
            parent=parent,
            resource=tracer.resource,
            attributes=attributes,
            events=events,
            kind=kind,
            status=status,
            start_time=started,
            end_time=ended,
            instrumentation_scope=tracer._instrumentation_scope,
        )
    )


@functools.cache
def _attribute_length_limit() -> int | None:
    """``OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`` (or the general one), which the SDK's
    own spans apply to their string attributes; None: no limit (the default)."""
    return SpanLimits().max_span_attribute_length


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
    """Install the process's tracer provider (a service's entrypoint adds
    ``sql_tracing.instrument_sql``). Call once, from an entrypoint: never at import
    time, never from a composition root tests reuse."""
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
    return provider


def rpc_attributes(method: str) -> dict[str, Any]:
    """A gRPC call's span attributes by its method (``/<package>.<Service>/<Method>``),
    client and server alike, named as OpenTelemetry's gRPC instrumentation named them
    (the trace files and traceview read them); the status code OK until told otherwise."""
    service, _, name = method.lstrip("/").partition("/")
    return {"rpc.system": "grpc", "rpc.grpc.status_code": 0, "rpc.method": name, "rpc.service": service}


def not_health_check(details: Any) -> bool:
    """The gRPC instrumentations' filter, client and server: every call but the health
    checks (probes every few seconds, not worth a trace each). The instrumentation's
    own ``filters.negate(filters.health_check())`` decides the same through an
    ``isinstance`` test against a ``typing.Protocol`` on every call, a thirtieth of the
    gateway's CPU (docs/performance.md, *Uncontended booking*)."""
    method = details.method
    if isinstance(method, bytes):  # grpc/grpc#31092: some versions give bytes
        method = method.decode()
    return not method.startswith("/grpc.health.v1.Health/")


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
