"""A span per SQL statement (decision 73), apart from services/runtime/telemetry.py so
that what imports telemetry (service layers too) does not import SQLAlchemy."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext

from services.runtime import telemetry


def instrument_sql() -> None:
    """Trace every SQL statement of every engine, made before or after this call: one
    client span per statement, named by its verb and database, with the statement's
    text (bind parameters, never their values), a child of the span that ran it.

    A statement run outside any trace (a background loop's round: the outbox relay,
    the keepers, the metrics sampler) is timed instead, and becomes a span of its own
    only when it fails or lasts ``MINTONG_TRACE_SLOW_MS``, the spans decision 63 always
    keeps: otherwise each would be a trace of one span that no request leads to, and
    the relay alone made three per wake-up, as many as a hall call's own statements
    (decision 85).

    Three listeners of our own on the ``Engine`` class rather than the OpenTelemetry
    SQLAlchemy instrumentation (decision 73): that one reads the engine's URL again
    for every statement, wraps every connection checkout in a ``connect`` span and
    counts pool usage through the metrics API; at a span per statement, eight per
    booking, it was a tenth of the booking process's CPU."""
    global _slow_ns
    _slow_ns = int(telemetry.slow_ms_from_env() * 1_000_000)
    for name, listener in _STATEMENT_LISTENERS:
        if not event.contains(Engine, name, listener):
            event.listen(Engine, name, listener)


# The installed provider's tracer, not a proxy for it (hand_ended needs the SDK's).
_sql_tracer = telemetry.CurrentTracer("mintong.sql")


_PARENT_KEY = "_mintong_parent"  # the span a statement in a trace runs under
_STARTED_KEY = "_mintong_started"  # when a statement started (ns)
_slow_ns = int(telemetry.SLOW_MS_DEFAULT * 1_000_000)
_UNSET = telemetry.UNSET


def _start(engine: Engine, statement: str, start_time: int | None = None) -> trace.Span:
    """A statement's span made by the SDK: for a statement outside any trace, which
    is a trace of its own that the sampler decides on."""
    return _sql_tracer().start_span(
        _name(engine, statement),
        kind=SpanKind.CLIENT,
        attributes=_attributes(engine, statement),
        start_time=start_time,
    )


def _name(engine: Engine, statement: str) -> str:
    # The database is in the span's name: an attribute less to check and export.
    verb = statement.split(None, 1)[0] if statement else ""
    return f"{verb} {engine.url.database or ''}".strip() or engine.dialect.name


def _attributes(engine: Engine, statement: str) -> dict[str, str]:
    # Cut to OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, where one is set, by the SDK's
    # span or by telemetry.hand_ended.
    return {"db.system": engine.dialect.name, "db.statement": statement}


def _ended_in_trace(
    engine: Engine, statement: str, parent: SpanContext, started: int, ended: int, status: Status = _UNSET
) -> None:
    """The span of a statement that ran in a trace, made once it has ended and handed
    to the span processors as the SDK's own span would be at its end (decision 104):
    the same trace, parent, ids, name, kind, attributes, times and status, without
    the SDK's live span, its sampler call, its locks and its copy at the end (about
    80 of the 95 µs a statement's span cost, micro-benchmark). The sampler is not
    asked: every sampler the SDK configures from ``OTEL_TRACES_SAMPLER`` decides a
    local parent's child as it decided the parent (the parent-based ones follow it,
    the others decide by the trace id, which they share), and decision 63's
    RecordUnsampled records both; so the child takes its parent's flags."""
    tracer = _sql_tracer()
    if (context := telemetry.child_context(tracer, parent)) is None:
        # Another SDK, or none yet: its own way, as a span started in the past.
        span = tracer.start_span(
            _name(engine, statement),
            context=trace.set_span_in_context(trace.NonRecordingSpan(parent)),
            kind=SpanKind.CLIENT,
            attributes=_attributes(engine, statement),
            start_time=started,
        )
        span.set_status(status)
        span.end(ended)
        return
    telemetry.hand_ended(
        tracer,
        context,
        parent,
        _name(engine, statement),
        SpanKind.CLIENT,
        _attributes(engine, statement),
        started,
        ended,
        status,
    )


def _statement_started(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    if context is None:
        return
    parent = trace.get_current_span().get_span_context()
    if parent.is_valid:
        setattr(context, _PARENT_KEY, parent)
    setattr(context, _STARTED_KEY, time.time_ns())


def _statement_ended(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    started = getattr(context, _STARTED_KEY, None)
    if started is None:
        return
    # Ended: an error met afterwards (reading the rows) adds no second span.
    setattr(context, _STARTED_KEY, None)
    ended = time.time_ns()
    parent = getattr(context, _PARENT_KEY, None)
    if parent is not None:
        _ended_in_trace(conn.engine, statement, parent, started, ended)
    elif ended - started >= _slow_ns:
        _start(conn.engine, statement, started).end(ended)


def _statement_failed(failure: ExceptionContext) -> None:
    context = failure.execution_context
    started = getattr(context, _STARTED_KEY, None)
    if started is None or failure.engine is None:
        return
    setattr(context, _STARTED_KEY, None)
    status = Status(StatusCode.ERROR, str(failure.original_exception))
    parent = getattr(context, _PARENT_KEY, None)
    if parent is not None:
        _ended_in_trace(failure.engine, failure.statement or "", parent, started, time.time_ns(), status)
        return
    span = _start(failure.engine, failure.statement or "", started)
    span.set_status(status)
    span.end()


_STATEMENT_LISTENERS = (
    ("before_cursor_execute", _statement_started),
    ("after_cursor_execute", _statement_ended),
    ("handle_error", _statement_failed),
)
