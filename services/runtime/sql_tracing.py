"""A span per SQL statement (decision 73), apart from services/runtime/telemetry.py so
that what imports telemetry (service layers too) does not import SQLAlchemy."""

from __future__ import annotations

import functools
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext


def instrument_sql() -> None:
    """Trace every SQL statement of every engine, made before or after this call: one
    client span per statement, named by its verb and database, with the statement's
    text (bind parameters, never their values), a child of the span that ran it.

    Three listeners of our own on the ``Engine`` class rather than the OpenTelemetry
    SQLAlchemy instrumentation (decision 73): that one reads the engine's URL again
    for every statement, wraps every connection checkout in a ``connect`` span and
    counts pool usage through the metrics API; at a span per statement, eight per
    booking, it was a tenth of the booking process's CPU."""
    for name, listener in _STATEMENT_LISTENERS:
        if not event.contains(Engine, name, listener):
            event.listen(Engine, name, listener)


@functools.cache
def _sql_tracer() -> trace.Tracer:
    return trace.get_tracer("mintong.sql")


_SPAN_KEY = "_mintong_span"  # where a statement's span waits on its execution context


def _statement_started(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    if context is None:
        return
    database = conn.engine.url.database or ""
    # The database is in the span's name: an attribute less to check and export.
    attributes = {"db.system": conn.dialect.name, "db.statement": statement}
    verb = statement.split(None, 1)[0] if statement else ""
    span = _sql_tracer().start_span(
        f"{verb} {database}".strip() or conn.dialect.name, kind=SpanKind.CLIENT, attributes=attributes
    )
    setattr(context, _SPAN_KEY, span)


def _statement_ended(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    span = getattr(context, _SPAN_KEY, None)
    if span is not None:
        span.end()


def _statement_failed(failure: ExceptionContext) -> None:
    span = getattr(failure.execution_context, _SPAN_KEY, None)
    if span is not None:
        span.set_status(Status(StatusCode.ERROR, str(failure.original_exception)))
        span.end()


_STATEMENT_LISTENERS = (
    ("before_cursor_execute", _statement_started),
    ("after_cursor_execute", _statement_ended),
    ("handle_error", _statement_failed),
)
