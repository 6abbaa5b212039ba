"""Uncontended booking benchmark (issue 12, target 1): N signed-in citizens each book a
different free place, ``--clients`` (64) at a time, on PostgreSQL, the platform as
`make up` starts it, quiet hours off so that every confirmation is sent.

Set-up (not measured), through the gateway as an administrator, as
``bench/flash_crowd.py`` does: a catalogue of its own (one office, ``--slots`` slots
tomorrow, each with room for every citizen it gets, so that no booking is refused),
``--citizens`` made-up residents imported and signed in with real one-time codes.

Then the measurement: ``--clients`` connections, each sending ``POST /v1/bookings`` for
the next citizen waiting (its token, a new Idempotency-Key; citizen n books slot
n mod ``--slots``) as soon as its previous answer is in (a closed loop). Reported:
bookings/s (bookings over the time from the release to the last answer), p50/p99 of
the answers, answers other than 201, and the **CPU each process used per booking**,
counted from the release until the platform is idle again (its processes together
under 5 % of a core, or twice their idle rate measured before the release, for two
seconds in a row), and separately up to the last answer: the gateway, identity,
booking, notify, cards, nats, the launcher, and the PostgreSQL backends serving each
service (found by the client port of each service's connections to 5432, read from
/proc and matched in ``pg_stat_activity``, polled during the run so that a pooled
connection closed meanwhile still counts up to its last poll). The request path is
the gateway, identity, booking and their backends; notify's follow-on work is notify
and its backends.

In the same run, before the release, the raw primitive is measured beside it: the
same citizens, slots and concurrency straight at PostgreSQL with asyncpg, each booking
one transaction of ``UPDATE slots SET booked = booked + 1 WHERE id = $1 AND booked <
capacity`` and an ``INSERT`` of the booking, no gateway, no gRPC.

Each run appends its result to ``--results FILE`` (JSON lines); ``--write`` renders
every result in that file into docs/performance.md, so that a run of another checkout
(``--repo DIR --label before``, as ``bench/token_check.py`` does) and of this one sit
in one table:

    git archive <commit> | tar -x -C /tmp/before
    .venv/bin/python bench/uncontended_booking.py --repo /tmp/before --label "before (<commit>)" \\
        --results /tmp/ub.jsonl
    .venv/bin/python bench/uncontended_booking.py --label after --results /tmp/ub.jsonl \\
        --write docs/performance.md

``--in-process N`` measures booking's own part instead, without the platform: N
bookings (10 at a time, each a different citizen, slots of tomorrow with room) made
by calling the use case in this process (no gRPC, gateway, tracing spans or relay),
two rounds; the CPU time of this process and of its PostgreSQL backends (read from
/proc, found by the schema's ``application_name``) per booking:

    .venv/bin/python bench/uncontended_booking.py --in-process 600
    PYTHONPATH=<the code before>:<its gen> .venv/bin/python bench/uncontended_booking.py --in-process 600

With ``--traced``, tracing is set up in this process as a service's entrypoint sets it
up (every span written as OTLP-JSON lines to a file of the temporary data directory,
``instrument_sql``), and each booking runs under a server span as under booking's gRPC
server: what the statements' spans and their export add to a booking, in isolation.

With ``--grpc`` (and ``--traced``), each booking is a ``Book`` call instead: booking's
real servicer served in this process by ``services.runtime.grpc_server.start_server``
(as booking's host serves it), called through the services' channel
(``grpc_client.insecure_channel``, the gateway's) as the citizen, under a request's
span as the gateway makes it. The CPU is then the servicer's, gRPC's server and
client, and the client span's (a few tens of µs: ``bench/grpc_call.py`` measures the
call alone); against ``--traced`` alone, what gRPC adds to a booking:

    .venv/bin/python bench/uncontended_booking.py --in-process 600 --traced --grpc

This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import resource
import secrets
import shlex
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from bench import harness
from bench.flash_crowd import (
    BUSINESS,
    OFFICE,
    ZONE,
    Admin,
    Profiler,
    catalogue,
    create_raw_schema,
    percentile_ms,
    platform_settings,
)

START, END = "<!-- uncontended-booking:start -->", "<!-- uncontended-booking:end -->"
SCHEMA_PREFIX = f"benchub{os.getpid()}_"
RAW_SCHEMA = f"{SCHEMA_PREFIX}raw"
NO_QUIET_HOURS = {"MINTONG_NOTIFY_QUIET_START": "00:00", "MINTONG_NOTIFY_QUIET_END": "00:00"}
IDLE_SHARE, IDLE_SECONDS, IDLE_LIMIT = 0.05, 2.0, 180.0
POLL = 0.5
#: What the issue calls the request path, and notify's follow-on work.
REQUEST_PATH = (
    "gateway",
    "identity",
    "booking",
    "postgres (gateway)",
    "postgres (identity)",
    "postgres (booking)",
)
FOLLOW_ON = ("notify", "postgres (notify)")
ROLES = (
    *REQUEST_PATH,
    *FOLLOW_ON,
    "cards",
    "postgres (cards)",
    "nats",
    "launcher",
)


# ---------------------------------------------------------------- CPU by process


def _ticks(pid: int) -> float | None:
    try:
        fields = harness._stat(pid)
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_client_ports(pids_by_role: dict[str, list[int]], server_port: int) -> dict[int, str]:
    """The local port of every TCP connection to PostgreSQL's port held by our processes, by role."""
    inode_role: dict[str, str] = {}
    for role, pids in pids_by_role.items():
        for pid in pids:
            with contextlib.suppress(OSError):
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    with contextlib.suppress(OSError):
                        target = os.readlink(fd)
                        if target.startswith("socket:["):
                            inode_role[target[8:-1]] = role
    ports: dict[int, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if len(cols) > 9 and cols[2].endswith(f":{server_port:04X}") and cols[9] in inode_role:
                    ports[int(cols[1].rsplit(":", 1)[1], 16)] = inode_role[cols[9]]
    return ports


class CpuMeter:
    """CPU seconds by role: the platform's processes, and the PostgreSQL backends
    serving each of them, polled so that a backend that ends still counts."""

    def __init__(self, platform_: harness.Platform, database_url: str) -> None:
        self.platform = platform_
        self.dsn = database_url.replace("+asyncpg", "")
        self.server_port = make_url(database_url).port or 5432
        self.backends: dict[int, str] = {}  # backend pid -> role
        self.last: dict[int, float] = {}  # backend pid -> CPU seconds at its last poll
        self.start: dict[int, float] = {}
        self._conn: Any = None

    async def __aenter__(self) -> CpuMeter:
        import asyncpg

        self._conn = await asyncpg.connect(self.dsn)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._conn.close()

    async def poll(self) -> None:
        ports = _postgres_client_ports(
            {r: p for r, p in self.platform.processes().items() if r not in ("nats",)}, self.server_port
        )
        if ports:
            rows = await self._conn.fetch(
                "SELECT pid, client_port FROM pg_stat_activity WHERE client_port = ANY($1::int[])",
                list(ports),
            )
            for row in rows:
                role = "postgres (" + ports[row["client_port"]] + ")"
                if row["pid"] not in self.backends:
                    self.backends[row["pid"]] = role
                    # A backend found now started before or during the measurement:
                    # before it, mark() has recorded it; during it, all its CPU counts.
        for pid in self.backends:
            if (used := _ticks(pid)) is not None:
                self.last[pid] = used

    async def mark(self) -> dict[str, float]:
        """CPU seconds used so far by role (backends: as of this poll)."""
        await self.poll()
        used = {k: v for k, v in self.platform.cpu_seconds().items() if not k.startswith("postgres:")}
        for pid, role in self.backends.items():
            used[role] = used.get(role, 0.0) + self.last.get(pid, 0.0)
        return used

    def platform_seconds(self, used: dict[str, float]) -> float:
        return sum(v for k, v in used.items() if k not in ("load generator", "machine"))


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0.0) for k in after}


