"""Notify-delivery benchmark: messages/s from booking events to the sandbox SMS provider,
and the p50/p95/p99 latency from publishing an event to its message being delivered.

It starts the whole platform the way `make up` does, with the helpers of
``bench/vacancy_read.py`` (fresh temporary data directory, free ports, a nats-server of
its own; quiet hours switched off so that nothing waits for the morning), gives N
citizens a phone and SMS as their channel (``SetPreferences`` over gRPC), then
publishes one ``mintong.booking.v1.BookingConfirmed`` event per citizen to JetStream,
as booking's outbox relay would, for a booking today (Asia/Shanghai), so that no
day-before reminder is scheduled and each event makes exactly one SMS. An SMS counts
as delivered at the ``recorded_at`` of its row in notify's ``sandbox_records`` table
(read from the SQLite file or the ``benchnd<pid>_notify`` PostgreSQL schema, joined on the
phone); its latency is that time minus the time its event was published.

Each database gets two runs, with citizens of their own: a burst (``--events`` events
published at once: the throughput, and the latency when they queue) and a paced run
(``--paced-rate`` events/s for ``--paced-seconds``, below that throughput: the latency
when little queues). SQLite first, then PostgreSQL (tables in ``benchnd<pid>_*`` schemas,
dropped after); a markdown table at the end. About 2 minutes in all.

    .venv/bin/python bench/notify_delivery.py                       # both databases
    .venv/bin/python bench/notify_delivery.py --database sqlite --events 200 --paced-rate 0
    .venv/bin/python bench/notify_delivery.py --write docs/performance.md
    PYTHONPATH=/tmp/before .venv/bin/python bench/notify_delivery.py --repo /tmp/before   # a "before" row

Notify's CPU a message is counted from the first publish until notify is idle again,
and reported a second time less what notify uses doing nothing (its consumers' empty
fetches, its worker's looks, its metrics), watched for 3 s before each run: in a
paced run those idle loops are a good part of the first figure.

This is a benchmark, not a test: it asserts nothing. Undelivered messages after the
timeout, duplicates and failed deliveries are counted and reported, not raised.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import httpx
import nats
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench import harness
from mintong.booking.v1 import events_pb2
from mintong.common.v1 import common_pb2
from mintong.notify.v1 import notify_pb2 as pb
from mintong.notify.v1 import notify_pb2_grpc as pb_grpc
from services.notify.adapters import orm
from services.runtime.context import CALLER_KEY
from services.runtime.events import EVENT_TYPE, MSG_ID, subject_of
from services.runtime.pii import PiiCipher

START, END = "<!-- notify-delivery:start -->", "<!-- notify-delivery:end -->"
ZONE = ZoneInfo("Asia/Shanghai")  # notify's default MINTONG_NOTIFY_TIME_ZONE
#: Quiet hours (22:00-08:00 by default) would hold the messages until morning.
NO_QUIET_HOURS = {"MINTONG_NOTIFY_QUIET_START": "00:00", "MINTONG_NOTIFY_QUIET_END": "00:00"}
SERVICE = ((CALLER_KEY, "service:bench"),)
#: Schemas of this run only: other people's benchmarks on the same server keep theirs.
SCHEMA_PREFIX = f"benchnd{os.getpid()}_"
#: After the last delivery, notify counts as idle once it used less than this share of
#: a core over IDLE_WINDOW seconds (its follow-on work: the deliveries' final updates).
IDLE_SHARE, IDLE_WINDOW = 0.03, 0.5
#: Seconds notify is watched doing nothing before a run: what its idle loops cost.
IDLE_SAMPLE = 3.0
IN_FLIGHT = 32  # publishes (and SetPreferences calls) awaiting their answer at once
POLL = 0.2  # seconds between looks at the sandbox table


@dataclass
class Run:
    database: str
    rate: float  # events/s asked for; 0: all at once
    published: dict[str, float]  # phone -> when its event was published (Unix seconds)
    publish_seconds: float  # from the first publish to the last one's acknowledgement
    delivered: dict[str, float] = field(default_factory=dict)  # phone -> first recorded_at
    duplicates: int = 0  # sandbox records beyond the first for a phone
    failed: int = 0  # SMS deliveries notify gave up on
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by role, while measured
    cpu_seconds: float = 0.0  # from the first publish until all were seen delivered (or the timeout)
    notify_cpu_to_idle: float = 0.0  # notify's CPU seconds from the first publish until it was idle again
    seconds_to_idle: float = 0.0  # from the first publish until notify was idle again
    notify_idle_share: float = 0.0  # notify's CPU seconds a second just before the run (nothing to do)

    @property
    def latencies(self) -> list[float]:
        return sorted(self.delivered[p] - self.published[p] for p in self.delivered)

    @property
    def missing(self) -> int:
        return len(self.published) - len(self.delivered)

    @property
    def wall(self) -> float:
        """From the first publish to the last delivery."""
        if not self.delivered:
            return float("nan")
        return max(self.delivered.values()) - min(self.published.values())

    @property
    def throughput(self) -> float:
        return len(self.delivered) / self.wall if self.delivered else 0.0

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        ordered = self.latencies
        if not ordered:
            return float("nan")
        return ordered[max(1, math.ceil(len(ordered) * p / 100)) - 1] * 1000

    def cpu_share(self, role: str) -> float:
        """Percent of one core the role's processes used while the run was measured."""
        used = sum(t for key, t in self.cpu.items() if key == role or key.startswith(role + ":"))
        return 100 * used / self.cpu_seconds if self.cpu_seconds else float("nan")

    @property
    def notify_ms_per_message(self) -> float:
        """notify's CPU per delivered message, counted until notify was idle again."""
        return 1000 * self.notify_cpu_to_idle / len(self.delivered) if self.delivered else float("nan")

    @property
    def notify_ms_per_message_less_idle(self) -> float:
        """The same, less what notify spends doing nothing over that time (its consumers'
        empty fetches, the worker's looks, the metrics): a message's own cost."""
        if not self.delivered:
            return float("nan")
        own = self.notify_cpu_to_idle - self.notify_idle_share * self.seconds_to_idle
        return 1000 * own / len(self.delivered)

    @property
    def publishing(self) -> str:
        return "all at once" if not self.rate else f"{self.rate:g}/s"


