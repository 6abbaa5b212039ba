"""Vacancy-read benchmark: requests/s and p50/p99 latency of the slot list through the gateway.

It starts the whole platform the way `make up` does (``deploy/local/up.py`` in a
subprocess, its own process group) on a fresh temporary data directory, free ports
and a nats-server of its own, waits for ``/readyz``, then for 1, 16 and 64
concurrent clients sends back-to-back ``GET /v1/offices/{office}/slots`` requests
for a fixed time after a short warm-up. It does this on SQLite, then on PostgreSQL
(tables in ``bench_*`` schemas, dropped afterwards), and prints a markdown table.

    .venv/bin/python bench/vacancy_read.py                       # both databases
    .venv/bin/python bench/vacancy_read.py --database sqlite --seconds 5
    .venv/bin/python bench/vacancy_read.py --write docs/performance.md

The load generator (one Python process on uvloop, each client one keep-alive
connection speaking HTTP/1.1 by hand; ``--client httpx`` for httpx, as before
2026-12-07) runs on the same machine as the platform and competes with it for the
CPU; the results say how much CPU each side used. This is a benchmark, not a test:
it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import math
import os
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop

from bench import harness

CONCURRENCY = (1, 16, 64)
OFFICE, BUSINESS = "zz-jinshui-station", "ID_CARD_RENEWAL"  # from deploy/demo/catalogue.yaml
#: (first, last) day offsets from today; the demo seed publishes slots for 7 days.
DATE_RANGES = ((0, 6), (1, 3), (2, 6), (0, 2), (4, 5))
START, END = "<!-- vacancy-read:start -->", "<!-- vacancy-read:end -->"
REQUEST_TIMEOUT = 10.0
LOAD_CLIENTS = {"raw": "HTTP/1.1 written by hand", "httpx": "httpx"}


@dataclass
class Result:
    database: str
    clients: int
    seconds: float
    latencies: list[float]  # seconds, one per answered request
    errors: int
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by role ("postgres:PID"), in the run

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        rank = max(1, math.ceil(len(ordered) * p / 100))
        return ordered[rank - 1] * 1000

    def cpu_share(self, role: str) -> float:
        """Percent of one core the role's processes used during the measured seconds."""
        used = sum(t for key, t in self.cpu.items() if key == role or key.startswith(role + ":"))
        return 100 * used / self.seconds


# ---------------------------------------------------------------- the load


def slot_paths() -> list[str]:
    today = dt.date.today()
    return [
        f"/v1/offices/{OFFICE}/slots?business={BUSINESS}"
        f"&from={today + dt.timedelta(days=a)}&to={today + dt.timedelta(days=b)}"
        for a, b in DATE_RANGES
    ]


def client(url: str) -> httpx.AsyncClient:
    """One simulated citizen: a client with one keep-alive connection. (Clients share no
    pool: httpx's pool spends time quadratic in its connections, which at 64 made the
    load generator, not the platform, the limit.)"""
    return httpx.AsyncClient(
        base_url=url,
        headers={"X-Mintong-Channel": "web"},
        timeout=REQUEST_TIMEOUT,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


async def load(clients: list[Any], seconds: float) -> tuple[list[float], int, float]:
    """Every client sends requests back to back for `seconds`: latencies, errors, elapsed."""
    paths = slot_paths()
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def citizen(n: int, http: Any) -> None:
        nonlocal errors
        i = n
        while time.perf_counter() < deadline:
            path = paths[i % len(paths)]
            i += 1
            sent = time.perf_counter()
            try:
                answer = await http.get(path)
                status = answer if isinstance(answer, int) else answer.status_code
            except (httpx.HTTPError, OSError, ValueError, asyncio.IncompleteReadError):
                errors += 1
                continue
            if status == 200:
                latencies.append(time.perf_counter() - sent)
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(citizen(n, http) for n, http in enumerate(clients)))
    return latencies, errors, time.perf_counter() - started


async def measure(database: str, args: argparse.Namespace) -> list[Result]:
    print(f"\n{database}: starting the platform ...", flush=True)
    try:
        return await measure_platform(database, args)
    finally:
        if database == "postgresql":
            await harness.drop_schemas(args.database_url)


async def measure_platform(database: str, args: argparse.Namespace) -> list[Result]:
    results = []
    with harness.running_platform(database, args.database_url, dict(args.set)) as platform_:
        async with client(platform_.url) as http:
            print(f"  ready after {await harness.wait_ready(platform_, http):.1f} s", flush=True)
            probe = await http.get(slot_paths()[0])
            if probe.status_code != 200 or not probe.json().get("slots"):
                raise SystemExit(f"the slot list is not usable: {probe.status_code} {probe.text[:300]}")
            slots = len(probe.json()["slots"])
            print(f"  {OFFICE} {BUSINESS}: {slots} slots in the widest date range", flush=True)
        for level in args.clients:
            async with contextlib.AsyncExitStack() as stack:
                made = client if args.client == "httpx" else harness.RawClient
                clients = [await stack.enter_async_context(made(platform_.url)) for _ in range(level)]
                await load(clients, args.warmup)  # also opens the connections
                before = platform_.cpu_seconds()
                latencies, errors, elapsed = await load(clients, args.seconds)
                after = platform_.cpu_seconds()
            cpu = {k: after[k] - before.get(k, 0.0) for k in after}
            result = Result(database, level, elapsed, latencies, errors, cpu)
            results.append(result)
            p50, p99 = result.percentile_ms(50), result.percentile_ms(99)
            print(
                f"  {level:>3} clients: {result.rate:8.1f} req/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms"
                f"  errors {errors}",
                flush=True,
            )
    return results


