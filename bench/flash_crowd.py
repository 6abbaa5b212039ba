"""Flash-crowd benchmark: N signed-in citizens released at once on one day's slots.

It starts the whole platform the way `make up` does, with the helpers of
``bench/vacancy_read.py`` (fresh temporary data directory, free ports, a nats-server of
its own), and through the gateway, as an administrator (the bootstrap account, given
to identity by this script): loads a catalogue of its own (one city, one office, one
day of ``--slots`` slots of ``--capacity`` places, published for tomorrow), imports
``--citizens`` made-up residents with valid ID numbers and phones, and signs every one
of them in with a real one-time code (asked for at /v1/auth/otp, read from notify's
SMS sandbox, exchanged at /v1/auth/token; the per-address code limit is raised for
the run). None of that is measured.

Then the release: every citizen, at the same instant, sends ``POST /v1/bookings``
(its own connection, its channel, a new Idempotency-Key) for a random slot of the
day; refused with ``slot_full``, they try another slot they have not seen full, up
to ``--attempts`` slots. A few citizens (``--double-submit``) send their first
request twice at once with the same key, as a double click does; an answer of 5xx
or a broken connection is retried with the same key, as a careful client would.
Reported: bookings/s (bookings made / time from release to the last answer), the
time to sell out, requests/s, p50/p95/p99 latency of the answers, the answers by
status and problem code, and the CPU each process used.

Afterwards the booking database is read directly (the SQLite file or the
``bench_booking`` schema): no slot oversold, every place counted by a row, every 201
backed by its row (none lost), no citizen with two bookings and no key answered with
two (no duplicates), one BookingConfirmed outbox event per booking, all published.

In the same run, before the release, the raw database primitive alone is measured
with the same driver and the same durability settings, no gateway and no gRPC: the
same number of clients, the same slot choices, each booking one transaction of
``UPDATE slots SET booked = booked + 1 WHERE id = $1 AND booked < capacity`` and an
``INSERT`` of a booking row, on scratch tables (asyncpg with the service's pool size
in a ``bench_raw`` schema; aiosqlite in WAL mode with synchronous=FULL and BEGIN
IMMEDIATE, writers queued on one lock, as the service does). The end-to-end
bookings/s is reported as a share of it.

    .venv/bin/python bench/flash_crowd.py                        # both databases, 2000 citizens
    .venv/bin/python bench/flash_crowd.py --database postgresql --citizens 500
    .venv/bin/python bench/flash_crowd.py --profile /tmp/prof     # py-spy the release, if installed
    .venv/bin/python bench/flash_crowd.py --in-flight 32          # an experiment: an admission queue
    .venv/bin/python bench/flash_crowd.py --write docs/performance.md

This is a benchmark, not a test: it asserts nothing, and reports violations and
missed targets rather than raising them.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import json
import math
import os
import random
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench import harness
from mintong.booking.v1 import events_pb2
from services.booking.adapters import orm

REPO = harness.REPO
START, END = "<!-- flash-crowd:start -->", "<!-- flash-crowd:end -->"
CITY, OFFICE, BUSINESS, GROUP = "benchcity", "bench-hall", "ID_CARD_RENEWAL", "bench"
ZONE = ZoneInfo("Asia/Shanghai")
ADMIN_USER = "bench-admin"
#: Schemas of this run only, so that two runs on one server (or another benchmark's
#: clean-up of ``bench_*``) do not drop each other's tables.
SCHEMA_PREFIX = f"benchfc{os.getpid()}_"
RAW_SCHEMA = f"{SCHEMA_PREFIX}raw"
REQUEST_TIMEOUT = 60.0  # the client's own; the gateway gives up on a service after 5 s
RETRIES = 3  # per request, with the same key, after a 5xx or a broken connection
#: Per request, after a 503 or 429 with Retry-After (the gateway's admission limit).
OVERLOAD_RETRIES = 20
#: Issue 12's targets: p99 of all answers, every place sold within, share of the raw primitive.
TARGET_P99_MS, TARGET_SOLD_OUT_S, TARGET_RATIO = 1000.0, 3.0, 0.10


def catalogue(
    slots: int, capacity: int, *, city: str = CITY, office: str = OFFICE, group: str = GROUP
) -> str:
    """One city, one office, ``slots`` slots of ``capacity`` places a day (10 minutes each from 06:00)."""
    end = dt.datetime(2000, 1, 1, 6, 0) + dt.timedelta(minutes=10 * slots)
    return f"""
cities:
  - code: {city}
    name: Bench City
    time_zone: Asia/Shanghai
    businesses:
      - code: {BUSINESS}
        category: id_card
        name: ID card renewal
        service_guide: Renew an expiring card at the hall.
        materials: [Current ID card]
        phone: "0371-00000000"
        duration_minutes: 10
        handling: window
        channels: [app, wechat, web]
    offices:
      - id: {office}
        name: Bench hall
        kind: service_hall
        address: 1 Bench Road
        location: {{lat: 34.75, lng: 113.66}}
        phone: "0371-10000000"
        opening_hours: {{mon-sun: ["06:00-{end:%H:%M}"]}}
        slot_groups:
          - {{code: {group}, businesses: [{BUSINESS}], capacity: {capacity}, slot_minutes: 10}}
