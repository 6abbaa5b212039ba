"""Sampling leaves traces out of the export, not out of the record: an unsampled
trace keeps real ids (answers and log lines name them), and its spans that end in
error or run slow are exported all the same (decision 63)."""

from __future__ import annotations

import io
import logging
import time
from types import SimpleNamespace

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import Status, StatusCode, use_span

from services.runtime.lifecycle import TraceIds
from services.runtime.telemetry import KeepErrorsAndSlow, RecordUnsampled, not_health_check, slow_ms_from_env


def _provider(sampler: Sampler, slow_ms: float = 50.0) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=RecordUnsampled(sampler))
    provider.add_span_processor(KeepErrorsAndSlow(exporter, slow_ms))
    return provider, exporter


def test_an_unsampled_trace_is_recorded_and_only_its_errors_and_slow_spans_exported() -> None:
    provider, exporter = _provider(ParentBased(ALWAYS_OFF))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("request") as root:
        assert root.is_recording() and root.get_span_context().is_valid
        assert not root.get_span_context().trace_flags.sampled
        with tracer.start_as_current_span("fine"):
            pass
        with tracer.start_as_current_span("failed") as failed:
            failed.set_status(Status(StatusCode.ERROR, "boom"))
        with tracer.start_as_current_span("slow"):
            time.sleep(0.06)
    provider.force_flush()
    exported = {s.name for s in exporter.get_finished_spans()}
    # The root lasted over 50 ms too (it holds the slow span).
    assert exported == {"failed", "slow", "request"}


def test_sampled_traces_are_exported_whole() -> None:
    provider, exporter = _provider(ParentBased(ALWAYS_ON))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("request"), tracer.start_as_current_span("fine"):
        pass
    provider.force_flush()
    assert {s.name for s in exporter.get_finished_spans()} == {"request", "fine"}


def test_a_ratio_sampler_is_followed() -> None:
    provider, exporter = _provider(TraceIdRatioBased(0.0))
    with provider.get_tracer("test").start_as_current_span("quick"):
        pass
    provider.force_flush()
    assert exporter.get_finished_spans() == ()


def test_log_lines_name_the_trace_sampled_or_not() -> None:
    provider, _ = _provider(ParentBased(ALWAYS_OFF))
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(message)s%(trace)s"))
    handler.addFilter(TraceIds())
    log = logging.getLogger("test.trace_ids")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("outside")
        span = provider.get_tracer("test").start_span("request")
        with use_span(span, end_on_exit=True):
            log.warning("inside")
    finally:
        log.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert lines[0] == "outside"
    assert lines[1] == f"inside trace={span.get_span_context().trace_id:032x}"


def test_the_slow_threshold_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINTONG_TRACE_SLOW_MS", "250")
    assert slow_ms_from_env() == 250.0
    for bad in ("soon", "0", "-5"):
        monkeypatch.setenv("MINTONG_TRACE_SLOW_MS", bad)
        with pytest.raises(ValueError, match="MINTONG_TRACE_SLOW_MS"):
            slow_ms_from_env()


def test_grpc_health_checks_are_left_out_of_tracing_and_every_other_call_kept() -> None:
    assert not not_health_check(SimpleNamespace(method="/grpc.health.v1.Health/Check"))
    assert not not_health_check(SimpleNamespace(method=b"/grpc.health.v1.Health/Watch"))
    assert not_health_check(SimpleNamespace(method="/mintong.booking.v1.BookingService/Book"))
    assert not_health_check(SimpleNamespace(method=b"/mintong.booking.v1.BookingService/Book"))
