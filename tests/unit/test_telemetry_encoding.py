"""The trace files' OTLP-JSON, built straight from the spans, is the very document
the OTLP protobuf encoder and protobuf's MessageToDict make (ids in hex)."""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf import json_format
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags, TraceState

from services.runtime.telemetry import otlp_json_line


def reference(spans: Any) -> dict[str, Any]:
    document = json_format.MessageToDict(encode_spans(spans))

    def hex_ids(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    node[key] = base64.b64decode(value).hex()
                else:
                    hex_ids(value)
        elif isinstance(node, list):
            for item in node:
                hex_ids(item)

    hex_ids(document)
    return document


def test_every_kind_of_span_encodes_as_the_reference_does() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "booking", "n": 3}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("mintong.test", "1.2")
    bare = provider.get_tracer("bare")
    remote = SpanContext(
        0x0AF7651916CD43DD8448EB211C80319C,
        0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(1),
        trace_state=TraceState([("vendor", "value")]),
    )
    attributes: dict[str, Any] = {
        "s": "text 文字",
        "empty": "",
        "i": 42,
        "zero": 0,
        "negative": -7,
        "big": 2**62,
        "f": 1.5,
        "fzero": 0.0,
        "yes": True,
        "no": False,
        "strings": ["a", "", "c"],
        "ints": [1, 0, 3],
        "bools": [True, False],
        "floats": [0.5],
        "nothing": [],
    }
    with tracer.start_as_current_span(
        "server",
        kind=trace.SpanKind.SERVER,
        attributes=attributes,
        context=trace.set_span_in_context(NonRecordingSpan(remote)),
    ) as server:
        server.add_event("an event", {"k": "v"})
        server.add_event("no attributes")
        with tracer.start_as_current_span(
            "client", kind=trace.SpanKind.CLIENT, links=[Link(remote, {"l": 1}), Link(remote)]
        ):
            pass
        with bare.start_as_current_span("failed") as failed:
            failed.set_status(trace.Status(trace.StatusCode.ERROR, "it broke"))
            failed.record_exception(ValueError("bad"))
        with tracer.start_as_current_span("ok", kind=trace.SpanKind.PRODUCER) as ok:
            ok.set_status(trace.Status(trace.StatusCode.OK))
        with tracer.start_as_current_span("consumer", kind=trace.SpanKind.CONSUMER):
            pass
    spans = exporter.get_finished_spans()
    assert json.loads(otlp_json_line(spans)) == reference(spans)
    assert json.loads(otlp_json_line([])) == reference([])
    # Again, the attributes' encodings now from the cache (decision 108).
    assert json.loads(otlp_json_line(spans)) == reference(spans)


def test_a_kept_encoding_is_never_another_types() -> None:
    # True == 1 and hash(True) == hash(1): the cache's key names the type too.
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    for value in (1, True, 1, True, "1"):
        with tracer.start_as_current_span("s", attributes={"v": value}):
            pass
    spans = exporter.get_finished_spans()
    for span in spans:
        assert json.loads(otlp_json_line([span])) == reference([span])