# ---------------------------------------------------------------- the platform's side


def notify_engine(env: dict[str, str]) -> AsyncEngine:
    """notify's own database, read beside the service (WAL on SQLite: readers do not block it)."""
    if url := env.get("MINTONG_DATABASE_URL"):
        schema = env.get("MINTONG_DB_SCHEMA_PREFIX", "") + "notify"
        return create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    return create_async_engine(f"sqlite+aiosqlite:///{Path(env['MINTONG_DATA_DIR']).resolve() / 'notify.db'}")


def notify_cipher(env: dict[str, str]) -> PiiCipher:
    """The keys notify seals phones with: configured, else its data dir's dev keys."""
    keys, lookup_key = env.get("MINTONG_PII_KEYS"), env.get("MINTONG_PII_LOOKUP_KEY")
    if keys and lookup_key:
        return PiiCipher([k.strip() for k in keys.split(",") if k.strip()], lookup_key)
    return PiiCipher.for_dev(Path(env["MINTONG_DATA_DIR"]))


async def last_seq(engine: AsyncEngine) -> int:
    r = orm.sandbox_records
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.coalesce(func.max(r.c.seq), 0)))).scalar_one())


async def recorded_since(engine: AsyncEngine, cipher: PiiCipher, after: int) -> list[tuple[str, dt.datetime]]:
    """(phone, recorded_at in UTC) of every sandbox record after sequence number `after`."""
    r = orm.sandbox_records
    async with engine.connect() as conn:
        query = select(r.c.to_sealed, r.c.recorded_at).where(r.c.seq > after).order_by(r.c.seq)
        rows = await conn.execute(query)
        return [(cipher.open(to), at if at.tzinfo else at.replace(tzinfo=dt.UTC)) for to, at in rows]


async def count_since(engine: AsyncEngine, after: int) -> int:
    r = orm.sandbox_records
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).where(r.c.seq > after))).scalar_one())


async def wait_recorded(engine: AsyncEngine, after: int, expected: int, seconds: float) -> None:
    """Until `expected` records follow sequence number `after`, or `seconds` have passed."""
    deadline = time.perf_counter() + seconds
    while True:
        if await count_since(engine, after) >= expected or time.perf_counter() >= deadline:
            return
        await asyncio.sleep(POLL)


async def notify_cpu_until_idle(platform_: harness.Platform, within: float = 30.0) -> float:
    """notify's CPU seconds so far, read once it has stopped working (or after `within`)."""
    last = platform_.cpu_seconds().get("notify", 0.0)
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        await asyncio.sleep(IDLE_WINDOW)
        now = platform_.cpu_seconds().get("notify", 0.0)
        if now - last < IDLE_SHARE * IDLE_WINDOW:
            return now
        last = now
    return last


