"""A span per SQL statement (decision 73), apart from services/runtime/telemetry.py so
that what imports telemetry (service layers too) does not import SQLAlchemy."""

from __future__ import annotations

import functools
import time
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
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


@functools.cache
def _sql_tracer() -> trace.Tracer:
    return trace.get_tracer("mintong.sql")


_SPAN_KEY = "_mintong_span"  # where a statement's span waits on its execution context
_STARTED_KEY = "_mintong_started"  # or, outside any trace, when it started (ns)
_slow_ns = int(telemetry.SLOW_MS_DEFAULT * 1_000_000)


def _start(engine: Engine, statement: str, start_time: int | None = None) -> trace.Span:
    database = engine.url.database or ""
    # The database is in the span's name: an attribute less to check and export.
    attributes = {"db.system": engine.dialect.name, "db.statement": statement}
    verb = statement.split(None, 1)[0] if statement else ""
    return _sql_tracer().start_span(
        f"{verb} {database}".strip() or engine.dialect.name,
        kind=SpanKind.CLIENT,
        attributes=attributes,
        start_time=start_time,
    )


def _statement_started(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    if context is None:
        return
    if trace.get_current_span().get_span_context().is_valid:
        setattr(context, _SPAN_KEY, _start(conn.engine, statement))
    else:
        setattr(context, _STARTED_KEY, time.time_ns())


def _statement_ended(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    span = getattr(context, _SPAN_KEY, None)
    if span is not None:
        span.end()
        return
    started = getattr(context, _STARTED_KEY, None)
    if started is not None and (ended := time.time_ns()) - started >= _slow_ns:
        _start(conn.engine, statement, started).end(ended)


def _statement_failed(failure: ExceptionContext) -> None:
    context = failure.execution_context
    span = getattr(context, _SPAN_KEY, None)
    started = getattr(context, _STARTED_KEY, None)
    if span is None and started is not None and failure.engine is not None:
        span = _start(failure.engine, failure.statement or "", started)
    if span is not None:
        span.set_status(Status(StatusCode.ERROR, str(failure.original_exception)))
        span.end()


_STATEMENT_LISTENERS = (
    ("before_cursor_execute", _statement_started),
    ("after_cursor_execute", _statement_ended),
    ("handle_error", _statement_failed),
)
