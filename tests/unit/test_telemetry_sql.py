"""Every SQL statement is a span of its own (sql_tracing.instrument_sql, decision 73):
named by its verb and database, with the statement's text and never its parameters,
a child of the span that ran it, in error when the statement failed."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from services.runtime.sql_tracing import instrument_sql


def test_a_statement_is_a_client_span_under_its_caller(tmp_path: Path, spans: InMemorySpanExporter) -> None:
    instrument_sql()  # a second call (tests/conftest.py made the first) adds no second span
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with trace.get_tracer("test").start_as_current_span("request") as request, engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (v TEXT UNIQUE)"))
        conn.execute(sa.text("INSERT INTO t (v) VALUES (:v)"), {"v": "a secret value"})
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("INSERT INTO t (v) VALUES (:v)"), {"v": "a secret value"})
    engine.dispose()

    statements = [
        s
        for s in spans.get_finished_spans()
        if s.instrumentation_scope and s.instrumentation_scope.name == "mintong.sql"
    ]
    assert [s.name for s in statements] == [
        f"{verb} {tmp_path / 'x.db'}" for verb in ("CREATE", "INSERT", "INSERT")
    ]
    _, inserted, refused = statements
    assert all(s.kind is SpanKind.CLIENT and s.parent == request.get_span_context() for s in statements)
    assert inserted.attributes == {
        "db.system": "sqlite",
        "db.statement": "INSERT INTO t (v) VALUES (?)",
    }
    assert inserted.status.status_code is StatusCode.UNSET
    assert refused.status.status_code is StatusCode.ERROR and refused.end_time is not None
    # The driver's own message, not SQLAlchemy's (which lists the parameters).
    assert refused.status.description == "UNIQUE constraint failed: t.v"
    assert "a secret value" not in str([(dict(s.attributes or {}), s.status.description) for s in statements])


def test_a_statement_outside_any_trace_is_a_span_only_when_slow_or_failed(
    tmp_path: Path, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A background loop's statements (the outbox relay's, the keepers') are in no
    trace: a quick one makes no span, a slow or failed one a span of its own, with
    its own timing (decision 85; decision 63 keeps errors and slow spans)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (v TEXT UNIQUE)"))
        conn.execute(sa.text("INSERT INTO t (v) VALUES (:v)"), {"v": "a secret value"})
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("INSERT INTO t (v) VALUES (:v)"), {"v": "a secret value"})
    monkeypatch.setenv("MINTONG_TRACE_SLOW_MS", "0.000001")  # every statement is slow
    instrument_sql()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT v FROM t"))
    finally:
        monkeypatch.delenv("MINTONG_TRACE_SLOW_MS")
        instrument_sql()
    engine.dispose()

    statements = [
        s
        for s in spans.get_finished_spans()
        if s.instrumentation_scope and s.instrumentation_scope.name == "mintong.sql"
    ]
    assert [(s.name.split()[0], s.status.status_code) for s in statements] == [
        ("INSERT", StatusCode.ERROR),
        ("SELECT", StatusCode.UNSET),
    ]
    refused, slow = statements
    assert refused.parent is None and refused.status.description == "UNIQUE constraint failed: t.v"
    assert slow.parent is None
    assert slow.attributes == {"db.system": "sqlite", "db.statement": "SELECT v FROM t"}
    assert slow.start_time is not None and slow.end_time is not None and slow.start_time <= slow.end_time