async def failed_sms(engine: AsyncEngine, cipher: PiiCipher, phones: set[str]) -> int:
    d = orm.deliveries
    async with engine.connect() as conn:
        query = select(d.c.address_sealed).where(d.c.channel == "sms", d.c.status == "failed")
        rows = await conn.execute(query)
        return sum(1 for (address,) in rows if cipher.open(address) in phones)


async def wait_for_stream(nats_url: str, stream: str = "BOOKING", within: float = 30.0) -> None:
    """The services create the streams when they connect to NATS, which may follow /readyz."""
    nc = await nats.connect(nats_url)
    try:
        deadline = time.monotonic() + within
        while True:
            try:
                await nc.jetstream().stream_info(stream)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise SystemExit(f"no JetStream stream {stream} after {within:.0f} s") from None
                await asyncio.sleep(0.25)
    finally:
        await nc.close()


# ---------------------------------------------------------------- the load


def phone_of(run: int, n: int) -> str:
    return f"+861{3 + run}{n:09d}"  # eleven digits; one prefix per run


async def give_phones(notify_target: str, citizens: dict[str, str]) -> None:
    """Every citizen prefers SMS, on their own phone (citizen -> phone)."""
    semaphore = asyncio.Semaphore(IN_FLIGHT)
    async with grpc.aio.insecure_channel(notify_target) as channel:
        stub = pb_grpc.NotifyServiceStub(channel)

        async def one(citizen: str, phone: str) -> None:
            preferences = pb.Preferences(
                citizen_id=citizen, language="zh-CN", preferred_channel=pb.DELIVERY_CHANNEL_SMS, phone=phone
            )
            async with semaphore:
                await stub.SetPreferences(
                    pb.SetPreferencesRequest(preferences=preferences), metadata=SERVICE, timeout=30
                )

        await asyncio.gather(*(one(c, p) for c, p in citizens.items()))


def booking_confirmed(booking_id: str, citizen: str, day: dt.date) -> events_pb2.BookingConfirmed:
    """As in tests/integration/test_notify.py, on `day`."""
    return events_pb2.BookingConfirmed(
        booking_id=booking_id,
        citizen_id=citizen,
        city_code="haikou",
        business_name="ID card renewal",
        office_name="Longhua centre",
        office_address="21 Longkun Rd",
        office_phone="0898-1",
        date=common_pb2.Date(year=day.year, month=day.month, day=day.day),
        start=common_pb2.TimeOfDay(hours=16, minutes=30),
        confirmation_code="K7Q2",
        materials=["ID card", "Booklet"],
        visit_requirements=["Mask"],
    )


async def publish(
    nats_url: str, run: int, citizens: dict[str, str], rate: float
) -> tuple[dict[str, float], float]:
    """One BookingConfirmed per citizen, all at once or `rate` per second: when each
    was published (phone -> Unix seconds, taken just before the publish), and how long
    publishing took until the last acknowledgement."""
    today = dt.datetime.now(ZONE).date()  # same day: notify schedules no reminder
    semaphore = asyncio.Semaphore(IN_FLIGHT)
    published: dict[str, float] = {}
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        started = time.perf_counter()

        async def one(n: int, citizen: str, phone: str) -> None:
            if rate:
                await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            event = booking_confirmed(f"bench-{run}-{n}", citizen, today)
            headers = {MSG_ID: f"bench-{run}-{n}-{os.getpid()}", EVENT_TYPE: event.DESCRIPTOR.full_name}
            async with semaphore:
                published[phone] = time.time()
                await js.publish(subject_of(event), event.SerializeToString(), headers=headers, timeout=30)

        await asyncio.gather(*(one(n, c, p) for n, (c, p) in enumerate(citizens.items())))
        return published, time.perf_counter() - started
    finally:
        await nc.close()


