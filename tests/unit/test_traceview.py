"""services/runtime/traceview.py on files the exporter itself writes: spans of two
processes joined into one tree, a request id found, what is flagged as an error, and
files as they are in life (a line cut short by a killed process, a span whose parent
was never written). The real platform's trace: tests/e2e/test_processes.py."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from services.runtime import telemetry, traceview


def _tracer(data_dir: Path, service: str) -> tuple[trace.Tracer, TracerProvider]:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(
        SimpleSpanProcessor(telemetry.OtlpJsonLinesExporter(data_dir / "traces" / f"{service}.jsonl"))
    )
    return provider.get_tracer("test"), provider


def _request(data_dir: Path, *, fail: bool) -> str:
    """A gateway request calling a service that runs SQL and, failing, raises."""
    gateway, gateway_provider = _tracer(data_dir, "gateway")
    service, service_provider = _tracer(data_dir, "booking")
    with gateway.start_as_current_span("POST /v1/bookings", kind=SpanKind.SERVER) as root:
        root.set_attribute("mintong.request_id", "req-<1>")
        root.set_attribute("http.status_code", 500 if fail else 201)
        with gateway.start_as_current_span("/b.v1.Booking/Book", kind=SpanKind.CLIENT):
            carrier = telemetry.current_carrier()
        with service.start_as_current_span(
            "/b.v1.Booking/Book", context=telemetry.extract(carrier), kind=SpanKind.SERVER
        ) as server:
            with service.start_as_current_span("INSERT", kind=SpanKind.CLIENT) as sql:
                sql.set_attribute("db.statement", "INSERT INTO outbox (id,\n  subject) VALUES (?, ?)")
            if fail:
                server.record_exception(RuntimeError("database is gone"))
                server.set_status(Status(StatusCode.ERROR, "database is gone"))
        trace_id = f"{root.get_span_context().trace_id:032x}"
    gateway_provider.shutdown()
    service_provider.shutdown()
    return trace_id


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = traceview.main(list(argv))
    return code, out.getvalue()


def test_a_request_id_leads_to_one_tree_across_the_processes(tmp_path: Path) -> None:
    trace_id = _request(tmp_path, fail=False)
    files = traceview.trace_files(tmp_path)
    assert traceview.find_trace_id(files, "req-<1>") == trace_id
    assert traceview.find_trace_id(files, trace_id.upper()) == trace_id
    [root] = traceview.build_tree(traceview.load_trace(files, trace_id))
    shape = [(depth, s.service, s.kind, s.name) for depth, s in traceview.walk([root])]
    assert shape == [
        (0, "gateway", "SERVER", "POST /v1/bookings"),
        (1, "gateway", "CLIENT", "/b.v1.Booking/Book"),
        (2, "booking", "SERVER", "/b.v1.Booking/Book"),
        (3, "booking", "CLIENT", "INSERT"),
    ]
    code, printed = _run("req-<1>", "--data-dir", str(tmp_path))
    assert code == 0
    assert printed.startswith(f"trace {trace_id}: 4 spans in booking, gateway; ")
    assert "0 with an error" in printed
    # The statement on one line, as the SRE reads it.
    assert "db.statement=INSERT INTO outbox (id, subject) VALUES (?, ?)" in printed


def test_a_failure_is_marked_with_its_exception_and_the_page_escapes_it(tmp_path: Path) -> None:
    trace_id = _request(tmp_path, fail=True)
    page = tmp_path / "trace.html"
    code, printed = _run(trace_id, "--data-dir", str(tmp_path), "--html", str(page))
    assert code == 0
    assert "2 with an error" in printed  # the service's span, and the gateway's 500
    assert "/b.v1.Booking/Book [server] ERROR" in printed
    assert "exception RuntimeError: database is gone" in printed
    html = page.read_text(encoding="utf-8")
    assert "req-&lt;1&gt;" in html and "req-<1>" not in html and "<script" not in html
    code, listed = _run("--recent", "5", "--errors", "--data-dir", str(tmp_path))
    assert code == 0 and trace_id in listed and "req-<1>" in listed


def test_files_as_they_are_in_life(tmp_path: Path) -> None:
    trace_id = _request(tmp_path, fail=False)
    gateway = tmp_path / "traces" / "gateway.jsonl"
    lines = gateway.read_text(encoding="utf-8").splitlines()
    # The gateway's root span never reached the file (it was killed mid-write): the
    # spans that did still make one tree, its root saying its parent is missing.
    gateway.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2], encoding="utf-8")
    roots = traceview.build_tree(traceview.load_trace(traceview.trace_files(tmp_path), trace_id))
    assert [r.name for r in roots] == ["/b.v1.Booking/Book"]
    assert "is in no trace file" in traceview.render_text(roots)

    assert _run("no-such-request", "--data-dir", str(tmp_path))[0] == 1
    assert _run("0" * 32, "--data-dir", str(tmp_path))[0] == 1
    assert _run("anything", "--data-dir", str(tmp_path / "empty"))[0] == 2
