"""Read one request's trace on the machine that ran it: given an ``X-Request-Id`` or an
``X-Trace-Id`` (every gateway answer, errors included, carries both), find its spans in
every process's OTLP-JSON lines file (``<data dir>/traces/*.jsonl``, written by
telemetry.OtlpJsonLinesExporter) and print them as one tree: service, span, start
offset, duration, status and the attributes an SRE looks at first. ``--html`` writes
the same tree as a self-contained page (a waterfall), for a browser.

    python -m services.runtime.traceview 4bf92f3577b34da6a3ce929d0e0e4736
    python -m services.runtime.traceview 0b7c3f2e-...-request-id --html /tmp/trace.html
    python -m services.runtime.traceview --recent 20 [--errors]

Why not a trace UI: none that can be installed from the registries here keeps
``service.name`` (decision 55). Kubernetes sends spans to the OpenTelemetry Collector
and Jaeger instead; this reads only the files of ``make up``.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
REQUEST_ID = "mintong.request_id"
# What an SRE reads first on each kind of span; the rest is in the file (and --json).
KEY_ATTRIBUTES = (
    REQUEST_ID,
    "http.status_code",
    "http.response.status_code",
    "rpc.grpc.status_code",
    "db.system",
    "db.statement",
    "messaging.destination.name",
    "messaging.message.id",
    "messaging.consumer.group.name",
    "mintong.duplicate",
)
STATEMENT_WIDTH = 90


@dataclass
class Span:
    service: str
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: str
    start: int
    end: int
    status: str
    message: str
    attributes: dict[str, Any]
    exceptions: list[str]
    children: list[Span] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return (self.end - self.start) / 1e6 if self.end else 0.0

    @property
    def failed(self) -> bool:
        """An error status, an exception, a gRPC status other than OK or an HTTP 5xx
        (a 4xx is the caller's mistake: its status code is shown, not flagged)."""
        grpc_status = self.attributes.get("rpc.grpc.status_code", 0)
        http_status = self.attributes.get(
            "http.status_code", self.attributes.get("http.response.status_code", 0)
        )
        return (
            self.status == "ERROR"
            or bool(self.exceptions)
            or (isinstance(grpc_status, int) and grpc_status != 0)
            or (isinstance(http_status, int) and http_status >= 500)
        )


def _value(encoded: dict[str, Any]) -> Any:
    """An OTLP-JSON AnyValue as Python (ints are strings in OTLP-JSON)."""
    if "intValue" in encoded:
        return int(encoded["intValue"])
    if "arrayValue" in encoded:
        return [_value(v) for v in encoded["arrayValue"].get("values", [])]
    if "kvlistValue" in encoded:
        return {a["key"]: _value(a["value"]) for a in encoded["kvlistValue"].get("values", [])}
    return next(iter(encoded.values()), None)


def _attributes(encoded: Iterable[dict[str, Any]] | None) -> dict[str, Any]:
    return {a["key"]: _value(a.get("value", {})) for a in encoded or ()}


def _spans_in_line(line: str, fallback_service: str) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        request = json.loads(line)
    except ValueError:  # a line cut short by a process killed mid-write
        return
    for resource in request.get("resourceSpans", []):
        service = _attributes(resource.get("resource", {}).get("attributes")).get(
            "service.name", fallback_service
        )
        for scope in resource.get("scopeSpans", []):
            for span in scope.get("spans", []):
                yield service, span


def _span(service: str, encoded: dict[str, Any]) -> Span:
    status = encoded.get("status", {})
    exceptions = []
    for event in encoded.get("events", []):
        if event.get("name") == "exception":
            attrs = _attributes(event.get("attributes"))
            exceptions.append(f"{attrs.get('exception.type', '?')}: {attrs.get('exception.message', '')}")
    return Span(
        service=service,
        trace_id=encoded["traceId"],
        span_id=encoded["spanId"],
        parent_id=encoded.get("parentSpanId", ""),
        name=encoded.get("name", ""),
        kind=encoded.get("kind", "SPAN_KIND_INTERNAL").removeprefix("SPAN_KIND_"),
        start=int(encoded.get("startTimeUnixNano") or 0),
        end=int(encoded.get("endTimeUnixNano") or 0),
        status=status.get("code", "").removeprefix("STATUS_CODE_") or "UNSET",
        message=status.get("message", ""),
        attributes=_attributes(encoded.get("attributes")),
        exceptions=exceptions,
    )


def trace_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "traces").glob("*.jsonl"))