async def measure_run(
    database: str,
    run: int,
    events: int,
    rate: float,
    platform_: harness.Platform,
    engine: AsyncEngine,
    args: argparse.Namespace,
) -> Run:
    env = harness.launcher_env(platform_)
    citizens = {f"bench-citizen-{run}-{n:05d}": phone_of(run, n) for n in range(events)}
    started = time.perf_counter()
    await give_phones(f"127.0.0.1:{env['MINTONG_NOTIFY_GRPC_PORT']}", citizens)
    print(f"  {events} citizens given a phone in {time.perf_counter() - started:.1f} s", flush=True)
    after = await last_seq(engine)

    idle_from = platform_.cpu_seconds().get("notify", 0.0)
    await asyncio.sleep(IDLE_SAMPLE)
    idle_share = (platform_.cpu_seconds().get("notify", 0.0) - idle_from) / IDLE_SAMPLE
    before = platform_.cpu_seconds()
    cpu_started = time.perf_counter()
    published, publish_seconds = await publish(env["MINTONG_NATS_URL"], run, citizens, rate)
    result = Run(database, rate, published, publish_seconds, notify_idle_share=idle_share)
    await wait_recorded(engine, after, len(published), args.timeout)
    after_cpu = platform_.cpu_seconds()
    result.cpu_seconds = time.perf_counter() - cpu_started
    result.cpu = {k: after_cpu[k] - before.get(k, 0.0) for k in after_cpu}
    result.notify_cpu_to_idle = await notify_cpu_until_idle(platform_) - before.get("notify", 0.0)
    result.seconds_to_idle = time.perf_counter() - cpu_started

    await asyncio.sleep(1.0)  # a duplicate, if there is one, has a moment to show
    cipher = notify_cipher(env)
    for phone, at in await recorded_since(engine, cipher, after):
        if phone not in published:
            continue
        if phone in result.delivered:
            result.duplicates += 1
        else:
            result.delivered[phone] = at.timestamp()
    result.failed = await failed_sms(engine, cipher, set(published))
    return result


async def measure(database: str, args: argparse.Namespace) -> list[Run]:
    print(f"\n{database}: starting the platform ...", flush=True)
    try:
        return await measure_platform(database, args)
    finally:
        if database == "postgresql":
            await harness.drop_schemas(args.database_url, SCHEMA_PREFIX)


async def measure_platform(database: str, args: argparse.Namespace) -> list[Run]:
    runs = []
    settings = NO_QUIET_HOURS | {"MINTONG_DB_SCHEMA_PREFIX": SCHEMA_PREFIX} | dict(args.set)
    with harness.running_platform(database, args.database_url, settings) as platform_:
        async with httpx.AsyncClient(base_url=platform_.url) as http:
            print(f"  ready after {await harness.wait_ready(platform_, http):.1f} s", flush=True)
        env = harness.launcher_env(platform_)
        await wait_for_stream(env["MINTONG_NATS_URL"])
        engine = notify_engine(env)
        try:
            plan = [(args.events, 0.0)]  # (events, rate)
            if args.paced_rate:
                plan.append((round(args.paced_rate * args.paced_seconds), args.paced_rate))
            for run, (events, rate) in enumerate(plan):
                result = await measure_run(database, run, events, rate, platform_, engine, args)
                runs.append(result)
                print(
                    f"  {result.publishing:>11}: {len(result.published)} events published in "
                    f"{result.publish_seconds:.1f} s, {len(result.delivered)} delivered "
                    f"in {result.wall:.1f} s "
                    f"({result.throughput:.1f}/s), p50 {result.percentile_ms(50):.0f} ms, "
                    f"p99 {result.percentile_ms(99):.0f} ms, missing {result.missing}, "
                    f"duplicates {result.duplicates}, failed {result.failed}; "
                    f"notify CPU {result.cpu_share('notify'):.0f} %, "
                    f"{result.notify_ms_per_message:.1f} ms a message until idle "
                    f"({result.notify_ms_per_message_less_idle:.1f} less its idle "
                    f"{100 * result.notify_idle_share:.1f} % of a core)",
                    flush=True,
                )
        finally:
            await engine.dispose()
    return runs


# ---------------------------------------------------------------- the report