# ---------------------------------------------------------------- the run


@dataclass
class Result:
    label: str
    when: str
    citizens: int
    clients: int
    bookings: int
    wall: float  # release to last answer
    idle_after: float  # release to idle again
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    cpu_to_last_answer: dict[str, float]
    cpu_to_idle: dict[str, float]
    idle_rate: float  # platform CPU seconds per second before the release
    raw_rate: float
    raw_p50_ms: float
    raw_p99_ms: float
    #: The raw primitive's CPU in ms a booking: PostgreSQL's backends, asyncpg's client.
    raw_cpu_ms: tuple[float, float] = (float("nan"), float("nan"))
    settings: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)
    command: str = ""

    @property
    def rate(self) -> float:
        return self.bookings / self.wall if self.wall else float("nan")

    def ms_per_booking(self, roles: tuple[str, ...], until_idle: bool = True) -> float:
        used = self.cpu_to_idle if until_idle else self.cpu_to_last_answer
        return 1000 * sum(used.get(r, 0.0) for r in roles) / max(self.bookings, 1)


async def raw_primitive(
    database_url: str, slot_of: list[int], clients: int, pool_size: int
) -> tuple[float, list[float], tuple[float, float]]:
    """Bookings/s and latencies of the same bookings straight at PostgreSQL, same
    concurrency, and their CPU in ms per booking: the PostgreSQL backends' and this
    process's (asyncpg's client side; nothing else runs here meanwhile). What the request
    path's target leaves for everything above the primitive is the difference."""
    import asyncpg

    dsn = database_url.replace("+asyncpg", "")
    setup = await asyncpg.connect(dsn)
    try:
        await create_raw_schema(setup, RAW_SCHEMA)
        await setup.executemany(
            f"INSERT INTO {RAW_SCHEMA}.slots (id, capacity) VALUES ($1, $2)",
            [(i, len(slot_of)) for i in sorted(set(slot_of))],
        )
        pool = await asyncpg.create_pool(
            dsn, min_size=2 * pool_size, max_size=2 * pool_size, server_settings={"search_path": RAW_SCHEMA}
        )
        latencies: list[float] = []
        queue = iter(range(len(slot_of)))
        held = [await pool.acquire() for _ in range(2 * pool_size)]
        backends = [await conn.fetchval("SELECT pg_backend_pid()") for conn in held]
        for conn in held:
            await pool.release(conn)

        async def client() -> None:
            for n in queue:
                sent = time.perf_counter()
                async with pool.acquire() as conn, conn.transaction():
                    done = await conn.execute(
                        "UPDATE slots SET booked = booked + 1 WHERE id = $1 AND booked < capacity", slot_of[n]
                    )
                    if done == "UPDATE 1":
                        await conn.execute(
                            "INSERT INTO bookings (id, citizen_id, slot_id, created_at)"
                            " VALUES ($1, $2, $3, $4)",
                            str(uuid.uuid4()),
                            f"c{n}",
                            slot_of[n],
                            dt.datetime.now(dt.UTC),
                        )
                latencies.append(time.perf_counter() - sent)

        def cpu() -> tuple[float, float]:
            own = resource.getrusage(resource.RUSAGE_SELF)
            return sum(_ticks(pid) or 0.0 for pid in backends), own.ru_utime + own.ru_stime

        try:
            cpu_before, started = cpu(), time.perf_counter()
            await asyncio.gather(*(client() for _ in range(clients)))
            rate, cpu_after = len(slot_of) / (time.perf_counter() - started), cpu()
            backends_ms, client_ms = (
                1000 * (a - b) / len(slot_of) for a, b in zip(cpu_after, cpu_before, strict=True)
            )
            return rate, latencies, (backends_ms, client_ms)
        finally:
            await pool.close()
    finally:
        await setup.execute(f"DROP SCHEMA IF EXISTS {RAW_SCHEMA} CASCADE")
        await setup.close()