def all_spans(files: Iterable[Path]) -> Iterator[Span]:
    """Every span of the files, for an analysis over many traces (bench/hall_traces.py)."""
    for path in files:
        with path.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                yield from (_span(service, s) for service, s in _spans_in_line(line, path.stem))


def _lines(files: Iterable[Path], needle: str) -> Iterator[tuple[Path, str]]:
    """The lines that mention ``needle``: a plain substring test before parsing
    keeps a search through files that are never rotated cheap."""
    for path in files:
        with path.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                if needle in line:
                    yield path, line


def find_trace_id(files: Iterable[Path], wanted: str) -> str | None:
    """``wanted`` itself when it is a trace id, else the trace of the gateway request
    with that request id (the last, should a client have reused one)."""
    wanted = wanted.strip()
    if TRACE_ID.match(wanted.lower()):
        return wanted.lower()
    found = None
    for path, line in _lines(files, wanted):
        for _, encoded in _spans_in_line(line, path.stem):
            if _attributes(encoded.get("attributes")).get(REQUEST_ID) == wanted:
                found = encoded["traceId"]
    return found


def load_trace(files: Iterable[Path], trace_id: str) -> list[Span]:
    spans: list[Span] = []
    for path, line in _lines(files, trace_id):
        spans.extend(
            _span(service, s) for service, s in _spans_in_line(line, path.stem) if s["traceId"] == trace_id
        )
    return spans


def _asgi_step(span: Span) -> bool:
    """The ASGI instrumentation's ``http receive`` / ``http send`` spans: one per
    message of every request, timing nothing an SRE looks for."""
    return span.kind == "INTERNAL" and span.name.endswith((" http receive", " http send")) and not span.failed


def build_tree(spans: list[Span], *, everything: bool = False) -> list[Span]:
    """The roots, each with its children in start order. A span whose parent is in no
    file (not flushed yet, or made by the channel that sent ``traceparent``) is a root.
    Without ``everything`` the ASGI message spans are left out."""
    spans = [s for s in spans if everything or not _asgi_step(s)]
    by_id = {s.span_id: s for s in spans}
    roots = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        parent = by_id.get(span.parent_id)
        if parent is not None and parent is not span:
            parent.children.append(span)
        else:
            roots.append(span)
    return roots


def walk(roots: list[Span], depth: int = 0) -> Iterator[tuple[int, Span]]:
    for span in roots:
        yield depth, span
        yield from walk(span.children, depth + 1)


def _shown_attributes(span: Span) -> list[str]:
    shown = []
    for key in KEY_ATTRIBUTES:
        if key not in span.attributes:
            continue
        value = span.attributes[key]
        if key == "db.statement":
            value = " ".join(str(value).split())
            value = value if len(value) <= STATEMENT_WIDTH else value[: STATEMENT_WIDTH - 1] + "…"
        shown.append(f"{key}={value}")
    return shown


def render_text(roots: list[Span]) -> str:
    spans = [s for _, s in walk(roots)]
    if not spans:
        return ""
    t0 = min(s.start for s in spans)
    services = sorted({s.service for s in spans})
    total = (max(s.end for s in spans) - t0) / 1e6
    errors = sum(1 for s in spans if s.failed)
    counted = f"{len(spans)} span" + ("" if len(spans) == 1 else "s")
    lines = [
        f"trace {spans[0].trace_id}: {counted} in {', '.join(services)}; "
        f"{total:.1f} ms; {errors} with an error"
    ]
    width = max(len(s) for s in services)
    for depth, span in walk(roots):
        offset = (span.start - t0) / 1e6
        mark = " ERROR" if span.failed else ""
        head = (
            f"{offset:+10.1f} ms {span.duration_ms:9.1f} ms  {span.service:<{width}}  "
            f"{'  ' * depth}{span.name} [{span.kind.lower()}]{mark}"
        )
        lines.append(head)
        pad = " " * (28 + width + 2 * depth)
        details = _shown_attributes(span)
        if span.parent_id and depth == 0:
            details.append(f"(parent {span.parent_id} is in no trace file)")
        if details:
            lines.append(pad + "  ".join(details))
        if span.message:
            lines.append(pad + f"status: {span.message}")
        lines.extend(pad + f"exception {e}" for e in span.exceptions)
    return "\n".join(lines)