"""


def residents_csv(people: list[harness.Resident]) -> str:
    lines = [
        "id_number,name,phone,city,household_address,photo_captured_on,fingerprint_on_file,"
        "card_issued_on,card_expires_on,card_status"
    ]
    for r in people:
        lines.append(f"{r.id_number},{r.name},{r.phone[3:]},{CITY},,,,,,valid")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- results


@dataclass
class Answer:
    citizen: int
    status: int  # 0: no answer (connection broken, client timeout)
    code: str  # problem code, or "" for 201
    latency: float
    done_at: float  # seconds after the release
    booking_id: str = ""
    replayed: bool = False
    key: str = ""


@dataclass
class Crowd:
    """What the citizens saw."""

    answers: list[Answer]
    wall: float  # release to last answer
    sold_out_at: float | None  # release to the answer of the last booking made
    cpu: dict[str, float] = field(default_factory=dict)
    #: The machine's 1-minute load average at the release and at the last answer (a
    #: shared machine: what the latencies and times are to be read against).
    load: tuple[float, float] = (float("nan"), float("nan"))
    #: The load generator's own event loop: how late a 10 ms sleep woke, the most in
    #: the release's first two seconds (while it connects and sends the first wave, it
    #: reads the answers late: their latency is partly its own) and after.
    stalled: tuple[float, float] = (float("nan"), float("nan"))
    #: Each connection the crowd opened: seconds after the release it was asked for,
    #: and how long the TCP connect took (what the first wave's answers wait for before
    #: the gateway has even read them; a SYN dropped at a full queue is retried after 1 s).
    connects: list[tuple[float, float]] = field(default_factory=list)
    #: The kernel's TCP counters that a crowd at the door moves (ListenOverflows,
    #: ListenDrops, SYN cookies, retransmits), over the release. The machine's, not the
    #: gateway's alone: other work's connections count too.
    tcp: dict[str, int] = field(default_factory=dict)

    @property
    def first_booking_at(self) -> float | None:
        """Release to the answer of the first booking made (how long the crowd's
        arrival holds the first places back)."""
        return min((a.done_at for a in self.made), default=None)

    def first_wave(self) -> str:
        """How the requests sent in the release's first second fared: the TCP connects
        (median, most), when the wave's 503s and first bookings were answered (median
        seconds after the release), and its answers within the first second."""
        wave = [a for a in self.answers if a.done_at - a.latency < 1.0]
        connects = sorted(took for at, took in self.connects if at < 1.0)
        refused = sorted(a.done_at for a in wave if a.status == 503)
        made = sorted(a.done_at for a in wave if a.status == 201)
        most = max(connects, default=0.0)
        return (
            f"{len(wave)} requests sent in the first second, {sum(a.done_at < 1.0 for a in wave)} answered "
            f"in it; connects {1000 * _median(connects):.0f} ms median, {1000 * most:.0f} ms most "
            f"({sum(took >= 1.0 for took in connects)} over 1 s); their 503s answered after "
            f"{_median(refused):.2f} s (median), their bookings after {_median(made):.2f} s"
        )

    def turned_away(self) -> tuple[float, int]:
        """503s per citizen: the mean, and the most one citizen was given."""
        counted = collections.Counter(a.citizen for a in self.answers if a.status == 503)
        citizens = len({a.citizen for a in self.answers}) or 1
        return sum(counted.values()) / citizens, max(counted.values(), default=0)

    @property
    def made(self) -> list[Answer]:
        return [a for a in self.answers if a.status == 201 and not a.replayed]

    @property
    def answered(self) -> list[Answer]:
        return [a for a in self.answers if a.status]

    def percentile_ms(self, p: float, answers: list[Answer] | None = None) -> float:
        return percentile_ms([a.latency for a in (self.answered if answers is None else answers)], p)

    def by_status(self) -> dict[str, int]:
        counted: collections.Counter[str] = collections.Counter()
        for a in self.answers:
            if a.status == 201:
                counted["201 replayed" if a.replayed else "201"] += 1
            elif a.status == 0:
                counted[f"no answer ({a.code})"] += 1
            else:
                counted[f"{a.status} {a.code}".strip()] += 1
        return dict(sorted(counted.items()))

    def by_second(self) -> list[tuple[int, collections.Counter[int]]]:
        """Each second of the release and the answers that came in it, by status."""
        seconds: dict[int, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        for a in self.answers:
            seconds[int(a.done_at)][a.status] += 1
        return sorted(seconds.items())

    def timeline(self) -> list[str]:
        """Each second of the release: the answers that came in it, by status (how the
        places went and what the crowd was told meanwhile)."""
        return [
            f"{s:>3}-{s + 1} s: "
            + ", ".join(f"{status or 'none'} × {n}" for status, n in sorted(counts.items()))
            for s, counts in self.by_second()
        ]

    def cpu_share(self, role: str) -> float:
        used = sum(t for key, t in self.cpu.items() if key == role or key.startswith(role + ":"))
        return 100 * used / self.wall if self.wall else float("nan")


@dataclass
class Raw:
    """The raw primitive: one run of the same crowd against scratch tables."""

    driver: str
    latencies: list[float]
    made: int
    wall: float  # start to last answer
    sold_out_at: float  # start to the last booking made

    @property
    def rate(self) -> float:
        return self.made / self.sold_out_at if self.sold_out_at else float("nan")

    @property
    def transactions_per_s(self) -> float:
        return len(self.latencies) / self.wall


@dataclass
class Check:
    slots: int = 0
    oversold: int = 0  # slots with more bookings (or counted places) than capacity
    miscounted: int = 0  # slots whose counter differs from their live rows
    lost: int = 0  # 201 answers without their booking row
    unanswered: int = 0  # rows no citizen got a 201 for
    duplicates: int = 0  # citizens with two bookings, or a key answered with two ids
    events_missing: int = 0  # bookings without exactly one BookingConfirmed
    events_unpublished: int = 0

    @property
    def violations(self) -> int:
        return self.oversold + self.miscounted + self.lost + self.duplicates + self.events_missing


@dataclass
class Result:
    database: str
    citizens: int
    seats: int
    crowd: Crowd
    raws: list[Raw]
    check: Check
    sign_in_seconds: float
    profile: list[str] = field(default_factory=list)

    @property
    def raw_rate(self) -> float:
        return statistics.median(r.rate for r in self.raws)

    @property
    def rate(self) -> float:
        """Bookings made per second, until the last one was made (the day sold out)."""
        sold_out = self.crowd.sold_out_at
        return len(self.crowd.made) / sold_out if sold_out else float("nan")

    @property
    def ratio(self) -> float:
        return self.rate / self.raw_rate


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


#: The kernel's TCP counters a crowd at the listening socket moves (/proc/net/netstat
#: and /proc/net/snmp): the accept queue full (ListenOverflows), SYNs dropped
#: (ListenDrops), the SYN queue full and answered by cookies, segments retransmitted.
TCP_COUNTERS = (
    "ListenOverflows",
    "ListenDrops",
    "TCPReqQFullDoCookies",
    "TCPReqQFullDrop",
    "SyncookiesSent",
    "RetransSegs",
)


def tcp_counters() -> dict[str, int]:
    """The machine's TCP_COUNTERS now (empty where /proc has none)."""
    found: dict[str, int] = {}
    for source in ("/proc/net/netstat", "/proc/net/snmp"):
        with contextlib.suppress(OSError):
            lines = Path(source).read_text().splitlines()
            for names, values in zip(lines[::2], lines[1::2], strict=False):
                for name, value in zip(names.split()[1:], values.split()[1:], strict=False):
                    if name in TCP_COUNTERS:
                        found[name] = int(value)
    return found