def results_table(runs: list[Run]) -> str:
    rows = [
        "| Database | Publishing | Events | Published in (s) | Delivered | Not delivered | Duplicates "
        "| First publish to last delivery (s) | Delivered/s | p50 (ms) | p95 (ms) | p99 (ms) "
        "| notify CPU a message, until idle (ms) | the same less idle notify's (ms) |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in runs:
        rows.append(
            f"| {r.database} | {r.publishing} | {len(r.published)} | {r.publish_seconds:.1f} "
            f"| {len(r.delivered)} | {r.missing} | {r.duplicates} | {r.wall:.1f} | {r.throughput:.0f} "
            f"| {r.percentile_ms(50):.0f} | {r.percentile_ms(95):.0f} | {r.percentile_ms(99):.0f} "
            f"| {r.notify_ms_per_message:.1f} | {r.notify_ms_per_message_less_idle:.1f} |"
        )
    return "\n".join(rows)


CPU_COLUMNS = {  # column: the roles it adds up
    "notify": ("notify",),
    "nats": ("nats",),
    "other services, gateway, honcho": ("identity", "booking", "cards", "gateway", "launcher"),
    "postgres": ("postgres",),
    "this benchmark": ("load generator",),
    "whole machine": ("machine",),
}


def cpu_table(runs: list[Run]) -> str:
    rows = [
        "| Database | Publishing | " + " | ".join(CPU_COLUMNS) + " |",
        "|---|---|" + "--:|" * len(CPU_COLUMNS),
    ]
    for r in runs:
        shares = (sum(r.cpu_share(role) for role in roles) for roles in CPU_COLUMNS.values())
        rows.append(f"| {r.database} | {r.publishing} | " + " | ".join(f"{x:.0f}" for x in shares) + " |")
    return "\n".join(rows)


def report(runs: list[Run], args: argparse.Namespace, command: str, pg_version: str | None) -> str:
    settings = "default settings (INFO logs, traces to JSON-lines files) but no quiet hours"
    if args.set:
        settings += ", changed by " + ", ".join(f"`{k}={v}`" for k, v in args.set)
    failed = sum(r.failed for r in runs)
    lines = [
        f"Measured on {dt.date.today().isoformat()} with `{command}`, on a platform started as "
        f"`make up` starts it ({settings}). For each run, as many new citizens as events are given "
        "a phone and SMS as their channel, then one `mintong.booking.v1.BookingConfirmed` per "
        "citizen (a booking today, so no reminder) is published to JetStream, all at once (a burst) "
        "or at a steady rate (paced); each becomes one SMS to the sandbox provider. Latency is from "
        "publishing the event to the `recorded_at` of its sandbox record; a message not recorded within "
        f"{args.timeout:g} s of the last publish counts as not delivered"
        + (f"; notify gave up on {failed} of them." if failed else "."),
        "",
        results_table(runs),
        "",
        "CPU used from the first publish to the last delivery, in percent of one core "
        f"(the machine has {os.cpu_count()} cores, {100 * (os.cpu_count() or 1)} % in all):",
        "",
        cpu_table(runs),
        "",
        "The machine is the one described under *Vacancy read* above: "
        + "; ".join(f"{k} {v}" for k, v in harness.machine())
        + f"; {harness.software(pg_version)}.",
    ]
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.platform_options(parser)
    parser.add_argument(
        "--events", type=int, default=1000, help="events of the burst, at most 5000 (default 1000)"
    )
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=20.0,
        help="events/s of the paced run; 0: no paced run (default 20)",
    )
    parser.add_argument(
        "--paced-seconds", type=float, default=15.0, help="length of the paced run (default 15)"
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds after the last publish to wait (default 60)"
    )
    parser.add_argument("--write", type=Path, metavar="FILE", help="rewrite the results section of FILE")
    harness.ports_option(parser)
    parser.add_argument(
        "--repo",
        type=Path,
        help="run the platform from this checkout (a before row: with PYTHONPATH pointing there too)",
    )
    args = parser.parse_args()
    harness.PORT_RANGE = args.ports
    if args.repo:
        harness.REPO, harness.LAUNCHER = args.repo, args.repo / "deploy" / "local" / "up.py"
    if not 1 <= args.events <= 5000:
        parser.error("--events must be between 1 and 5000")
    if not 0 < args.timeout <= 90:
        parser.error("--timeout must be in (0, 90]")
    if not 0 <= args.paced_rate <= 500 or not 0 < args.paced_seconds <= 60:
        parser.error("--paced-rate must be in [0, 500] and --paced-seconds in (0, 60]")

    databases = [args.database] if args.database else ["sqlite", "postgresql"]
    pg_version = None
    if "postgresql" in databases:
        try:
            pg_version = await harness.drop_schemas(args.database_url, SCHEMA_PREFIX)
        except (OSError, TimeoutError) as exc:
            raise SystemExit(f"PostgreSQL at {args.database_url} is unreachable: {exc}") from exc

    runs: list[Run] = []
    for database in databases:
        runs += await measure(database, args)

    command = shlex.join(["python", "bench/notify_delivery.py", *sys.argv[1:]])
    section = report(runs, args, command, pg_version)
    print("\n" + section)
    if args.write:
        harness.write_section(args.write, section, start=START, end=END, heading="Notify delivery")
        print(f"\nwrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