def render_html(roots: list[Span]) -> str:
    """One page, no script and no outside asset: a row per span, a bar at its offset."""
    spans = [s for _, s in walk(roots)]
    t0 = min(s.start for s in spans)
    total = max(max(s.end for s in spans) - t0, 1)
    rows = []
    for depth, span in walk(roots):
        left = 100 * (span.start - t0) / total
        width = max(100 * (span.end - span.start) / total, 0.2)
        details = _shown_attributes(span) + span.exceptions + ([span.message] if span.message else [])
        title = "\n".join(details)
        rows.append(
            f'<tr class="{"error" if span.failed else ""}"><td>{html.escape(span.service)}</td>'
            f'<td style="padding-left:{depth * 1.2 + 0.3}em" title="{html.escape(title)}">'
            f"{html.escape(span.name)} <small>{span.kind.lower()}</small></td>"
            f"<td>{(span.start - t0) / 1e6:.1f}</td><td>{span.duration_ms:.1f}</td>"
            f'<td class="lane"><div style="margin-left:{left:.2f}%;width:{width:.2f}%"></div></td>'
            f"<td><small>{'<br>'.join(html.escape(d) for d in details)}</small></td></tr>"
        )
    return (
        "<!doctype html><meta charset=utf-8>"
        f"<title>trace {spans[0].trace_id}</title><style>"
        "body{font:13px system-ui,sans-serif;margin:1em}table{border-collapse:collapse;width:100%}"
        "td,th{border-bottom:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}"
        "td.lane{width:30%}td.lane div{background:#4a7fd4;height:10px;margin-top:3px}"
        "tr.error td{color:#b00020}tr.error td.lane div{background:#b00020}"
        "</style>"
        f"<h1>trace {spans[0].trace_id}</h1><pre>{html.escape(render_text(roots).splitlines()[0])}</pre>"
        "<table><tr><th>service</th><th>span</th><th>start ms</th><th>ms</th><th></th>"
        "<th>attributes</th></tr>" + "".join(rows) + "</table>"
    )


def recent(files: Iterable[Path], count: int, errors_only: bool) -> list[str]:
    """The last gateway requests: start time, status, duration, ids and route."""
    found = []
    for path, line in _lines(files, REQUEST_ID):
        for service, encoded in _spans_in_line(line, path.stem):
            span = _span(service, encoded)
            if REQUEST_ID not in span.attributes:
                continue
            status = span.attributes.get(
                "http.status_code", span.attributes.get("http.response.status_code", "")
            )
            if errors_only and not (span.failed or (isinstance(status, int) and status >= 400)):
                continue
            found.append(
                (
                    span.start,
                    f"{status!s:>3} {span.duration_ms:8.1f} ms  {span.trace_id}  "
                    f"{span.attributes[REQUEST_ID]}  {span.name}",
                )
            )
    return [text for _, text in sorted(found)[-count:]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.runtime.traceview",
        description="Print one request's trace from the OTLP-JSON files under the data dir.",
    )
    parser.add_argument("id", nargs="?", help="an X-Trace-Id (32 hex) or an X-Request-Id")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("MINTONG_DATA_DIR", "var")),
        help="the platform's data dir (default: $MINTONG_DATA_DIR or ./var)",
    )
    parser.add_argument("--html", type=Path, metavar="FILE", help="also write the tree as an HTML page")
    parser.add_argument("--json", action="store_true", help="print the spans as JSON lines instead")
    parser.add_argument("--all", action="store_true", help="keep the ASGI http send/receive spans too")
    parser.add_argument("--recent", type=int, metavar="N", help="list the last N gateway requests")
    parser.add_argument("--errors", action="store_true", help="with --recent: only answers of 400 and above")
    args = parser.parse_args(argv)
    files = trace_files(args.data_dir)
    if not files:
        print(f"no trace files under {args.data_dir / 'traces'}", file=sys.stderr)
        return 2
    if args.recent:
        print("\n".join(recent(files, args.recent, args.errors)))
        return 0
    if not args.id:
        parser.error("give a trace id or a request id, or --recent N")
    trace_id = find_trace_id(files, args.id)
    if trace_id is None:
        print(
            f"no gateway request with request id {args.id!r} in {args.data_dir / 'traces'}", file=sys.stderr
        )
        return 1
    spans = load_trace(files, trace_id)
    if not spans:
        print(
            f"no span of trace {trace_id} in {args.data_dir / 'traces'} (spans are written every 5 s)",
            file=sys.stderr,
        )
        return 1
    roots = build_tree(spans, everything=args.all)
    if args.json:
        for _, span in walk(roots):
            fields = {k: v for k, v in vars(span).items() if k != "children"}
            print(json.dumps(fields, ensure_ascii=False, default=str))
    else:
        print(render_text(roots))
    if args.html:
        args.html.write_text(render_html(roots), encoding="utf-8")
        print(f"written to {args.html}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # piped into head or less, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