def percentile_ms(values: list[float], p: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(1, math.ceil(len(ordered) * p / 100)) - 1] * 1000


# ---------------------------------------------------------------- the crowd's choices


@dataclass(frozen=True)
class Plan:
    """One citizen's slots in the order they will try them, and whether they double-click."""

    slots: tuple[int, ...]
    double: bool


def plans(count: int, slot_ids: list[int], attempts: int, double_share: float, seed: int) -> list[Plan]:
    rng = random.Random(seed)
    return [
        Plan(tuple(rng.sample(slot_ids, min(attempts, len(slot_ids)))), rng.random() < double_share)
        for _ in range(count)
    ]


# ---------------------------------------------------------------- the platform's side


def booking_engine(env: dict[str, str]) -> AsyncEngine:
    if url := env.get("MINTONG_DATABASE_URL"):
        schema = env.get("MINTONG_DB_SCHEMA_PREFIX", "") + "booking"
        return create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    return create_async_engine(
        f"sqlite+aiosqlite:///{Path(env['MINTONG_DATA_DIR']).resolve() / 'booking.db'}"
    )


class Admin(harness.Staff):
    """The benchmark's administrator: its catalogue, its slots, its residents."""

    async def set_up_day(self, day: dt.date, slots: int, capacity: int) -> list[int]:
        answer = await self.http.put(
            "/v1/admin/catalogue",
            content=catalogue(slots, capacity).encode(),
            headers={**self.headers, "Content-Type": "application/yaml"},
        )
        harness.ok(answer, "catalogue")
        answer = await self.http.post(
            "/v1/admin/slots/publish",
            json={"office_id": OFFICE, "from": day.isoformat(), "to": day.isoformat()},
            headers=self.headers,
        )
        harness.ok(answer, "publish slots")
        answer = await self.http.get(
            f"/v1/offices/{OFFICE}/slots",
            params={"business": BUSINESS, "from": day.isoformat(), "to": day.isoformat()},
            headers=self.headers,
        )
        harness.ok(answer, "slot list")
        found = answer.json()["slots"]
        if len(found) != slots or any(s["remaining"] != capacity for s in found):
            raise SystemExit(f"expected {slots} empty slots of {capacity}, found {found[:3]}…")
        return [s["id"] for s in found]

    async def import_residents(self, people: list[harness.Resident]) -> None:
        """The register import is a job: 202 with its Location, then its status
        asked for until it is over."""
        answer = await self.http.post(
            "/v1/admin/residents/import",
            content=residents_csv(people).encode(),
            headers={**self.headers, "Content-Type": "text/csv"},
            timeout=120,
        )
        harness.ok(answer, "resident import")
        where = answer.headers["location"]
        while (job := answer.json())["state"] not in ("done", "failed"):
            await asyncio.sleep(0.5)
            answer = await self.http.get(where, headers=self.headers)
            harness.ok(answer, "resident import status")
        if job["state"] == "failed" or job["rejected"]:
            raise SystemExit(f"residents refused: {job['error'] or job['rejections'][:3]}")


# ---------------------------------------------------------------- the release


async def release(
    platform_: Any,
    people: list[harness.Resident],
    tokens: list[str],
    crowd_plans: list[Plan],
    in_flight: int = 0,
) -> Crowd:
    """``in_flight``: at most this many requests at the gateway at once, the others
    queued in the load generator (their wait counts in their latency), as an
    admission queue in front of the platform would; 0: no limit, a true flash crowd."""
    answers: list[Answer] = []
    connects: list[tuple[float, float]] = []
    go = asyncio.Event()
    t0 = 0.0
    admission = asyncio.Semaphore(in_flight) if in_flight else contextlib.nullcontext()

    class Client(harness.RawClient):
        """A citizen's connection, its TCP connect timed (in the request's latency
        as before: the same connect, at the same moment)."""

        async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            asked = time.perf_counter()
            opened = await super().connect()
            connects.append((asked - t0, time.perf_counter() - asked))
            return opened

    async def send(n: int, http: harness.RawClient, slot_id: int, key: str) -> Answer:
        """One booking request, retried with the same key after a 5xx, a 429 or a broken
        connection (after the Retry-After of a 503 or 429, when there is one)."""
        attempt = overloaded = 0
        body = json.dumps({"slot_id": slot_id, "business": BUSINESS}).encode()
        headers = {**identities[n], "Idempotency-Key": key}
        while True:
            sent = time.perf_counter()
            try:
                async with admission, asyncio.timeout(REQUEST_TIMEOUT):
                    status, answer = await http.post("/v1/bookings", body, headers)
            except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                now = time.perf_counter()
                result = Answer(n, 0, type(exc).__name__, now - sent, now - t0, key=key)
            else:
                now = time.perf_counter()
                fields = _json(answer)
                result = Answer(
                    n,
                    status,
                    "" if status == 201 else str(fields.get("code", "")),
                    now - sent,
                    now - t0,
                    booking_id=str(fields.get("id", "")) if status == 201 else "",
                    replayed=http.header(b"idempotent-replayed") == "true",
                    key=key,
                )
            answers.append(result)
            if result.status and result.status < 500 and result.status != 429:
                return result
            wait = (http.header(b"retry-after") or "") if result.status in (429, 503) else ""
            if wait.isdigit() and overloaded < OVERLOAD_RETRIES:
                # Turned away at the door: come back when told, jittered so that the
                # crowd does not come back all at once.
                overloaded += 1
                await asyncio.sleep(int(wait) * random.uniform(1.0, 2.0))
            elif attempt < RETRIES:  # back off as a careful client does: 1, 2, 4 s, jittered
                await asyncio.sleep(random.uniform(0.5, 1.5) * 2**attempt)
                attempt += 1
            else:
                return result

    async def citizen(n: int) -> None:
        plan = crowd_plans[n]
        await go.wait()
        # Its own keep-alive connection, opened by its first request (the connect is
        # in that request's latency), as a citizen's phone does.
        async with Client(platform_.url) as http:
            for i, slot_id in enumerate(plan.slots):
                key = str(uuid.uuid4())
                if i == 0 and plan.double:
                    # The double click: the same key twice at once, the second on a
                    # connection of its own (a phone's second tap does not wait for
                    # the first answer).
                    async with Client(platform_.url) as twin:
                        first, _ = await asyncio.gather(
                            send(n, http, slot_id, key), send(n, twin, slot_id, key)
                        )
                else:
                    first = await send(n, http, slot_id, key)
                if not (first.status == 409 and first.code == "slot_full"):
                    return  # booked, or refused for a reason another slot will not change

    # HTTP/1.1 written by hand (harness.RawClient, decision 98): httpx, one client per
    # citizen, took 1.5 ms of CPU a request, twice the gateway's, on the same two cores.
    identities = [
        {"X-Mintong-Channel": person.channel, "Authorization": f"Bearer {token}"}
        for person, token in zip(people, tokens, strict=True)
    ]
    tasks = [asyncio.create_task(citizen(n)) for n in range(len(people))]
    await asyncio.sleep(1.0)  # every citizen waits at the gate
    stalls: list[tuple[float, float]] = []
    released = asyncio.Event()

    async def watch_own_loop() -> None:
        while not released.is_set():
            slept = time.perf_counter()
            await asyncio.sleep(0.01)
            stalls.append((slept - t0, time.perf_counter() - slept - 0.01))

    before = platform_.cpu_seconds()
    load_before = os.getloadavg()[0]
    tcp_before = tcp_counters()
    t0 = time.perf_counter()
    go.set()
    watcher = asyncio.create_task(watch_own_loop())
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    released.set()
    await watcher
    after = platform_.cpu_seconds()
    load_after = os.getloadavg()[0]
    tcp_after = tcp_counters()
    made = [a.done_at for a in answers if a.status == 201 and not a.replayed]
    return Crowd(
        answers,
        wall,
        max(made) if made else None,
        {k: after[k] - before.get(k, 0.0) for k in after},
        (load_before, load_after),
        (
            max((late for at, late in stalls if at < 2.0), default=0.0),
            max((late for at, late in stalls if at >= 2.0), default=0.0),
        ),
        connects,
        {k: v - tcp_before[k] for k, v in tcp_after.items() if k in tcp_before},
    )