# ---------------------------------------------------------------- the report


def results_table(results: list[Result]) -> str:
    rows = [
        "| Database | Clients | Requests | Requests/s | p50 (ms) | p99 (ms) | Errors |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        rows.append(
            f"| {r.database} | {r.clients} | {r.requests} | {r.rate:.0f} | {r.percentile_ms(50):.1f} "
            f"| {r.percentile_ms(99):.1f} | {r.errors} |"
        )
    return "\n".join(rows)


CPU_COLUMNS = {  # column: the roles it adds up
    "gateway": ("gateway",),
    "booking": ("booking",),
    "other services, nats, honcho": ("identity", "cards", "notify", "nats", "launcher"),
    "postgres": ("postgres",),
    "load generator": ("load generator",),
    "whole machine": ("machine",),
}


def cpu_table(results: list[Result]) -> str:
    rows = [
        "| Database | Clients | " + " | ".join(CPU_COLUMNS) + " |",
        "|---|--:|" + "--:|" * len(CPU_COLUMNS),
    ]
    for r in results:
        shares = (sum(r.cpu_share(role) for role in roles) for roles in CPU_COLUMNS.values())
        rows.append(f"| {r.database} | {r.clients} | " + " | ".join(f"{x:.0f}" for x in shares) + " |")
    return "\n".join(rows)


def cpu_per_request_table(results: list[Result]) -> str:
    """The same CPU per request: on a shared machine the figure to compare, since
    requests/s also depends on what the other processes of the machine take."""
    columns = {k: v for k, v in CPU_COLUMNS.items() if k != "whole machine"}
    rows = [
        "| Database | Clients | "
        + " | ".join(columns)
        + " | platform (all but the load generator; on SQLite, PostgreSQL too) |",
        "|---|--:|" + "--:|" * (len(columns) + 1),
    ]
    for r in results:
        per = [
            1000
            * sum(
                t for key, t in r.cpu.items() for role in roles if key == role or key.startswith(role + ":")
            )
            / max(r.requests, 1)
            for roles in columns.values()
        ]
        platform = sum(per) - per[list(columns).index("load generator")]
        if r.database == "sqlite":  # the PostgreSQL server served others' work, not this platform
            platform -= per[list(columns).index("postgres")]
        rows.append(
            f"| {r.database} | {r.clients} | " + " | ".join(f"{x:.2f}" for x in per) + f" | {platform:.2f} |"
        )
    return "\n".join(rows)


def report(results: list[Result], args: argparse.Namespace, command: str, pg_version: str | None) -> str:
    today = dt.date.today()
    settings = "default settings: INFO logs, traces to JSON-lines files"
    if args.set:
        settings += ", changed by " + ", ".join(f"`{k}={v}`" for k, v in args.set)
    lines = [
        f"Measured on {today.isoformat()} with `{command}`: for each number of clients, "
        f"{args.warmup:g} s of warm-up, then {args.seconds:g} s of clients each sending "
        f"`GET /v1/offices/{OFFICE}/slots?business={BUSINESS}&from=…&to=…` back to back "
        f"(date ranges of 1 to 7 days, rotated), through the gateway, on a platform started as "
        f"`make up` starts it ({settings}). "
        "Errors are answers other than 200 and failed requests; latencies are of 200 answers.",
        "",
        results_table(results),
        "",
        "CPU used during each measurement, in percent of one core "
        f"(the machine has {os.cpu_count()} cores, {100 * (os.cpu_count() or 1)} % in all):",
        "",
        cpu_table(results),
        "",
        "The same CPU in milliseconds per request (the machine is shared with other work: "
        "compare these, not the requests/s):",
        "",
        cpu_per_request_table(results),
        "",
        f"The machine (the load generator, one Python process on uvloop using {LOAD_CLIENTS[args.client]}, "
        "runs on it too):",
        "",
        *(f"- {k}: {v}" for k, v in harness.machine()),
        f"- Software: {harness.software(pg_version)}",
    ]
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.platform_options(parser, ", e.g. OTEL_SDK_DISABLED=true")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per level (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up per level (default 2)")
    parser.add_argument(
        "--clients",
        type=int,
        nargs="+",
        default=list(CONCURRENCY),
        help="concurrency levels (default 1 16 64)",
    )
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="the load generator's HTTP: raw (HTTP/1.1 written by hand, default) or httpx",
    )
    parser.add_argument("--write", type=Path, metavar="FILE", help="rewrite the results section of FILE")
    args = parser.parse_args()
    if not 0 < args.seconds <= 60 or not 0 <= args.warmup <= 10:
        parser.error("--seconds must be in (0, 60] and --warmup in [0, 10]")
    if not all(0 < n <= 256 for n in args.clients):
        parser.error("--clients must be between 1 and 256")

    databases = [args.database] if args.database else ["sqlite", "postgresql"]
    pg_version = None
    if "postgresql" in databases:
        try:
            pg_version = await harness.drop_schemas(args.database_url)  # leftovers of an interrupted run
        except (OSError, TimeoutError) as exc:
            raise SystemExit(f"PostgreSQL at {args.database_url} is unreachable: {exc}") from exc

    results: list[Result] = []
    for database in databases:
        results += await measure(database, args)

    command = shlex.join(["python", "bench/vacancy_read.py", *sys.argv[1:]])
    section = report(results, args, command, pg_version)
    print("\n" + section)
    if args.write:
        harness.write_section(args.write, section, start=START, end=END, heading="Vacancy read")
        print(f"\nwrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(uvloop.run(main()))