async def book_all(
    url: str, people: list[harness.Resident], tokens: list[str], slot_of: list[int], clients: int
) -> tuple[list[float], dict[str, int], float]:
    """Every citizen books once, ``clients`` at a time (closed loop); latencies of 201s,
    other answers by status and code, seconds from the first request to the last answer."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    queue = iter(range(len(people)))

    async def client(http: harness.RawClient) -> None:
        for n in queue:
            headers = {
                "X-Mintong-Channel": people[n].channel,
                "Authorization": f"Bearer {tokens[n]}",
                "Idempotency-Key": str(uuid.uuid4()),
            }
            body = json.dumps({"slot_id": slot_of[n], "business": BUSINESS}).encode()
            sent = time.perf_counter()
            try:
                status, answer = await http.post("/v1/bookings", body, headers)
            except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                key = f"no answer ({type(exc).__name__})"
                errors[key] = errors.get(key, 0) + 1
                continue
            if status == 201:
                latencies.append(time.perf_counter() - sent)
            else:
                code = ""
                with contextlib.suppress(ValueError, AttributeError):
                    code = json.loads(answer).get("code", "")
                key = f"{status} {code}"
                errors[key] = errors.get(key, 0) + 1

    # HTTP/1.1 written by hand (harness.RawClient): httpx took 6-7 ms of CPU a
    # booking on the same two cores, more than the gateway and booking's PostgreSQL.
    https = [harness.RawClient(url) for _ in range(clients)]
    try:
        # One connection each, opened before the release.
        await asyncio.gather(*(h.get("/healthz") for h in https))
        started = time.perf_counter()
        await asyncio.gather(*(client(h) for h in https))
        return latencies, errors, time.perf_counter() - started
    finally:
        await asyncio.gather(*(h.aclose() for h in https))


async def measure(args: argparse.Namespace) -> Result:
    password = secrets.token_urlsafe(24)
    settings = platform_settings(password, args.citizens) | NO_QUIET_HOURS | dict(args.set)
    settings["MINTONG_DB_SCHEMA_PREFIX"] = SCHEMA_PREFIX
    day = dt.datetime.now(ZONE).date() + dt.timedelta(days=1)
    people = harness.residents(args.citizens, args.seed)
    capacity = math.ceil(args.citizens / args.slots)
    # Migrating five databases took over a minute on the shared machine: more than
    # the harness's 90 s were needed before /readyz.
    harness.READY_TIMEOUT = max(harness.READY_TIMEOUT, 300.0)
    if args.repo:
        harness.REPO, harness.LAUNCHER = args.repo, args.repo / "deploy" / "local" / "up.py"
    with harness.running_platform("postgresql", args.database_url, settings) as platform_:
        async with httpx.AsyncClient(base_url=platform_.url, timeout=60) as http:
            print(f"  ready after {await harness.wait_ready(platform_, http):.1f} s", flush=True)
            admin = await Admin.sign_in(http, "bench-admin", password)
            slot_ids = await admin.set_up_day(day, args.slots, capacity)
            await admin.import_residents(people)
            started = time.perf_counter()
            # Fewer at once than the harness's default: on a machine shared with other
            # work, 24 sign-ins at once sometimes ran past a service's deadline.
            tokens = await harness.sign_in_all(platform_.url, admin, people, concurrency=8)
            print(f"  {len(people)} citizens signed in in {time.perf_counter() - started:.0f} s", flush=True)
        slot_of = [slot_ids[n % len(slot_ids)] for n in range(len(people))]
        raw_rate, raw_latencies, raw_cpu = await raw_primitive(args.database_url, slot_of, args.clients, 10)
        print(
            f"  raw asyncpg: {raw_rate:.0f} bookings/s, p99 {percentile_ms(raw_latencies, 99):.0f} ms, "
            f"CPU {raw_cpu[0]:.2f} ms a booking in PostgreSQL + {raw_cpu[1]:.2f} in asyncpg's client",
            flush=True,
        )

        async with CpuMeter(platform_, args.database_url) as meter:
            # Let the sign-ins' follow-on work settle, then measure the idle rate.
            await wait_idle(meter, float("inf"), settle=True)
            quiet = await meter.mark()
            await asyncio.sleep(3.0)
            idle_rate = (meter.platform_seconds(await meter.mark()) - meter.platform_seconds(quiet)) / 3.0
            before = await meter.mark()
            profiler = Profiler(args.profile, platform_, "postgresql")
            poller = asyncio.create_task(keep_polling(meter))
            t0 = time.perf_counter()
            latencies, errors, wall = await book_all(platform_.url, people, tokens, slot_of, args.clients)
            poller.cancel()
            # Its query must end before the meter's connection is asked again.
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            at_last_answer = await meter.mark()
            idle_after = await wait_idle(meter, idle_rate)
            profile = profiler.stop()
            at_idle = await meter.mark()
            idle_after_s = idle_after - t0
    result = Result(
        label=args.label,
        when=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        citizens=len(people),
        clients=args.clients,
        bookings=len(latencies),
        wall=wall,
        idle_after=idle_after_s,
        p50_ms=percentile_ms(latencies, 50),
        p99_ms=percentile_ms(latencies, 99),
        errors=errors,
        cpu_to_last_answer=delta(at_last_answer, before),
        cpu_to_idle=delta(at_idle, before),
        idle_rate=idle_rate,
        raw_rate=raw_rate,
        raw_p50_ms=percentile_ms(raw_latencies, 50),
        raw_p99_ms=percentile_ms(raw_latencies, 99),
        raw_cpu_ms=raw_cpu,
        settings=[f"{k}={v}" for k, v in args.set],
        profile=profile,
        command=shlex.join(["python", "bench/uncontended_booking.py", *sys.argv[1:]]),
    )
    print(
        f"  {result.bookings} bookings in {wall:.1f} s = {result.rate:.0f}/s, p50 {result.p50_ms:.0f} ms, "
        f"p99 {result.p99_ms:.0f} ms, errors {errors}; idle again after {idle_after_s:.1f} s",
        flush=True,
    )
    return result


async def backend_seconds(database_url: str, application_name: str) -> float:
    """CPU seconds so far of the PostgreSQL backends of connections named ``application_name``."""
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""), timeout=5)
    try:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", application_name
        )
    finally:
        await conn.close()
    return sum(_ticks(r["pid"]) or 0.0 for r in pids)


async def in_process(args: argparse.Namespace) -> None:
    """Booking's own CPU per booking, the use case called in this process (see the
    module's docstring); prints table rows, one per round."""
    import shutil
    import tempfile

    from sqlalchemy import select

    from services.booking import bootstrap
    from services.booking.adapters import orm
    from services.booking.config import BookingSettings
    from services.booking.domain.bookings import BookingRequest
    from services.booking.domain.model import Channel
    from services.booking.entrypoints import bookings_servicer
    from services.booking.entrypoints.bookings_servicer import QrSigner
    from services.booking.service_layer import bookings, handlers
    from services.runtime import lifecycle

    work = Path(tempfile.mkdtemp(prefix="mintong-bench-ub-"))
    settings = BookingSettings(
        data_dir=work,
        nats_url="nats://127.0.0.1:1",  # the relay is not started: nothing is published
        database_url=args.database_url,
        db_schema_prefix=SCHEMA_PREFIX,
    )
    if args.traced:
        from opentelemetry import trace

        from services.runtime.sql_tracing import instrument_sql
        from services.runtime.telemetry import setup_tracing

        if setup_tracing("booking", work) is None:
            raise SystemExit("--traced: tracing is off (OTEL_SDK_DISABLED)")
        instrument_sql()
        tracer = trace.get_tracer("bench")

        def request_span() -> Any:
            return tracer.start_as_current_span(
                "/mintong.booking.v1.BookingService/Book", kind=trace.SpanKind.SERVER
            )
    else:
        request_span = contextlib.nullcontext
    app = bootstrap.build(settings)
    lanes = 10
    each = max(1, args.in_process // lanes)
    day = dt.datetime.now(ZONE).date() + dt.timedelta(days=1)
    capacity = math.ceil(3 * lanes * each / args.slots)

    servicer = bookings_servicer.BookingServicer(app.uow, app.clock, QrSigner(b"bench"))
    book_call: Any = None
    if args.grpc:
        from mintong.booking.v1 import bookings_pb2, bookings_pb2_grpc
        from mintong.common.v1 import common_pb2
        from services.runtime import context
        from services.runtime.grpc_client import insecure_channel
        from services.runtime.grpc_server import start_server

        server, port, _ = await start_server(
            lambda s: bookings_pb2_grpc.add_BookingServiceServicer_to_server(servicer, s),
            [bookings_pb2.DESCRIPTOR.services_by_name["BookingService"].full_name],
        )
        channel = insecure_channel(f"127.0.0.1:{port}")
        stub = bookings_pb2_grpc.BookingServiceStub(channel)

        async def book_call(citizen: str, request: BookingRequest) -> None:
            context.caller.set(context.Caller.citizen(citizen))
            await stub.Book(
                bookings_pb2.BookRequest(
                    slot_id=request.slot_id,
                    business_code=request.business_code,
                    channel=common_pb2.CHANNEL_WEB,
                    idempotency_key=str(uuid.uuid4()),
                )
            )

    def render(booking: Any) -> bytes:
        return servicer.to_proto(booking).SerializeToString()

    try:
        await asyncio.to_thread(app.migrate)
        await handlers.load_catalogue(app.uow, catalogue(args.slots, capacity).encode(), "yaml")
        await handlers.publish_slots(app.uow, first=day, last=day, office_id=OFFICE)
        async with app.db.read() as conn:
            slot_ids = list(
                (await conn.execute(select(orm.slots.c.id).where(orm.slots.c.date == day))).scalars()
            )
        run = uuid.uuid4().hex[:8]

        async def lane(round_: int, n: int) -> None:
            for i in range(each):
                citizen = f"bench-{run}-{round_}-{n}-{i}"
                request = BookingRequest(
                    slot_id=slot_ids[(n * each + i) % len(slot_ids)], business_code=BUSINESS
                )
                with request_span():
                    if book_call is not None:
                        await book_call(citizen, request)
                    else:
                        await bookings.book(
                            app.uow, app.clock, citizen, Channel.WEB, request, str(uuid.uuid4()), render
                        )

        name = app.db.schema[:63]
        # As a service process does once it is built (lifecycle.serve): the modules and
        # the set-up out of the collector's reach, or its full collections walk them.
        lifecycle.freeze_what_is_built()
        print("| round | bookings | CPU ms per booking: booking | its PostgreSQL backends | load avg |")
        print("|---:|---:|---:|---:|---:|")
        for round_ in range(3):  # round 0 warms the pool and the caches up, unreported
            started, pg_started = time.process_time(), await backend_seconds(args.database_url, name)
            await asyncio.gather(*(lane(round_, n) for n in range(lanes)))
            done, pg_done = time.process_time(), await backend_seconds(args.database_url, name)
            if round_:
                n = lanes * each
                ours, backends = 1000 * (done - started) / n, 1000 * (pg_done - pg_started) / n
                print(
                    f"| {round_} | {n} | {ours:.2f} | {backends:.2f} | {os.getloadavg()[0]:.1f} |",
                    flush=True,
                )
    finally:
        if args.grpc:
            await channel.close()
            await server.stop(None)
        await app.db.dispose()
        shutil.rmtree(work, ignore_errors=True)


async def keep_polling(meter: CpuMeter) -> None:
    while True:
        await asyncio.sleep(POLL)
        await meter.poll()


async def wait_idle(meter: CpuMeter, idle_rate: float, settle: bool = False) -> float:
    """perf_counter when the platform's CPU stayed under the idle threshold for
    IDLE_SECONDS (at most IDLE_LIMIT seconds from now)."""
    threshold = max(IDLE_SHARE, 2 * idle_rate) if math.isfinite(idle_rate) else IDLE_SHARE
    deadline = time.perf_counter() + IDLE_LIMIT
    quiet_since: float | None = None
    previous = meter.platform_seconds(await meter.mark())
    last = time.perf_counter()
    while time.perf_counter() < deadline:
        await asyncio.sleep(POLL)
        used = meter.platform_seconds(await meter.mark())
        now = time.perf_counter()
        if (used - previous) / (now - last) <= threshold:
            quiet_since = quiet_since if quiet_since is not None else last
            if now - quiet_since >= IDLE_SECONDS:
                return quiet_since
        else:
            quiet_since = None
        previous, last = used, now
    print(f"  (the platform was not idle within {IDLE_LIMIT:.0f} s{' of the sign-ins' if settle else ''})")
    return time.perf_counter()


# ---------------------------------------------------------------- the report


def report(results: list[Result], command: str) -> str:
    r0 = results[-1]
    lines = [
        f"Measured with {command} (each row a run of its own; `--repo` runs the platform from another "
        "checkout), on PostgreSQL, the platform started as `make up` starts it (default settings: INFO "
        "logs, traces to JSON-lines files; no quiet hours, so every confirmation is sent; the per-address "
        "one-time-code limit raised and access tokens made to last 60 minutes for the sign-ins). "
        f"{r0.citizens} citizens signed in beforehand (not measured), then {r0.clients} connections each "
        "sending `POST /v1/bookings` for the next citizen as soon as its previous answer is in; every "
        "citizen books a different place with room (no refusals). Bookings/s: bookings over the time "
        "to the last answer. CPU per booking: each process's CPU time (user + system, from /proc) from the "
        "release until the platform was idle again, divided by the bookings; PostgreSQL's backends are "
        "counted by the service they serve.",
        "",
        "| Code | When | Bookings | Bookings/s | p50 (ms) | p99 (ms) | Not 201 | Idle again after (s) "
        "| Raw primitive bookings/s | Raw p99 (ms) | Raw CPU ms a booking (PostgreSQL + client) "
        "| End-to-end / raw |",
        "|---|---|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        errors = ", ".join(f"{k}: {v}" for k, v in r.errors.items()) or "0"
        label = f"{r.label} ({', '.join(r.settings)})" if r.settings else r.label
        lines.append(
            f"| {label} | {r.when} | {r.bookings} "
            f"| {r.rate:.0f} | {r.p50_ms:.0f} | {r.p99_ms:.0f} | {errors} | {r.idle_after:.1f} "
            f"| {r.raw_rate:.0f} | {r.raw_p99_ms:.0f} | {r.raw_cpu_ms[0]:.2f} + {r.raw_cpu_ms[1]:.2f} "
            f"| {r.rate / r.raw_rate:.1%} |"
        )
    lines += [
        "",
        "CPU per booking in milliseconds, from the release until idle again (in brackets: until the last "
        "answer). Request path: gateway, identity, booking and their PostgreSQL backends (target ≤ 3 ms); "
        "notify's follow-on: notify and its backends (target ≤ 2 ms):",
        "",
        "| Code | " + " | ".join(ROLES) + " | request path | notify follow-on | all |",
        "|---|" + "--:|" * (len(ROLES) + 3),
    ]
    for r in results:
        cells = [
            f"{r.ms_per_booking((role,)):.2f} ({r.ms_per_booking((role,), False):.2f})" for role in ROLES
        ]
        total = tuple(k for k in r.cpu_to_idle if k not in ("load generator", "machine"))
        cells += [
            f"**{r.ms_per_booking(REQUEST_PATH):.2f}** ({r.ms_per_booking(REQUEST_PATH, False):.2f})",
            f"**{r.ms_per_booking(FOLLOW_ON):.2f}** ({r.ms_per_booking(FOLLOW_ON, False):.2f})",
            f"{r.ms_per_booking(total):.2f} ({r.ms_per_booking(total, False):.2f})",
        ]
        lines.append(f"| {r.label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Load generator and machine, same window (ms per booking): "
        + "; ".join(
            f"{r.label}: load generator {r.ms_per_booking(('load generator',)):.2f}, whole machine "
            f"{r.ms_per_booking(('machine',)):.2f} (the platform idled at "
            f"{100 * r.idle_rate:.0f} % of a core before the release)"
            for r in results
        )
        + ".",
    ]
    if any(r.profile for r in results):
        lines += ["", "py-spy (`--gil`) during the run, self time by library:", ""]
        lines += [f"- {r.label} {line}" for r in results for line in r.profile]
    lines += [
        "",
        "Machine: " + "; ".join(f"{k}: {v}" for k, v in harness.machine()) + ".",
    ]
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=harness.POSTGRES_URL, help="PostgreSQL (default: %(default)s)"
    )
    parser.add_argument("--set", type=harness.setting, action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--citizens", type=int, default=2000, help="citizens, one booking each (default 2000)"
    )
    parser.add_argument("--clients", type=int, default=64, help="requests at a time (default 64)")
    parser.add_argument("--slots", type=int, default=100, help="slots of the day (default 100)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--repo", type=Path, help="run the platform from this checkout")
    parser.add_argument("--label", default="this checkout", help="what the report calls the code measured")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="py-spy the run into DIR (if installed)")
    parser.add_argument("--results", type=Path, metavar="FILE", help="append this run's result (JSON lines)")
    parser.add_argument(
        "--write", type=Path, metavar="FILE", help="rewrite the section of FILE from --results"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="measure nothing: render --results into --write"
    )
    parser.add_argument(
        "--in-process", type=int, metavar="N", help="booking's own CPU per booking, no platform (N bookings)"
    )
    parser.add_argument(
        "--traced",
        action="store_true",
        help="with --in-process: tracing on as in a service, each booking under a server span",
    )
    parser.add_argument(
        "--grpc",
        action="store_true",
        help="with --in-process --traced: each booking a Book call to the servicer served in this process",
    )
    harness.ports_option(parser)
    args = parser.parse_args()
    if args.grpc and not (args.in_process and args.traced):
        parser.error("--grpc goes with --in-process and --traced")
    harness.PORT_RANGE = args.ports
    if args.in_process:
        await harness.drop_schemas(args.database_url, SCHEMA_PREFIX)
        try:
            await in_process(args)
        finally:
            await harness.drop_schemas(args.database_url, SCHEMA_PREFIX)
        return 0
    if args.report_only:
        if not args.results or not args.write:
            parser.error("--report-only needs --results and --write")
        results = [Result(**json.loads(line)) for line in args.results.read_text().splitlines() if line]
        commands = " and ".join(f"`{r.command}`" for r in results if r.command)
        harness.write_section(
            args.write, report(results, commands), start=START, end=END, heading="Uncontended booking"
        )
        return 0
    if not 1 <= args.slots <= 100 or not 1 <= args.clients <= 1000 or not 1 <= args.citizens <= 20_000:
        parser.error("--slots in [1, 100], --clients in [1, 1000], --citizens in [1, 20000]")
    try:
        await harness.drop_schemas(args.database_url, SCHEMA_PREFIX)
    except (OSError, TimeoutError) as exc:
        raise SystemExit(f"PostgreSQL at {args.database_url} is unreachable: {exc}") from exc
    try:
        result = await measure(args)
    finally:
        await harness.drop_schemas(args.database_url, SCHEMA_PREFIX)
    results = [result]
    if args.results:
        with args.results.open("a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(result)) + "\n")
        results = [Result(**json.loads(line)) for line in args.results.read_text().splitlines() if line]
    section = report(results, " and ".join(f"`{r.command}`" for r in results if r.command))
    print("\n" + section)
    if args.write:
        harness.write_section(args.write, section, start=START, end=END, heading="Uncontended booking")
        print(f"\nwrote {args.write}")
    return 0


if __name__ == "__main__":
    import uvloop  # booking's event loop (as services/runtime/lifecycle.py runs it), and the load generator's

    sys.exit(uvloop.run(main()))