def _json(body: bytes) -> dict[str, Any]:
    try:
        fields = json.loads(body)
    except ValueError:
        return {}
    return fields if isinstance(fields, dict) else {}


# ---------------------------------------------------------------- checking afterwards


async def check(env: dict[str, str], crowd: Crowd, slot_ids: list[int], within: float = 60.0) -> Check:
    engine = booking_engine(env)
    b, s, o = orm.bookings, orm.slots, orm.outbox
    found = Check(slots=len(slot_ids))
    try:
        # The relay publishes behind the bookings; give it time to catch up.
        deadline = time.monotonic() + within
        while True:
            async with engine.connect() as conn:
                unpublished = (
                    await conn.execute(select(func.count()).select_from(o).where(o.c.published_at.is_(None)))
                ).scalar_one()
            if not unpublished or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        found.events_unpublished = int(unpublished)
        async with engine.connect() as conn:
            slots = (
                await conn.execute(
                    select(s.c.id, s.c.capacity, s.c.booked, s.c.held).where(s.c.id.in_(slot_ids))
                )
            ).all()
            rows = (
                await conn.execute(
                    select(b.c.id, b.c.citizen_id, b.c.slot_id, b.c.status).where(b.c.slot_id.in_(slot_ids))
                )
            ).all()
            confirmed: collections.Counter[str] = collections.Counter()
            for (payload,) in await conn.execute(
                select(o.c.payload).where(o.c.event_type == "mintong.booking.v1.BookingConfirmed")
            ):
                confirmed[events_pb2.BookingConfirmed.FromString(payload).booking_id] += 1
    finally:
        await engine.dispose()
    live = collections.Counter(r.slot_id for r in rows if r.status != "cancelled")
    for slot in slots:
        if slot.booked + slot.held > slot.capacity or live[slot.id] > slot.capacity:
            found.oversold += 1
        if slot.booked != live[slot.id]:
            found.miscounted += 1
    ids = {r.id for r in rows}
    acknowledged = {a.booking_id for a in crowd.answers if a.status == 201}
    found.lost = len(acknowledged - ids)
    found.unanswered = len(ids - acknowledged)
    per_citizen = collections.Counter(r.citizen_id for r in rows)
    found.duplicates = sum(n - 1 for n in per_citizen.values() if n > 1)
    per_key: dict[str, set[str]] = collections.defaultdict(set)
    for a in crowd.answers:
        if a.status == 201:
            per_key[a.key].add(a.booking_id)
    found.duplicates += sum(len(v) - 1 for v in per_key.values())
    found.events_missing = sum(1 for i in ids if confirmed[i] != 1)
    return found


# ---------------------------------------------------------------- the raw primitive


async def create_raw_schema(setup: Any, schema: str = RAW_SCHEMA) -> None:
    """The raw primitive's two tables, new, in ``schema`` (``setup``: an asyncpg connection)."""
    await setup.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    await setup.execute(
        f"""CREATE TABLE {schema}.slots (id bigint PRIMARY KEY, capacity int NOT NULL,
            booked int NOT NULL DEFAULT 0, CHECK (booked >= 0 AND booked <= capacity));
        CREATE TABLE {schema}.bookings (id varchar(36) PRIMARY KEY,
            citizen_id varchar(64) NOT NULL, slot_id bigint NOT NULL REFERENCES {schema}.slots (id),
            created_at timestamptz NOT NULL)"""
    )


async def raw_postgresql(database_url: str, crowd_plans: list[Plan], capacity: int, pool_size: int) -> Raw:
    import asyncpg

    dsn = database_url.replace("+asyncpg", "")
    setup = await asyncpg.connect(dsn)
    try:
        await create_raw_schema(setup)
        ids = sorted({s for p in crowd_plans for s in p.slots})
        await setup.executemany(
            f"INSERT INTO {RAW_SCHEMA}.slots (id, capacity) VALUES ($1, $2)", [(i, capacity) for i in ids]
        )
        # The service's pool: pool_size connections plus as many again in overflow.
        pool = await asyncpg.create_pool(
            dsn, min_size=2 * pool_size, max_size=2 * pool_size, server_settings={"search_path": RAW_SCHEMA}
        )
        try:

            async def book(citizen: str, slot_id: int) -> bool:
                async with pool.acquire() as conn, conn.transaction():
                    done = await conn.execute(
                        "UPDATE slots SET booked = booked + 1 WHERE id = $1 AND booked < capacity", slot_id
                    )
                    if done != "UPDATE 1":
                        return False
                    await conn.execute(
                        "INSERT INTO bookings (id, citizen_id, slot_id, created_at) VALUES ($1, $2, $3, $4)",
                        str(uuid.uuid4()),
                        citizen,
                        slot_id,
                        dt.datetime.now(dt.UTC),
                    )
                    return True

            return await _raw_crowd("asyncpg", crowd_plans, book)
        finally:
            await pool.close()
    finally:
        await setup.execute(f"DROP SCHEMA IF EXISTS {RAW_SCHEMA} CASCADE")
        await setup.close()


