"""Where the live hall's slowest requests spent their time, read from the trace files
of a run of bench/hall.py kept with ``--keep DIR`` (every process's OTLP-JSON lines,
services/runtime/telemetry.py).

For each gateway request of the hall (check-in, call, served) that started in the
window bench/hall.py prints for its live phase, the time is cut along its spans:

- ``gw before``: the gateway's span until its gRPC call starts (authentication,
  validation, the request's JSON);
- ``to booking``: the gRPC client span's start to booking's server span's start (the
  channel, and booking's event loop until it takes the call up);
- ``sql``: booking's statement spans (each from sending it to its rows read);
- ``booking gaps``: booking's server span less its statements (Python between
  statements, the COMMIT, which has no span of its own, and the event loop busy
  with something else);
- ``back``: booking's server span's end to the client span's end;
- ``gw after``: the client span's end to the gateway span's end (the answer's JSON).

``--waves`` reads a burst's requests of one kind as a wave instead (the bursts'
window: a clerk's requests of one kind sent at one instant): when, from the wave's
first request reaching the gateway, the gateway had sent its last to booking,
booking had taken its last up, and the last was answered, and in how many of
booking's batches (its batch statements, ``WITH asked AS …``, one a batch; they
are all in the trace of the request that started booking's batches, decision 131).

The slowest 1 % is set against the median requests, with what else ran in booking
while each slow one did (other requests' server spans, the outbox relay's publish
spans), and the largest gap of each named by the statements around it; then the
stretches in which booking started and ended no span at all while calls waited on
it (``--silence-ms``).

    .venv/bin/python bench/hall_traces.py /tmp/keep/postgresql --window 1765111234.5 1765111262.1
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from services.runtime.traceview import Span, all_spans, trace_files

KINDS = {"checkins": "check-in", "call": "call", "served": "served"}
PARTS = ("gw before", "to booking", "sql", "booking gaps", "back", "gw after")


@dataclass
class Request:
    kind: str
    gateway: Span
    parts: dict[str, float] = field(default_factory=dict)
    booking: Span | None = None
    statements: list[Span] = field(default_factory=list)

    @property
    def ms(self) -> float:
        return self.gateway.duration_ms


def load(data_dir: Path) -> list[Span]:
    return list(all_spans(trace_files(data_dir)))


def kind_of(span: Span) -> str | None:
    hall = span.name.startswith("POST /v1/staff/offices/")
    if span.service != "gateway" or span.kind != "SERVER" or not hall:
        return None
    return KINDS.get(span.name.rsplit("/", 1)[-1])


def requests(spans: list[Span], since_ns: int, until_ns: int) -> list[Request]:
    children: dict[str, list[Span]] = defaultdict(list)
    for s in spans:
        children[s.parent_id].append(s)
    found = []
    for gw in spans:
        kind = kind_of(gw)
        if kind is None or not since_ns <= gw.start <= until_ns or not gw.end:
            continue
        r = Request(kind, gw)
        client = next(
            (c for c in children[gw.span_id] if c.kind == "CLIENT" and c.name.startswith("/")), None
        )
        server = next((c for c in children[client.span_id] if c.kind == "SERVER"), None) if client else None
        if client is None or server is None:
            continue
        r.booking = server
        r.statements = sorted(
            (c for c in children[server.span_id] if c.kind == "CLIENT" and "db.statement" in c.attributes),
            key=lambda s: s.start,
        )
        sql = sum(s.end - s.start for s in r.statements)
        r.parts = {
            "gw before": (client.start - gw.start) / 1e6,
            "to booking": (server.start - client.start) / 1e6,
            "sql": sql / 1e6,
            "booking gaps": (server.end - server.start - sql) / 1e6,
            "back": (client.end - server.end) / 1e6,
            "gw after": (gw.end - client.end) / 1e6,
        }
        found.append(r)
    return found


def largest_gap(r: Request) -> tuple[float, str]:
    """The longest stretch of booking's server span with no statement running, and
    between which statements it fell."""
    assert r.booking is not None
    # A request's statements run one after another: a gap is from one's end to the next's start.
    ends = [r.booking.start] + [s.end for s in r.statements]
    names = ["start"] + [short(s) for s in r.statements]
    best, where = 0.0, ""
    for i, end in enumerate(ends):
        following = r.statements[i] if i < len(r.statements) else None
        gap = ((following.start if following else r.booking.end) - end) / 1e6
        if gap > best:
            best, where = gap, f"{names[i]} → {short(following) if following else 'end'}"
    return best, where


def short(s: Span) -> str:
    text = " ".join(str(s.attributes.get("db.statement", s.name)).split())
    return text[:48]


def overlapping(spans: list[Span], r: Request) -> tuple[int, int, int]:
    """Booking server spans and relay publish spans running during this request's
    booking span, and gateway hall requests in flight at its start."""
    assert r.booking is not None
    b = r.booking
    others = sum(
        1
        for s in spans
        if s.service == "booking"
        and s.kind == "SERVER"
        and s is not b
        and s.start < b.end
        and b.start < s.end
    )
    relay = sum(
        1
        for s in spans
        if s.service == "booking" and s.kind == "PRODUCER" and s.start < b.end and s.end > b.start
    )
    gateway = sum(
        1 for s in spans if kind_of(s) and s is not r.gateway and s.start <= r.gateway.start < s.end
    )
    return others, relay, gateway


def started_with(starts: list[int], r: Request, ms: float = 10.0) -> int:
    """Other hall requests the clients sent within ``ms`` of this one: a burst."""
    lo, hi = r.gateway.start - ms * 1e6, r.gateway.start + ms * 1e6
    return bisect.bisect_right(starts, hi) - bisect.bisect_left(starts, lo) - 1


def silences(spans: list[Span], since_ns: int, until_ns: int, ms: float) -> list[tuple[int, int, int]]:
    """Stretches of at least ``ms`` in which booking started and ended no span while
    gateway calls to it waited through them: booking not running (descheduled, or
    busy with something that leaves no span). Each as (from, to, calls waiting)."""
    marks = sorted(
        x for s in spans if s.service == "booking" for x in (s.start, s.end) if since_ns <= x <= until_ns
    )
    calls = [
        s
        for s in spans
        if s.service == "gateway"
        and s.kind == "CLIENT"
        and "booking" in s.name
        and since_ns <= s.start <= until_ns
    ]
    found = []
    for x, y in itertools.pairwise(marks):
        if y - x >= ms * 1e6:
            waiting = sum(1 for c in calls if c.start < x and c.end > y)
            if waiting:
                found.append((x, y, waiting))
    return found


def table(title: str, group: list[Request], starts: list[int]) -> None:
    if not group:
        return
    means = {p: statistics.fmean(r.parts[p] for r in group) for p in PARTS}
    total = statistics.fmean(r.ms for r in group)
    stmts = statistics.fmean(len(r.statements) for r in group)
    burst = statistics.fmean(started_with(starts, r) for r in group)
    print(
        f"| {title} | {len(group)} | {total:.1f} | "
        + " | ".join(f"{means[p]:.1f}" for p in PARTS)
        + f" | {stmts:.1f} | {burst:.1f} |"
    )


def waves(found: list[Request], gap_ms: float = 100.0) -> list[list[Request]]:
    """The requests in the order they reached the gateway, cut into waves where the
    kind changes or none came for ``gap_ms``."""
    ordered = sorted(found, key=lambda r: r.gateway.start)
    cut: list[list[Request]] = []
    for r in ordered:
        last = cut[-1][-1] if cut else None
        if last is None or last.kind != r.kind or r.gateway.start - last.gateway.start > gap_ms * 1e6:
            cut.append([])
        cut[-1].append(r)
    return cut


def wave_table(found: list[Request]) -> None:
    """Per kind, the median wave and the slowest (ms from the wave's first request
    reaching the gateway); then the gateway's own span of each request, p50 and p99
    (set against the client's latency, it tells what came before and after it)."""
    print(
        "| wave | waves | requests | gateway sent the last | booking took the last up "
        "| last answered | batches |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind in KINDS.values():
        rows = []
        for wave in waves(found):
            if wave[0].kind != kind:
                continue
            first = wave[0].gateway.start
            rows.append(
                (
                    len(wave),
                    (max(r.gateway.start + r.parts["gw before"] * 1e6 for r in wave) - first) / 1e6,
                    (max(r.booking.start for r in wave if r.booking) - first) / 1e6,
                    (max(r.gateway.end for r in wave) - first) / 1e6,
                    sum(1 for r in wave for s in r.statements if short(s).startswith("WITH asked AS")),
                )
            )
        if not rows:
            continue
        for title, pick in (("median", statistics.median), ("most", max)):
            columns = [pick(row[i] for row in rows) for i in range(5)]
            print(
                f"| {kind}: {title} | {len(rows)} | {columns[0]:.0f} | {columns[1]:.1f} | {columns[2]:.1f} "
                f"| {columns[3]:.1f} | {columns[4]:.0f} |"
            )
    spans = {kind: sorted(r.ms for r in found if r.kind == kind) for kind in KINDS.values()}
    print(
        "\nthe gateway's span, p50 / p99 ms: "
        + ", ".join(
            f"{kind} {ms[len(ms) // 2]:.0f} / {ms[max(1, math.ceil(len(ms) * 0.99)) - 1]:.0f}"
            for kind, ms in spans.items()
            if ms
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, help="a data dir kept by bench/hall.py --keep")
    parser.add_argument("--window", nargs=2, type=float, metavar=("FROM", "TO"), help="epoch seconds")
    parser.add_argument("--show", type=int, default=12, help="slow requests listed one by one")
    parser.add_argument(
        "--silence-ms", type=float, default=40.0, help="booking's silences at least this long (default 40)"
    )
    parser.add_argument("--waves", action="store_true", help="the bursts' waves instead (their window)")
    args = parser.parse_args(argv)
    spans = load(args.data_dir)
    since, until = (int(t * 1e9) for t in args.window) if args.window else (0, 1 << 63)
    found = requests(spans, since, until)
    if not found:
        print("no hall requests in the window", file=sys.stderr)
        return 1
    if args.waves:
        wave_table(found)
        return 0
    found.sort(key=lambda r: r.ms)
    cut = max(1, len(found) // 100)
    slow = found[-cut:]
    middle = found[len(found) // 2 - cut : len(found) // 2 + cut]
    print(f"{len(found)} hall requests; the slowest 1 %: {cut}, from {slow[0].ms:.1f} ms\n")
    starts = sorted(r.gateway.start for r in found)
    print("| requests | n | total ms | " + " | ".join(PARTS) + " | statements | others sent ±10 ms |")
    print("|---|---:|---:|" + "---:|" * len(PARTS) + "---:|---:|")
    for kind in KINDS.values():
        of_kind = [r for r in found if r.kind == kind]
        if of_kind:
            k = max(1, len(of_kind) // 100)
            table(f"{kind}: median", of_kind[len(of_kind) // 2 - k : len(of_kind) // 2 + k], starts)
            table(f"{kind}: slowest 1 %", of_kind[-k:], starts)
    table("all: median", middle, starts)
    table("all: slowest 1 %", slow, starts)
    print(
        "\nslowest one by one (ms; in booking at once / relay publishes during / gateway in flight"
        " / others sent ±10 ms):"
    )
    for r in reversed(found[-args.show :]):
        gap, where = largest_gap(r)
        others, relay, gateway = overlapping(spans, r)
        parts = " ".join(f"{p}={r.parts[p]:.1f}" for p in PARTS)
        print(
            f"  {r.kind:8} {r.ms:6.1f}  {parts}  stmts={len(r.statements)}  "
            f"gap {gap:.1f} ({where})  at once {others}/{relay}/{gateway}/{started_with(starts, r)}"
        )
    quiet = silences(spans, since, until, args.silence_ms)
    print(
        f"\nbooking silent for {args.silence_ms:g} ms or more while gateway calls waited on it: {len(quiet)}"
    )
    for x, y, waiting in quiet:
        print(f"  at {(x - since) / 1e9:6.2f} s for {(y - x) / 1e6:5.0f} ms, {waiting} calls waiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