async def raw_sqlite(directory: Path, crowd_plans: list[Plan], capacity: int) -> Raw:
    import aiosqlite

    path = directory / f"raw-{uuid.uuid4().hex[:8]}.db"
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        # What services.runtime.db does for every SQLite database.
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=10000", "foreign_keys=ON"):
            await conn.execute(f"PRAGMA {pragma}")
        await conn.executescript(
            """CREATE TABLE slots (id INTEGER PRIMARY KEY, capacity INTEGER NOT NULL,
                booked INTEGER NOT NULL DEFAULT 0, CHECK (booked >= 0 AND booked <= capacity));
            CREATE TABLE bookings (id VARCHAR(36) PRIMARY KEY, citizen_id VARCHAR(64) NOT NULL,
                slot_id INTEGER NOT NULL REFERENCES slots (id), created_at DATETIME NOT NULL);"""
        )
        ids = sorted({s for p in crowd_plans for s in p.slots})
        await conn.executemany("INSERT INTO slots (id, capacity) VALUES (?, ?)", [(i, capacity) for i in ids])
        writer = asyncio.Lock()  # one writer at a time, queued in the process, as the service does

        async def book(citizen: str, slot_id: int) -> bool:
            async with writer:
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    cursor = await conn.execute(
                        "UPDATE slots SET booked = booked + 1 WHERE id = ? AND booked < capacity", (slot_id,)
                    )
                    if cursor.rowcount != 1:
                        await conn.execute("ROLLBACK")
                        return False
                    await conn.execute(
                        "INSERT INTO bookings (id, citizen_id, slot_id, created_at) VALUES (?, ?, ?, ?)",
                        (str(uuid.uuid4()), citizen, slot_id, dt.datetime.now(dt.UTC).isoformat()),
                    )
                    await conn.execute("COMMIT")
                    return True
                except BaseException:
                    await conn.execute("ROLLBACK")
                    raise

        return await _raw_crowd("aiosqlite", crowd_plans, book)
    finally:
        await conn.close()
        for suffix in ("", "-wal", "-shm"):
            await asyncio.to_thread(Path(f"{path}{suffix}").unlink, missing_ok=True)


async def _raw_crowd(driver: str, crowd_plans: list[Plan], book: Any) -> Raw:
    """The same citizens with the same slot choices, straight at the database."""
    latencies: list[float] = []
    made: list[float] = []
    go = asyncio.Event()

    async def citizen(n: int, plan: Plan) -> None:
        await go.wait()
        for slot_id in plan.slots:
            sent = time.perf_counter()
            ok = await book(f"c{n}", slot_id)
            latencies.append(time.perf_counter() - sent)
            if ok:
                made.append(time.perf_counter() - started)
                return

    tasks = [asyncio.create_task(citizen(n, p)) for n, p in enumerate(crowd_plans)]
    await asyncio.sleep(0.2)
    started = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    return Raw(driver, latencies, len(made), time.perf_counter() - started, max(made, default=0.0))


# ---------------------------------------------------------------- profiling (optional)


class Profiler:
    """py-spy on the gateway, booking and identity processes during the release,
    when asked for and installed (``pip install py-spy``): samples of the thread
    holding the GIL (what uses the CPU), as collapsed stacks."""

    ROLES = ("gateway", "booking", "identity")

    def __init__(self, directory: Path | None, platform_: Any, database: str, seconds: float = 0) -> None:
        self.processes: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        binary = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
        if directory is None:
            return
        if binary is None:
            print("  (--profile: py-spy is not installed; no profile)", flush=True)
            return
        directory.mkdir(parents=True, exist_ok=True)
        roles = platform_.processes()
        for role in self.ROLES:
            for pid in roles.get(role, []):
                out = directory / f"{database}-{role}-{pid}.txt"
                command = [binary, "record", "--pid", str(pid), "--rate", "100", "--gil", "--full-filenames"]
                command += ["--format", "raw", "--output", str(out), "--nonblocking"]
                if seconds:
                    # The crowd waits a second at the gate (release) before it goes.
                    command += ["--duration", str(math.ceil(1 + seconds))]
                process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                self.processes.append((role, process, out))

    def stop(self) -> list[str]:
        """Stop sampling; where each process spent its samples."""
        summary = []
        for role, process, out in self.processes:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
            if out.exists():
                summary.append(f"{role}: " + "; ".join(profile_summary(out)))
        return summary


#: Where a sample's innermost frame is, by its file: the first match names it.
AREAS = (
    ("/opentelemetry/", "OpenTelemetry"),
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/asyncpg/", "asyncpg"),
    ("/aiosqlite/", "aiosqlite"),
    ("/sqlite3/", "aiosqlite"),
    ("/grpc/", "gRPC"),
    ("/google/protobuf/", "protobuf"),
    ("/uvicorn/", "uvicorn, h11"),
    ("/h11/", "uvicorn, h11"),
    ("/httptools/", "uvicorn, h11"),
    ("/fastapi/", "FastAPI, Starlette, anyio"),
    ("/starlette/", "FastAPI, Starlette, anyio"),
    ("/anyio/", "FastAPI, Starlette, anyio"),
    ("/pydantic", "pydantic"),
    ("/jwt/", "JWT"),
    ("/cryptography/", "cryptography"),
    ("/logging/", "logging"),
    ("/json/", "json"),
    ("/asyncio/", "asyncio"),
    ("/selectors.py", "asyncio"),
    ("/threading.py", "threads"),
    (f"{REPO}/services/", "our code"),
    (f"{REPO}/gateway/", "our code"),
)


def profile_summary(collapsed: Path, count: int = 8) -> list[str]:
    """The share of samples whose innermost frame lies in each area (self time by
    library), largest first, and our own functions most often on the stack."""
    total = 0
    areas: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        frames = stack.split(";")
        where = frames[-1].rsplit(" (", 1)[-1]
        areas[next((name for key, name in AREAS if key in where), "other")] += int(n)
        seen = set()
        for frame in frames:
            name, _, where = frame.partition(" (")
            if name in ("<module>", "main", "serve") or name in seen:
                continue  # the process's entry points are under everything
            if where.startswith((f"{REPO}/services/", f"{REPO}/gateway/")):
                seen.add(name)
                ours[name] += int(n)
    if not total:
        return []
    top = [f"{name} {100 * n / total:.0f} %" for name, n in areas.most_common(count)]
    inner = [f"{name} {100 * n / total:.0f} %" for name, n in ours.most_common(5)]
    return [*top, "on the stack: " + ", ".join(inner)]


# ---------------------------------------------------------------- a run


def platform_settings(password: str, citizens: int) -> dict[str, str]:
    return {
        "MINTONG_DB_SCHEMA_PREFIX": SCHEMA_PREFIX,  # used on PostgreSQL only
        "MINTONG_BOOTSTRAP_ADMIN_USER": ADMIN_USER,
        "MINTONG_BOOTSTRAP_ADMIN_PASSWORD": password,
        # Every citizen signs in from 127.0.0.1: the per-address code limit is lifted.
        "MINTONG_OTP_PER_ADDRESS_PER_HOUR": str(10 * citizens),
        # Signing in 2,000 citizens takes minutes: their tokens must outlive it.
        "MINTONG_ACCESS_TOKEN_MINUTES": "60",
    }


async def measure(database: str, args: argparse.Namespace) -> Result:
    print(f"\n{database}: starting the platform ...", flush=True)
    try:
        return await measure_platform(database, args)
    finally:
        if database == "postgresql":
            await harness.drop_schemas(args.database_url, SCHEMA_PREFIX)


async def measure_platform(database: str, args: argparse.Namespace) -> Result:
    password = secrets.token_urlsafe(24)
    settings = platform_settings(password, args.citizens) | dict(args.set)
    day = dt.datetime.now(ZONE).date() + dt.timedelta(days=1)
    people = harness.residents(args.citizens, args.seed)
    with harness.running_platform(database, args.database_url, settings) as platform_:
        async with httpx.AsyncClient(base_url=platform_.url, timeout=60) as http:
            print(f"  ready after {await harness.wait_ready(platform_, http):.1f} s", flush=True)
            admin = await Admin.sign_in(http, ADMIN_USER, password)
            slot_ids = await admin.set_up_day(day, args.slots, args.capacity)
            await admin.import_residents(people)
            started = time.perf_counter()
            tokens = await harness.sign_in_all(platform_.url, admin, people)
            signed_in = time.perf_counter() - started
            print(
                f"  {len(people)} citizens signed in in {signed_in:.0f} s; {len(slot_ids)} slots on {day}",
                flush=True,
            )
        crowd_plans = plans(len(people), slot_ids, args.attempts, args.double_submit, args.seed)

        raws = []
        for _ in range(args.raw_runs):
            if database == "postgresql":
                raws.append(await raw_postgresql(args.database_url, crowd_plans, args.capacity, 10))
            else:
                raws.append(
                    await raw_sqlite(
                        Path(harness.launcher_env(platform_)["MINTONG_DATA_DIR"]), crowd_plans, args.capacity
                    )
                )
            r = raws[-1]
            print(
                f"  raw {r.driver}: {r.made} bookings in {r.sold_out_at:.2f} s = {r.rate:.0f}/s, "
                f"p99 {percentile_ms(r.latencies, 99):.0f} ms",
                flush=True,
            )

        await asyncio.sleep(2.0)  # let the platform settle after the sign-ins
        profiler = Profiler(args.profile, platform_, database, args.profile_seconds)
        crowd = await release(platform_, people, tokens, crowd_plans, args.in_flight)
        profile = profiler.stop()
        made = len(crowd.made)
        print(
            f"  release: {made} bookings in {crowd.sold_out_at or 0:.1f} s, last answer after "
            f"{crowd.wall:.1f} s, p50 "
            f"{crowd.percentile_ms(50):.0f} ms, p99 {crowd.percentile_ms(99):.0f} ms; {crowd.by_status()}",
            flush=True,
        )
        mean, most = crowd.turned_away()
        print(
            f"  first booking after {crowd.first_booking_at or float('nan'):.2f} s; 503s per citizen "
            f"{mean:.2f} (at most {most}); load average {crowd.load[0]:.1f} at the release, "
            f"{crowd.load[1]:.1f} at the last answer; the load generator's loop stalled up to "
            f"{crowd.stalled[0]:.2f} s in the first 2 s, {crowd.stalled[1]:.2f} s after",
            flush=True,
        )
        print(f"  first wave: {crowd.first_wave()}", flush=True)
        print(
            "  the machine's TCP counters over the release: "
            + ", ".join(f"{k} {v}" for k, v in crowd.tcp.items()),
            flush=True,
        )
        if args.answers:
            args.answers.mkdir(parents=True, exist_ok=True)
            with (args.answers / f"{database}-answers.jsonl").open("w", encoding="utf-8") as out:
                for a in crowd.answers:
                    out.write(json.dumps([a.citizen, a.status, a.code, a.latency, a.done_at]) + "\n")
        found = await check(harness.launcher_env(platform_), crowd, slot_ids)
        print("  answers by second:\n    " + "\n    ".join(crowd.timeline()), flush=True)
        print(f"  check: {found}", flush=True)
        if args.keep_log:
            args.keep_log.mkdir(parents=True, exist_ok=True)
            shutil.copy(platform_.log, args.keep_log / f"{database}-platform.log")
            # The trace files too: when each request of the first wave was read, sent to
            # booking and answered (bench/hall_traces.py and traceview read them).
            traces = Path(harness.launcher_env(platform_)["MINTONG_DATA_DIR"]) / "traces"
            if traces.is_dir():
                shutil.copytree(traces, args.keep_log / f"{database}-traces", dirs_exist_ok=True)
    return Result(database, len(people), args.slots * args.capacity, crowd, raws, found, signed_in, profile)


# ---------------------------------------------------------------- the report


def results_table(results: list[Result]) -> str:
    rows = [
        "| Database | Citizens | Seats | Bookings made | First booking after (s) | Sold out after (s) "
        "| Bookings/s | Requests | Last answer after (s) | Requests/s | p50 (ms) | p95 (ms) | p99 (ms) "
        "| p99 of 201s (ms) | 503s per citizen (most) | Load average (release, end) "
        "| Load generator's loop stalled, first 2 s / after (s) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        c = r.crowd
        made = [a for a in c.answers if a.status == 201]
        mean, most = c.turned_away()
        rows.append(
            f"| {r.database} | {r.citizens} | {r.seats} | {len(c.made)} "
            f"| {c.first_booking_at or float('nan'):.1f} "
            f"| {c.sold_out_at or float('nan'):.1f} | {r.rate:.1f} | {len(c.answers)} | {c.wall:.1f} "
            f"| {len(c.answers) / c.wall:.0f} "
            f"| {c.percentile_ms(50):.0f} | {c.percentile_ms(95):.0f} | {c.percentile_ms(99):.0f} "
            f"| {c.percentile_ms(99, made):.0f} | {mean:.2f} ({most}) "
            f"| {c.load[0]:.1f}, {c.load[1]:.1f} | {c.stalled[0]:.2f} / {c.stalled[1]:.2f} |"
        )
    return "\n".join(rows)


def statuses_table(results: list[Result]) -> str:
    rows = ["| Database | Answers by status and problem code |", "|---|---|"]
    for r in results:
        rows.append(
            f"| {r.database} | " + ", ".join(f"{k}: {v}" for k, v in r.crowd.by_status().items()) + " |"
        )
    return "\n".join(rows)


def seconds_table(results: list[Result]) -> str:
    """The answers in each second of the release: when the places went, and what
    the rest of the crowd was told meanwhile."""
    rows = [
        "| Database | Second | 201 | 201 replayed | 409 | 503 | other | no answer |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        replayed = collections.Counter(
            int(a.done_at) for a in r.crowd.answers if a.status == 201 and a.replayed
        )
        for second, counts in r.crowd.by_second():
            other = sum(n for status, n in counts.items() if status not in (0, 201, 409, 503))
            rows.append(
                f"| {r.database} | {second}–{second + 1} | {counts[201] - replayed[second]} "
                f"| {replayed[second]} | {counts[409]} | {counts[503]} | {other} | {counts[0]} |"
            )
    return "\n".join(rows)


def check_table(results: list[Result]) -> str:
    rows = [
        "| Database | Slots | Oversold | Miscounted | Lost | Duplicates | Booked without a 201 "
        "| BookingConfirmed missing | Events unpublished after 60 s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        k = r.check
        rows.append(
            f"| {r.database} | {k.slots} | {k.oversold} | {k.miscounted} | {k.lost} | {k.duplicates} "
            f"| {k.unanswered} | {k.events_missing} | {k.events_unpublished} |"
        )
    return "\n".join(rows)


def raw_table(results: list[Result]) -> str:
    rows = [
        "| Database | Driver | Runs | Sold out after (s) | Bookings/s | Transactions/s | p50 (ms) "
        "| p99 (ms) | End-to-end bookings/s | End-to-end / raw |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        mid = sorted(r.raws, key=lambda x: x.rate)[len(r.raws) // 2]
        rows.append(
            f"| {r.database} | {mid.driver} | {len(r.raws)} | {mid.sold_out_at:.2f} | {r.raw_rate:.0f} "
            f"| {mid.transactions_per_s:.0f} | {percentile_ms(mid.latencies, 50):.0f} "
            f"| {percentile_ms(mid.latencies, 99):.0f} "
            f"| {r.rate:.1f} | {r.ratio:.3f} ({100 * r.ratio:.1f} %) |"
        )
    return "\n".join(rows)


CPU_COLUMNS = {
    "gateway": ("gateway",),
    "booking": ("booking",),
    "identity": ("identity",),
    "notify": ("notify",),
    "cards, nats, honcho": ("cards", "nats", "launcher"),
    "postgres": ("postgres",),
    "load generator": ("load generator",),
    "whole machine": ("machine",),
}


def cpu_table(results: list[Result]) -> str:
    rows = ["| Database | " + " | ".join(CPU_COLUMNS) + " |", "|---|" + "--:|" * len(CPU_COLUMNS)]
    for r in results:
        shares = (sum(r.crowd.cpu_share(role) for role in roles) for roles in CPU_COLUMNS.values())
        rows.append(f"| {r.database} | " + " | ".join(f"{x:.0f}" for x in shares) + " |")
    return "\n".join(rows)


def cpu_per_request_table(results: list[Result]) -> str:
    """CPU milliseconds each process spent per answered booking request."""
    roles = ("gateway", "identity", "booking", "notify", "postgres", "load generator")
    rows = ["| Database | " + " | ".join(roles) + " | sum |", "|---|" + "--:|" * (len(roles) + 1)]
    for r in results:
        answered = len(r.crowd.answered) or 1
        used = [
            sum(t for key, t in r.crowd.cpu.items() if key == role or key.startswith(role + ":"))
            for role in roles
        ]
        per = [1000 * u / answered for u in used]
        rows.append(f"| {r.database} | " + " | ".join(f"{x:.1f}" for x in per) + f" | {sum(per):.1f} |")
    return "\n".join(rows)


def targets(results: list[Result]) -> list[str]:
    lines = []
    for r in results:
        p99, sold_out = r.crowd.percentile_ms(99), r.crowd.sold_out_at
        unanswered = len(r.crowd.answers) - len(r.crowd.answered)
        sold = len(r.crowd.made) == r.seats and sold_out is not None and sold_out < TARGET_SOLD_OUT_S
        verdicts = [
            "zero violations: " + ("met" if r.check.violations == 0 else f"MISSED ({r.check.violations})"),
            "every request answered: " + ("met" if not unanswered else f"MISSED ({unanswered} not)"),
            f"p99 < {TARGET_P99_MS:.0f} ms at {r.citizens} citizens: "
            + (
                f"met ({p99:.0f} ms)"
                if p99 < TARGET_P99_MS
                else f"MISSED ({p99:.0f} ms, {p99 / TARGET_P99_MS:.1f}×)"
            ),
            f"all {r.seats} places sold within {TARGET_SOLD_OUT_S:.0f} s: "
            + (
                f"met ({sold_out:.1f} s)"
                if sold and sold_out is not None
                else f"MISSED ({len(r.crowd.made)} sold"
                + (f", the last after {sold_out:.1f} s)" if sold_out is not None else ")")
            ),
            f"end-to-end ≥ {TARGET_RATIO:.0%} of the raw primitive: "
            + (
                f"met ({r.ratio:.1%})"
                if r.ratio >= TARGET_RATIO
                else f"MISSED ({r.ratio:.1%}, {TARGET_RATIO / r.ratio:.1f}× too slow)"
            ),
        ]
        lines.append(f"- {r.database}: " + "; ".join(verdicts) + ".")
    return lines


def report(results: list[Result], args: argparse.Namespace, command: str, pg_version: str | None) -> str:
    settings = "default settings: INFO logs, traces to JSON-lines files"
    if args.set:
        settings += ", changed by " + ", ".join(f"`{k}={v}`" for k, v in args.set)
    signed = ", ".join(f"{r.database} {r.sign_in_seconds:.0f} s" for r in results)
    lines = [
        f"Measured on {dt.date.today().isoformat()} with `{command}`, on a platform started as `make up` "
        f"starts it ({settings}; the per-address one-time-code limit raised and access tokens made to "
        f"last 60 minutes for the sign-ins). One office, {args.slots} slots of {args.capacity} places "
        f"tomorrow; {args.citizens} citizens signed in beforehand with real one-time codes (not measured: "
        f"{signed}), then released at once, each on its own connection: a random slot, another one after "
        f"`slot_full`, up to {args.attempts} slots; {args.double_submit:.0%} of them double-click their "
        "first request (the same Idempotency-Key twice at once); a 503 or 429 with Retry-After is "
        f"retried with the same key after 1–2× that wait (up to {OVERLOAD_RETRIES} times), another 5xx "
        f"or no answer up to {RETRIES} times, after about 1, 2 and 4 s. Latencies are of every "
        "answered request, from sending it to having its answer, TCP connect included."
        + (
            f" **An experiment, not a flash crowd:** at most {args.in_flight} requests were at the "
            "gateway at once; the others waited in the load generator, and that wait counts in their "
            "latency."
            if args.in_flight
            else ""
        ),
        "",
        results_table(results),
        "",
        statuses_table(results),
        "",
        "The first wave (the requests sent in the release's first second) and the machine's TCP "
        "counters over the release (the machine's: other work's connections count too):",
        "",
        *(
            f"- {r.database}: {r.crowd.first_wave()}; "
            + ", ".join(f"{k} {v}" for k, v in r.crowd.tcp.items())
            for r in results
        ),
        "",
        "The answers by second of the release:",
        "",
        seconds_table(results),
        "",
        "The invariant check, reading the booking database directly after the release:",
        "",
        check_table(results),
        "",
        f"The raw primitive, measured in the same run before the release (runs: {args.raw_runs}; "
        "the median shown): the same citizens and slot choices, each booking one transaction of a "
        "conditional `UPDATE` of the slot and an `INSERT` of the booking, with the same driver and "
        "durability settings as the service, no gateway and no gRPC:",
        "",
        raw_table(results),
        "",
        "Targets:",
        "",
        *targets(results),
        "",
        "CPU used from the release to the last answer, in percent of one core "
        f"(the machine has {os.cpu_count()} cores, {100 * (os.cpu_count() or 1)} % in all):",
        "",
        cpu_table(results),
        "",
        "The same CPU per answered request, in milliseconds (time used over the release divided by the "
        "answers; a request that timed out still cost something):",
        "",
        cpu_per_request_table(results),
    ]
    if any(r.profile for r in results):
        lines += [
            "",
            "py-spy (`--gil`, 100 samples/s) during the release: the share of each process's samples whose "
            "innermost frame is in each library (self time), and our functions most often on the stack:",
            "",
        ]
        lines += [f"- {r.database} {line}" for r in results for line in r.profile]
    lines += [
        "",
        "The machine (the load generator, one Python process on uvloop writing HTTP/1.1 itself, runs on "
        "it too; so did other work, the builds and tests of other developers, during the run):",
        "",
        *(f"- {k}: {v}" for k, v in harness.machine()),
        f"- Software: {harness.software(pg_version)}",
    ]
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.platform_options(parser)
    harness.ports_option(parser)
    parser.add_argument("--citizens", type=int, default=2000, help="citizens released at once (default 2000)")
    parser.add_argument("--slots", type=int, default=50, help="slots of the day (default 50)")
    parser.add_argument("--capacity", type=int, default=10, help="places per slot (default 10)")
    parser.add_argument("--attempts", type=int, default=3, help="slots a citizen tries at most (default 3)")
    parser.add_argument(
        "--double-submit", type=float, default=0.05, help="share of citizens who double-click (default 0.05)"
    )
    parser.add_argument("--raw-runs", type=int, default=3, help="runs of the raw primitive (default 3)")
    parser.add_argument("--seed", type=int, default=7, help="of the residents and the slot choices")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="py-spy the release into DIR (if installed)"
    )
    parser.add_argument(
        "--profile-seconds",
        type=float,
        default=0,
        metavar="S",
        help="with --profile: only the release's first S seconds (default: until the last answer)",
    )
    parser.add_argument(
        "--in-flight",
        type=int,
        default=0,
        help="an experiment: at most this many requests at once, the rest queued in the load generator "
        "(default 0: no limit)",
    )
    parser.add_argument(
        "--answers",
        type=Path,
        metavar="DIR",
        help="write every answer (citizen, status, code, latency, seconds after the release) to DIR",
    )
    parser.add_argument(
        "--keep-log", type=Path, metavar="DIR", help="keep the platform's log and trace files in DIR"
    )
    parser.add_argument("--write", type=Path, metavar="FILE", help="rewrite the results section of FILE")
    args = parser.parse_args()
    harness.PORT_RANGE = args.ports
    if not 1 <= args.citizens <= 10_000:
        parser.error("--citizens must be between 1 and 10000")
    if not 1 <= args.slots <= 100 or not 1 <= args.capacity <= 1000:
        parser.error("--slots must be between 1 and 100, --capacity between 1 and 1000")
    if (
        not 1 <= args.attempts <= args.slots
        or not 0 <= args.double_submit <= 1
        or not 1 <= args.raw_runs <= 10
    ):
        parser.error("--attempts in [1, slots], --double-submit in [0, 1], --raw-runs in [1, 10]")

    databases = [args.database] if args.database else ["sqlite", "postgresql"]
    pg_version = None
    if "postgresql" in databases:
        try:
            pg_version = await harness.drop_schemas(args.database_url, SCHEMA_PREFIX)
        except (OSError, TimeoutError) as exc:
            raise SystemExit(f"PostgreSQL at {args.database_url} is unreachable: {exc}") from exc

    results = [await measure(database, args) for database in databases]

    command = shlex.join(["python", "bench/flash_crowd.py", *sys.argv[1:]])
    section = report(results, args, command, pg_version)
    print("\n" + section)
    if args.write:
        harness.write_section(args.write, section, start=START, end=END, heading="Flash crowd")
        print(f"\nwrote {args.write}")
    return 0


if __name__ == "__main__":
    import uvloop  # the services' event loop (services/runtime/lifecycle.py), and the load generator's

    sys.exit(uvloop.run(main()))
