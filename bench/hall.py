"""Hall benchmark (issue 11 item 6): check-in and calling the next ticket with 20
counters at once in one office.

It starts the whole platform the way `make up` does (bench/harness.py) and, through
the gateway, as the bootstrap administrator: loads a catalogue of its own (one city
whose time zone puts the office near midday now, one office open all day in
10-minute slots), makes ``--counters`` window clerks of that office, imports
``--citizens`` made-up residents, signs each in with a real one-time code and books
them all into the next slot (none of that measured).

Then, measured from the client:

1. check-in: the clerks at once, each checking in its share of the bookings by
   confirmation code (``POST /v1/staff/offices/{office}/checkins``), then
   ``--walk-ins`` walk-ins the same way;
2. bursts: ``--rounds`` times every clerk at the same instant sends a walk-in, then
   every clerk calls the next ticket at once, then marks it served at once (item 6
   as it reads, the hardest reading);
3. calling: every clerk at its own counter at once, in a loop of
   ``POST …/counters/{n}/call`` and ``…/served`` until nobody waits;
4. the hall as it lives: for ``--live-seconds``, walk-ins arrive at random
   (exponential gaps, ``--live-rate`` a second, each sent when it arrives, whatever
   is still unanswered) while each clerk works its own counter: call, serve for a
   random 0.2–1 s, call again (0.5–1.5 s later at random when nobody waited: clerks
   not in step; ``--live-lockstep`` starts them together and waits exactly 1 s); then
   the counters empty the queue. ``--keep DIR`` keeps the platform's data dir, its
   trace files, for bench/hall_traces.py (where the slowest requests' time went).

Afterwards the booking database is read directly: every ticket numbered once (no two
with one number), every ticket called exactly once (no clerk got a ticket another
got) and served.

    .venv/bin/python bench/hall.py                          # both databases
    .venv/bin/python bench/hall.py --database postgresql --citizens 100
    .venv/bin/python bench/hall.py --write docs/performance.md

``--in-process N`` measures booking's own part instead, without the platform: the
hall's use cases called in this process (no gRPC, no gateway, no tracing spans, no
relay) on the same catalogue: N bookings of today's next slot checked in by their
codes, N walk-ins, 20 reads of the display's queue with those 2N waiting, then the
call + served pairs that empty it, then 20 calls finding nobody per counter, ten at a
time, twice; this process's
CPU time per request and, on PostgreSQL, its backends' (after the slash; read from
/proc, found by the schema's ``application_name``): the figure the hall's statements
move, less noisy on a shared machine than the platform's.

    .venv/bin/python bench/hall.py --database postgresql --in-process 300

A benchmark, not a test: it asserts nothing, and reports violations and missed
targets rather than raising them.
"""

from __future__ import annotations

import argparse
import asyncio
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
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench import harness
from services.booking import bootstrap
from services.booking.adapters import orm
from services.booking.config import BookingSettings
from services.booking.domain.bookings import BookingRequest
from services.booking.domain.model import Channel
from services.booking.entrypoints.bookings_servicer import BookingServicer, QrSigner
from services.booking.entrypoints.hall_servicer import queue_to_proto
from services.booking.service_layer import bookings, hall, handlers

START, END = "<!-- hall:start -->", "<!-- hall:end -->"
CITY, OFFICE, BUSINESS = "hallcity", "hall-office", "ID_CARD_RENEWAL"
ADMIN_USER = "bench-admin"
SCHEMA_PREFIX = f"benchhall{os.getpid()}_"
TARGET_P99_MS = 50.0


def zone_near_midday() -> str:
    """An Etc/GMT zone where it is about midday now: the office is open and today's
    next slot exists whenever the benchmark runs."""
    offset = max(-12, min(14, 12 - dt.datetime.now(dt.UTC).hour))
    # Etc/GMT's signs are POSIX's: Etc/GMT-8 is UTC+8.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def catalogue(zone: str, capacity: int) -> str:
    return f"""
cities:
  - code: {CITY}
    name: Hall City
    time_zone: {zone}
    businesses:
      - code: {BUSINESS}
        category: id_card
        name: ID card renewal
        service_guide: Renew an expiring card at the hall.
        phone: "0371-00000000"
        duration_minutes: 10
        handling: window
        channels: [app, wechat, web]
    offices:
      - id: {OFFICE}
        name: Bench hall
        kind: service_hall
        address: 1 Bench Road
        location: {{lat: 34.75, lng: 113.66}}
        phone: "0371-10000000"
        opening_hours: {{mon-sun: ["00:00-23:50"]}}
        slot_groups:
          - {{code: hall, businesses: [{BUSINESS}], capacity: {capacity}, slot_minutes: 10}}
"""


def residents_csv(people: list[harness.Resident]) -> str:
    lines = [
        "id_number,name,phone,city,household_address,photo_captured_on,fingerprint_on_file,"
        "card_issued_on,card_expires_on,card_status"
    ]
    lines += [f"{r.id_number},{r.name},{r.phone[3:]},{CITY},,,,,,valid" for r in people]
    return "\n".join(lines) + "\n"


def percentile_ms(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(1, math.ceil(len(ordered) * p / 100)) - 1] * 1000


@dataclass
class Timed:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    wall: float = 0.0
    # CPU ms per answered request by process (the robust figure on a shared machine),
    # and the machine's 1-minute load average when the phase ended.
    cpu: dict[str, float] = field(default_factory=dict)
    load: float = float("nan")
    #: This process's CPU ms per request (as ``cpu``): the load generator's share of
    #: the two cores it shares with the platform.
    client_cpu: float = float("nan")

    def add(self, started: float, status: int, body: bytes) -> None:
        if status == 200:
            self.latencies.append(time.perf_counter() - started)
        else:
            key = f"{status} {json.loads(body).get('code', '')}"
            self.errors[key] = self.errors.get(key, 0) + 1

    def row(self, what: str, database: str) -> str:
        p50, p99, top = (percentile_ms(self.latencies, p) for p in (50, 99, 100))
        rate = len(self.latencies) / self.wall if self.wall else float("nan")
        errors = ", ".join(f"{k}: {n}" for k, n in sorted(self.errors.items())) or "none"
        cpu = ", ".join(
            f"{k} {v:.2f}" for k, v in sorted(self.cpu.items(), key=lambda kv: -kv[1]) if v >= 0.01
        )
        return (
            f"| {database} | {what} | {len(self.latencies)} | {rate:.0f} | "
            f"{p50:.1f} | {p99:.1f} | {top:.1f} | "
            f"{'yes' if p99 < TARGET_P99_MS else '**no**'} | "
            f"{f'{sum(self.cpu.values()):.2f} ({cpu})' if self.cpu else 'in the line above'} | "
            f"{self.load:.1f} | {errors} |"
        )


def cpu_ms(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    """CPU ms per request by role: our processes and, on PostgreSQL, the server's
    backends (the whole server's, other people's included; off on SQLite)."""
    roles: dict[str, float] = {}
    for key, value in after.items():
        if key in ("machine", "launcher", "load generator"):
            continue
        role = "postgres" if key.startswith("postgres:") else key
        roles[role] = roles.get(role, 0.0) + value - before.get(key, 0.0)
    return {role: 1000 * used / max(requests, 1) for role, used in roles.items() if used > 0}


def client_ms(before: dict[str, float], after: dict[str, float], requests: int) -> float:
    """The load generator's (this process's) CPU ms per request, as cpu_ms."""
    return 1000 * (after["load generator"] - before["load generator"]) / max(requests, 1)


class Profiles:
    """py-spy recording the booking and gateway processes through one phase (optional:
    py-spy is not a requirement; `pip install py-spy` into the venv to use it)."""

    def __init__(
        self, directory: Path | None, platform_: harness.Platform, label: str, *, native: bool = False
    ) -> None:
        self.running: list[subprocess.Popen[bytes]] = []
        if directory is None:
            return
        directory.mkdir(parents=True, exist_ok=True)
        spy = Path(sys.executable).with_name("py-spy")
        for role, pids in platform_.processes().items():
            if role not in ("booking", "gateway"):
                continue
            for pid in pids:
                out = directory / f"{label}-{role}-{pid}.txt"
                self.running.append(
                    subprocess.Popen(
                        [
                            str(spy),
                            "record",
                            *(["--native"] if native else []),
                            *("-p", str(pid), "-r", "200", "-f", "raw", "-o", str(out)),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )

    def stop(self) -> None:
        for spy in self.running:
            spy.send_signal(signal.SIGINT)
        for spy in self.running:
            spy.wait(timeout=30)


@dataclass(frozen=True)
class Clerk:
    """A window clerk's console: its token's headers and its own connection, made
    before anything is timed. (Made inside a phase, each httpx client's SSL context
    took this process tens of ms of CPU while the clerks already calling waited for
    their answers to be read: the live hall's call p99 of 350–420 ms, and part of the
    closed loops', was the bench's own set-up.)"""

    headers: dict[str, str]
    http: httpx.AsyncClient
    #: The bursts' connection, HTTP/1.1 spoken by hand (harness.RawClient): with
    #: httpx the load generator's own CPU, on the two cores the platform runs on,
    #: came in the bursts' latency (docs/performance.md, session 14).
    raw: harness.RawClient


@dataclass
class Result:
    database: str
    checkin: Timed
    walk_in: Timed
    call: Timed
    served: Timed
    tickets: int = 0
    numbers: int = 0
    called_ids: int = 0
    called_unique: int = 0
    served_rows: int = 0
    burst_walk_in: Timed = field(default_factory=Timed)
    burst_call: Timed = field(default_factory=Timed)
    burst_served: Timed = field(default_factory=Timed)
    live_checkin: Timed = field(default_factory=Timed)
    live_call: Timed = field(default_factory=Timed)
    live_served: Timed = field(default_factory=Timed)
    #: Queue updates the boards (``--boards``) received, all phases.
    board_updates: int = 0

    @property
    def violations(self) -> int:
        duplicates = (self.tickets - self.numbers) + (self.called_ids - self.called_unique)
        return duplicates + (self.tickets - self.served_rows)


class Admin(harness.Staff):
    async def set_up(self, zone: str, capacity: int) -> None:
        answer = await self.http.put(
            "/v1/admin/catalogue",
            content=catalogue(zone, capacity).encode(),
            headers={**self.headers, "Content-Type": "application/yaml"},
        )
        harness.ok(answer, "catalogue")
        today = dt.datetime.now(ZoneInfo(zone)).date().isoformat()
        answer = await self.http.post(
            "/v1/admin/slots/publish",
            json={"office_id": OFFICE, "from": today, "to": today},
            headers=self.headers,
        )
        harness.ok(answer, "publish slots")

    async def import_residents(self, people: list[harness.Resident]) -> None:
        answer = await self.http.post(
            "/v1/admin/residents/import",
            content=residents_csv(people).encode(),
            headers={**self.headers, "Content-Type": "text/csv"},
            timeout=120,
        )
        harness.ok(answer, "resident import")
        where = answer.headers["location"]
        while answer.json()["state"] not in ("done", "failed"):
            await asyncio.sleep(0.5)
            answer = await self.http.get(where, headers=self.headers)
        if answer.json()["state"] == "failed":
            raise SystemExit(f"resident import failed: {answer.text[:300]}")

    async def clerks(self, count: int) -> list[dict[str, str]]:
        made = []
        for n in range(count):
            username, password = f"clerk-{n}", secrets.token_urlsafe(18)
            answer = await self.http.post(
                "/v1/admin/staff",
                json={
                    "username": username,
                    "role": "window_clerk",
                    "office_id": OFFICE,
                    "password": password,
                },
                headers=self.headers,
            )
            harness.ok(answer, "clerk")
            clerk = await harness.Staff.sign_in(self.http, username, password)
            made.append(clerk.headers)
        return made


async def book_next_slot(
    http: httpx.AsyncClient, zone: str, people: list[harness.Resident], tokens: list[str]
) -> list[str]:
    """Every citizen books the next slot of today; their confirmation codes."""
    today = dt.datetime.now(ZoneInfo(zone)).date().isoformat()
    answer = await http.get(
        f"/v1/offices/{OFFICE}/slots",
        params={"business": BUSINESS, "from": today, "to": today},
        headers={"X-Mintong-Channel": "web"},
    )
    harness.ok(answer, "slots")
    slot = answer.json()["slots"][0]["id"]
    gate = asyncio.Semaphore(8)

    async def one(person: harness.Resident, token: str) -> str:
        headers = {
            "X-Mintong-Channel": person.channel,
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": secrets.token_hex(16),
        }
        async with gate:
            # A loaded machine can time a booking out at the gateway: asked again with
            # the same key, it is made once (or its first answer is given back).
            for _ in range(4):
                made = await http.post(
                    "/v1/bookings", json={"slot_id": slot, "business": BUSINESS}, headers=headers
                )
                if made.status_code < 500:
                    break
            harness.ok(made, "booking")
            return str(made.json()["confirmation_code"])

    return await asyncio.gather(*(one(p, t) for p, t in zip(people, tokens, strict=True)))


async def check_in_all(clerks: list[Clerk], bodies: list[dict[str, str]]) -> Timed:
    """Each clerk checks in its share, all clerks at once (one connection each)."""
    timed = Timed()
    shares = [bodies[n :: len(clerks)] for n in range(len(clerks))]

    async def clerk(me: Clerk, share: list[dict[str, str]]) -> None:
        for body in share:
            started = time.perf_counter()
            answer = await me.http.post(f"/v1/staff/offices/{OFFICE}/checkins", json=body, headers=me.headers)
            timed.add(started, answer.status_code, answer.content)

    started = time.perf_counter()
    await asyncio.gather(*(clerk(c, s) for c, s in zip(clerks, shares, strict=True)))
    timed.wall = time.perf_counter() - started
    return timed


async def call_all(clerks: list[Clerk]) -> tuple[Timed, Timed, list[str]]:
    """Every clerk at its own counter: call, serve, call … until nobody waits."""
    call, served, called = Timed(), Timed(), []

    async def counter(n: int, me: Clerk) -> None:
        while True:
            started = time.perf_counter()
            answer = await me.http.post(f"/v1/staff/offices/{OFFICE}/counters/{n}/call", headers=me.headers)
            call.add(started, answer.status_code, answer.content)
            if answer.status_code != 200 or answer.json()["ticket"] is None:
                return
            called.append(answer.json()["ticket"]["id"])
            started = time.perf_counter()
            done = await me.http.post(f"/v1/staff/offices/{OFFICE}/counters/{n}/served", headers=me.headers)
            served.add(started, done.status_code, done.content)

    started = time.perf_counter()
    await asyncio.gather(*(counter(n, c) for n, c in enumerate(clerks, start=1)))
    call.wall = served.wall = time.perf_counter() - started
    return call, served, called


async def bursts(
    clerks: list[Clerk], rounds: int, pause: float, called: list[str]
) -> tuple[Timed, Timed, Timed]:
    """Item 6 as it reads: the 20 counters at the same instant, not in a closed loop.
    Each round every clerk sends one walk-in at once, then every clerk calls the next
    ticket at once, then marks it served at once; a pause between rounds."""
    walk_in, call, served = Timed(), Timed(), Timed()
    office = f"/v1/staff/offices/{OFFICE}"

    async def timed(into: Timed, me: Clerk, path: str, body: bytes = b"") -> tuple[int, bytes]:
        started = time.perf_counter()
        status, answer = await me.raw.post(path, body, me.headers)
        into.add(started, status, answer)
        return status, answer

    walk_in_body = json.dumps({"walk_in_business": BUSINESS}).encode()
    started = time.perf_counter()
    for _ in range(rounds):
        await asyncio.gather(*(timed(walk_in, c, f"{office}/checkins", walk_in_body) for c in clerks))
        answers = await asyncio.gather(
            *(timed(call, c, f"{office}/counters/{n}/call") for n, c in enumerate(clerks, start=1))
        )
        tickets = [json.loads(body)["ticket"] for status, body in answers if status == 200]
        called += [t["id"] for t in tickets if t]
        await asyncio.gather(
            *(timed(served, c, f"{office}/counters/{n}/served") for n, c in enumerate(clerks, start=1))
        )
        await asyncio.sleep(pause)
    walk_in.wall = call.wall = served.wall = time.perf_counter() - started
    return walk_in, call, served


#: In process: reads of the display's queue, and calls finding nobody per counter, a round.
QUEUE_READS, IDLE_CALLS = 20, 20
#: A clerk's "service time" in the live hall.
SERVICE_SECONDS = (0.2, 1.0)
#: How long a clerk whose call found nobody waits before calling again: a second on
#: average, drawn for each wait. A fixed second kept the idle clerks in step: the
#: calls answered together came back together a second later, ten or twenty in the
#: same few milliseconds, so the live hall's slowest calls were a burst of the bench's
#: making, repeated every second (docs/performance.md, session 11). ``--live-lockstep``
#: brings that back.
IDLE_SECONDS = (0.5, 1.5)


async def live_hall(
    url: str,
    clerks: list[Clerk],
    seconds: float,
    rate: float,
    seed: int,
    called: list[str],
    *,
    lockstep: bool = False,
) -> tuple[Timed, Timed, Timed]:
    """The hall as it lives: walk-ins arrive at random (a Poisson stream of ``rate`` a
    second, each sent when it arrives: an open loop, so a slow answer does not slow
    the arrivals) while every clerk works its own counter: call, serve for a random
    0.2–1 s, call again (after a random IDLE_SECONDS when nobody waited). The clerks
    come to their counters at random within the first IDLE_SECONDS, not at one
    instant (the bursts phase measures that); with ``lockstep`` they start together
    and an idle one waits exactly a second, the bench before session 11. After ``seconds``
    the arrivals stop and the counters empty the queue. A call that timed out at the
    gateway may still have called a ticket: the clerk then serves the one its
    counter shows (the next call's ``ticket_in_service`` says so)."""
    checkin, call, served = Timed(), Timed(), Timed()
    rng = random.Random(seed)
    office = f"/v1/staff/offices/{OFFICE}"
    arriving = True

    async def arrivals(http: httpx.AsyncClient) -> None:
        nonlocal arriving
        sent: list[asyncio.Task[None]] = []
        end = time.perf_counter() + seconds
        n = 0
        while (wait := rng.expovariate(rate)) < end - time.perf_counter():
            await asyncio.sleep(wait)
            sent.append(asyncio.create_task(walk_in(http, clerks[n % len(clerks)].headers)))
            n += 1
        await asyncio.gather(*sent)
        arriving = False

    async def walk_in(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        started = time.perf_counter()
        answer = await http.post(f"{office}/checkins", json={"walk_in_business": BUSINESS}, headers=headers)
        checkin.add(started, answer.status_code, answer.content)

    def idle(pause: random.Random) -> float:
        return sum(IDLE_SECONDS) / 2 if lockstep else pause.uniform(*IDLE_SECONDS)

    async def counter(n: int, me: Clerk, pause: random.Random) -> None:
        if not lockstep:
            await asyncio.sleep(pause.uniform(0.0, IDLE_SECONDS[1] - IDLE_SECONDS[0]))
        while True:
            started = time.perf_counter()
            answer = await me.http.post(f"{office}/counters/{n}/call", headers=me.headers)
            call.add(started, answer.status_code, answer.content)
            ticket = answer.json().get("ticket") if answer.status_code == 200 else None
            if ticket is not None:
                called.append(ticket["id"])
            elif answer.json().get("code") != "ticket_in_service":
                if not arriving:
                    return
                await asyncio.sleep(idle(pause))
                continue
            await asyncio.sleep(pause.uniform(*SERVICE_SECONDS))
            started = time.perf_counter()
            done = await me.http.post(f"{office}/counters/{n}/served", headers=me.headers)
            served.add(started, done.status_code, done.content)

    started = time.perf_counter()
    limits = httpx.Limits(max_connections=len(clerks))
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        await asyncio.gather(
            arrivals(http),
            *(counter(n, c, random.Random(rng.random())) for n, c in enumerate(clerks, start=1)),
        )
    checkin.wall = call.wall = served.wall = time.perf_counter() - started
    return checkin, call, served


async def in_process(database: str, args: argparse.Namespace) -> list[str]:
    """Booking's own CPU per walk-in and per call + served pair, the use cases called
    in this process (see the module's docstring); table rows, one per round."""
    work = Path(tempfile.mkdtemp(prefix="mintong-bench-hall-"))
    extra = (
        {"database_url": args.database_url, "db_schema_prefix": SCHEMA_PREFIX}
        if database == "postgresql"
        else {}
    )
    # Nothing is published: the relay is not started (its NATS is never dialled).
    app = bootstrap.build(BookingSettings(data_dir=work, nats_url="nats://127.0.0.1:1", **extra))
    rows = []
    lanes, each = 10, max(1, args.in_process // 10)
    zone = zone_near_midday()

    async def cpu() -> tuple[float, float]:
        """This process's CPU seconds, and its PostgreSQL backends' (by application_name)."""
        if database != "postgresql":
            return time.process_time(), 0.0
        import asyncpg

        conn = await asyncpg.connect(args.database_url.replace("+asyncpg", ""), timeout=5)
        try:
            pids = [
                r["pid"]
                for r in await conn.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = $1", app.db.schema[:63]
                )
            ]
        finally:
            await conn.close()
        backends = 0.0
        for pid in pids:
            try:
                fields = harness._stat(pid)
            except OSError:
                continue
            backends += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return time.process_time(), backends

    def ms(before: tuple[float, float], after: tuple[float, float], n: int) -> str:
        ours, backends = (1000 * (a - b) / max(n, 1) for a, b in zip(after, before, strict=True))
        return f"{ours:.2f} / {backends:.2f}"

    try:
        await asyncio.to_thread(app.migrate)
        await handlers.load_catalogue(app.uow, catalogue(zone, 3 * lanes * each).encode(), "yaml")
        today = dt.datetime.now(ZoneInfo(zone)).date()
        await handlers.publish_slots(app.uow, first=today, last=today, office_id=OFFICE)

        async def next_slot() -> int:
            """Today's next slot: read again each round, a slot that began being closed."""
            async with app.uow.read() as tx:
                local = dt.datetime.now(ZoneInfo(zone)).replace(tzinfo=None)
                return (await tx.bookings.slots_with_vacancy(OFFICE, local + dt.timedelta(minutes=1)))[
                    0
                ].id or 0

        servicer = BookingServicer(app.uow, app.clock, QrSigner(b"bench"))

        async def book(citizen: str, slot_id: int) -> str:
            request = BookingRequest(slot_id=slot_id, business_code=BUSINESS)
            render = lambda b: servicer.to_proto(b).SerializeToString()  # noqa: E731
            made = await bookings.book(app.uow, app.clock, citizen, Channel.WEB, request, citizen, render)
            assert made.booking is not None
            return made.booking.confirmation_code

        async def check_ins(codes: list[str]) -> None:
            for code in codes:
                await hall.check_in(app.uow, app.clock, OFFICE, confirmation_code=code, issued_by="bench")

        async def walk_ins() -> None:
            for _ in range(each):
                await hall.walk_in(app.uow, app.clock, OFFICE, BUSINESS)

        async def counter(n: int) -> int:
            for done in range(each):
                if await hall.call_next(app.uow, app.clock, OFFICE, n, f"clerk-{n}") is None:
                    return done
                await hall.finish(app.uow, app.clock, OFFICE, n, served=True)
            return each

        async def idle(n: int) -> None:
            """Calls that find nobody: most of a quiet hall's calls."""
            for _ in range(IDLE_CALLS):
                # A ticket a call skipped while another clerk held its row (SKIP
                # LOCKED) may still wait: served, so the next round's calls find
                # its counter free.
                if await hall.call_next(app.uow, app.clock, OFFICE, n, f"clerk-{n}") is not None:
                    await hall.finish(app.uow, app.clock, OFFICE, n, served=True)

        for round_ in range(1, 3):
            slot_id = await next_slot()
            codes = [await book(f"bench-citizen-{round_}-{n}", slot_id) for n in range(lanes * each)]
            started = await cpu()
            await asyncio.gather(*(check_ins(codes[n::lanes]) for n in range(lanes)))
            checked = await cpu()
            await asyncio.gather(*(walk_ins() for _ in range(lanes)))
            walked = await cpu()
            # The display's queue, every ticket of the round waiting: what a board's
            # read costs per change (decision 61), with its proto.
            for _ in range(QUEUE_READS):
                queue_to_proto(await hall.queue(app.uow, app.clock, OFFICE))
            read = await cpu()
            pairs = sum(await asyncio.gather(*(counter(n) for n in range(1, lanes + 1))))
            pairs += sum(await asyncio.gather(*(counter(n) for n in range(1, lanes + 1))))
            done = await cpu()
            await asyncio.gather(*(idle(n) for n in range(1, lanes + 1)))
            idled = await cpu()
            n = lanes * each
            rows.append(
                f"| {database} | {round_} | {n} | {ms(started, checked, n)} | {n} | {ms(checked, walked, n)} "
                f"| {2 * n} | {ms(walked, read, QUEUE_READS)} "
                f"| {pairs} | {ms(read, done, pairs)} | {ms(done, idled, lanes * IDLE_CALLS)} "
                f"| {os.getloadavg()[0]:.1f} |"
            )
            print(rows[-1], flush=True)
    finally:
        await app.db.dispose()
        shutil.rmtree(work, ignore_errors=True)
        if database == "postgresql":
            await harness.drop_schemas(args.database_url, SCHEMA_PREFIX)
    return rows


def booking_engine(env: dict[str, str]) -> AsyncEngine:
    if url := env.get("MINTONG_DATABASE_URL"):
        schema = env.get("MINTONG_DB_SCHEMA_PREFIX", "") + "booking"
        return create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    return create_async_engine(
        f"sqlite+aiosqlite:///{Path(env['MINTONG_DATA_DIR']).resolve() / 'booking.db'}"
    )


async def check(env: dict[str, str], result: Result, called: list[str]) -> None:
    t = orm.hall_tickets
    engine = booking_engine(env)
    try:
        async with engine.connect() as conn:
            result.tickets = (await conn.execute(select(func.count()).select_from(t))).scalar_one()
            numbers = select(t.c.prefix, t.c.number).distinct().subquery()
            result.numbers = (await conn.execute(select(func.count()).select_from(numbers))).scalar_one()
            result.served_rows = (
                await conn.execute(select(func.count()).select_from(t).where(t.c.status == "served"))
            ).scalar_one()
    finally:
        await engine.dispose()
    result.called_ids, result.called_unique = len(called), len(set(called))


async def measure(database: str, args: argparse.Namespace) -> Result:
    print(f"\n{database}: starting the platform ...", flush=True)
    password = secrets.token_urlsafe(24)
    settings = {
        "MINTONG_DB_SCHEMA_PREFIX": SCHEMA_PREFIX,
        "MINTONG_BOOTSTRAP_ADMIN_USER": ADMIN_USER,
        "MINTONG_BOOTSTRAP_ADMIN_PASSWORD": password,
        "MINTONG_OTP_PER_ADDRESS_PER_HOUR": str(10 * args.citizens),
        "MINTONG_ACCESS_TOKEN_MINUTES": "60",
    } | dict(args.set)
    if args.keep:
        # The data dir outside the harness's temporary folder, so that it outlives the
        # run: the processes' trace files (traces/*.jsonl) for bench/hall_traces.py.
        settings["MINTONG_DATA_DIR"] = str((args.keep / database).resolve())
    zone = zone_near_midday()
    people = harness.residents(args.citizens, args.seed)
    try:
        with harness.running_platform(database, args.database_url, settings) as platform_:
            async with httpx.AsyncClient(base_url=platform_.url, timeout=60) as http:
                print(f"  ready after {await harness.wait_ready(platform_, http):.1f} s", flush=True)
                admin = await Admin.sign_in(http, ADMIN_USER, password)
                await admin.set_up(zone, args.citizens + 1)
                consoles = await admin.clerks(args.counters)
                await admin.import_residents(people)
                tokens = await harness.sign_in_all(platform_.url, admin, people)
                codes = await book_next_slot(http, zone, people, tokens)
                print(f"  {len(codes)} bookings made, {len(consoles)} clerks signed in ({zone})", flush=True)
            await asyncio.sleep(2.0)  # let the platform settle after the set-up
            async with contextlib.AsyncExitStack() as stack:

                async def console(headers: dict[str, str]) -> Clerk:
                    http = await stack.enter_async_context(
                        httpx.AsyncClient(base_url=platform_.url, timeout=30)
                    )
                    raw = await stack.enter_async_context(harness.RawClient(platform_.url))
                    raw.reader, raw.writer = await raw.connect()  # before the clock, as httpx's
                    return Clerk(headers, http, raw)

                clerks = [await console(h) for h in consoles]
                boards = await stack.enter_async_context(Boards(platform_.url, args.boards))
                result = await _phases(platform_, database, args, clerks, codes)
                result.board_updates = boards.updates
                if args.boards:
                    print(f"  queue updates received by {args.boards} boards: {boards.updates}", flush=True)
                return result
    finally:
        if database == "postgresql":
            await harness.drop_schemas(args.database_url, SCHEMA_PREFIX)


async def _phases(
    platform_: harness.Platform,
    database: str,
    args: argparse.Namespace,
    clerks: list[Clerk],
    codes: list[str],
) -> Result:
    """The measured phases, each clerk on its own connection (``clerks``)."""

    async def phase(label: str, run):
        spies = Profiles(args.profile, platform_, f"{database}-{label}", native=args.native)
        before = platform_.cpu_seconds()
        try:
            return await run, before
        finally:
            spies.stop()

    checkin, before = await phase("checkin", check_in_all(clerks, [{"code": c} for c in codes]))
    checkin.cpu = cpu_ms(before, platform_.cpu_seconds(), len(checkin.latencies))
    checkin.load = os.getloadavg()[0]
    walk_in, before = await phase(
        "walkin",
        check_in_all(clerks, [{"walk_in_business": BUSINESS} for _ in range(args.walk_ins)]),
    )
    walk_in.cpu = cpu_ms(before, platform_.cpu_seconds(), len(walk_in.latencies))
    walk_in.load = os.getloadavg()[0]
    burst_called: list[str] = []
    bursts_from = time.time()
    (b_walk_in, b_call, b_served), before = await phase(
        "bursts", bursts(clerks, args.rounds, args.pause, burst_called)
    )
    # The bursts' window too: hall_traces.py cuts any window's requests the same way.
    print(f"  bursts window (epoch s): {bursts_from:.3f} {time.time():.3f}", flush=True)
    # A round is a walk-in, a call and a served per clerk: CPU per round's trio.
    after = platform_.cpu_seconds()
    b_walk_in.cpu = cpu_ms(before, after, len(b_call.latencies))
    b_walk_in.client_cpu = client_ms(before, after, len(b_call.latencies))
    b_walk_in.load = b_call.load = b_served.load = os.getloadavg()[0]
    (call, served, called), before = await phase("call", call_all(clerks))
    # Calls and "served" interleave: their CPU is counted per call + served pair.
    call.cpu = cpu_ms(before, platform_.cpu_seconds(), len(call.latencies))
    call.load = served.load = os.getloadavg()[0]
    live_called: list[str] = []
    live_from = time.time()
    (l_checkin, l_call, l_served), before = await phase(
        "live",
        live_hall(
            platform_.url,
            clerks,
            args.live_seconds,
            args.live_rate,
            args.seed,
            live_called,
            lockstep=args.live_lockstep,
        ),
    )
    # Per ticket: its check-in, its call and its "served" (and the calls that
    # found nobody, spread over them).
    l_checkin.cpu = cpu_ms(before, platform_.cpu_seconds(), len(l_served.latencies))
    l_checkin.load = l_call.load = l_served.load = os.getloadavg()[0]
    # The live hall's window in the trace files' clock (bench/hall_traces.py --window).
    print(f"  live hall window (epoch s): {live_from:.3f} {time.time():.3f}", flush=True)
    result = Result(database, checkin, walk_in, call, served)
    result.burst_walk_in, result.burst_call, result.burst_served = b_walk_in, b_call, b_served
    result.live_checkin, result.live_call, result.live_served = l_checkin, l_call, l_served
    await check(harness.launcher_env(platform_), result, burst_called + called + live_called)
    for what, timed in (
        ("check-in", checkin),
        ("walk-in", walk_in),
        ("burst walk-in", b_walk_in),
        ("burst call", b_call),
        ("burst served", b_served),
        ("call", call),
        ("served", served),
        ("live check-in", l_checkin),
        ("live call", l_call),
        ("live served", l_served),
    ):
        p50, p99 = percentile_ms(timed.latencies, 50), percentile_ms(timed.latencies, 99)
        print(
            f"  {what}: {len(timed.latencies)} in {timed.wall:.1f} s, p50 {p50:.1f} ms, "
            f"p99 {p99:.1f} ms, errors {timed.errors or 'none'}, load {timed.load:.1f}, "
            f"CPU ms/request {sum(timed.cpu.values()):.2f} {timed.cpu}"
            + (f", load generator {timed.client_cpu:.2f}" if not math.isnan(timed.client_cpu) else ""),
            flush=True,
        )
    print(f"  violations: {result.violations}", flush=True)
    return result


class Boards:
    """``--boards`` display boards of the office, each reading the queue's stream
    (``GET …/queue/stream``, server-sent events) through every phase, as a hall's
    screens do all day: the queue feed's cost per change lands in the phases' CPU."""

    def __init__(self, url: str, count: int) -> None:
        self.url, self.count = url, count
        self.updates = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._streaming = asyncio.Event()

    async def __aenter__(self) -> Boards:
        self._tasks = [asyncio.create_task(self._board()) for _ in range(self.count)]
        if self.count:
            await asyncio.wait_for(self._streaming.wait(), 30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _board(self) -> None:
        async with (
            httpx.AsyncClient(base_url=self.url, timeout=None) as http,
            http.stream(
                "GET", f"/v1/offices/{OFFICE}/queue/stream", headers={"X-Mintong-Channel": "web"}
            ) as stream,
        ):
            if stream.status_code != 200:
                await stream.aread()
                harness.ok(stream, "queue stream")
            async for line in stream.aiter_lines():
                if line == "event: queue":
                    self.updates += 1
                    self._streaming.set()


def report(results: list[Result], args: argparse.Namespace, command: str, pg_version: str | None) -> str:
    lines = [
        f"Measured on {dt.date.today().isoformat()} with `{command}`, on a platform started as `make up` "
        "starts it (default settings; the per-address one-time-code limit raised and access tokens made "
        f"to last 60 minutes for the sign-ins). One office; {args.counters} window clerks, each on its own "
        f"connection, all at once: first checking in {args.citizens} bookings of the next slot by "
        f"confirmation code, then {args.walk_ins} walk-ins (each clerk in a closed loop: its next request "
        f"as soon as its last was answered); then {args.rounds} bursts, {args.pause} s apart, of every clerk "
        "at the same instant sending a walk-in, then calling the next ticket, then marking it served (item 6 "
        "as it reads: the 20 counters at once); then each at its own counter calling the next "
        "ticket and marking it served, in a closed loop, until nobody waited; then the hall as it "
        f"lives: for {args.live_seconds:.0f} s walk-ins arriving at random, {args.live_rate:g} a second "
        "(exponential gaps, each sent when it arrives), while each clerk calls, serves for a random "
        "0.2–1 s and calls again "
        + (
            "(exactly 1 s later when nobody waited; all starting at once), "
            if args.live_lockstep
            else f"({IDLE_SECONDS[0]:g}–{IDLE_SECONDS[1]:g} s later at random when nobody waited; each "
            "starting within the first second), "
        )
        + "then the queue emptied. "
        "Latency from sending a "
        f"request to having its answer; target p99 < {TARGET_P99_MS:.0f} ms for check-in and call.",
        "",
        "| database | request | answered 200 | per s | p50 ms | p99 ms | max ms | p99 on target "
        "| CPU ms per request (by process) | load avg | errors |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for r in results:
        lines += [
            r.checkin.row("check-in (booking)", r.database),
            r.walk_in.row("check-in (walk-in)", r.database),
            r.burst_walk_in.row("burst: walk-in (CPU per walk-in + call + served)", r.database),
            r.burst_call.row("burst: call next", r.database),
            r.burst_served.row("burst: served", r.database),
            r.call.row("call next (+ served: CPU per pair)", r.database),
            r.served.row("served", r.database),
            r.live_checkin.row("live hall: check-in (CPU per ticket: check-in + calls + served)", r.database),
            r.live_call.row("live hall: call next", r.database),
            r.live_served.row("live hall: served", r.database),
        ]
    lines += [
        "",
        "Read from the booking database afterwards:",
        "",
        "| database | tickets | distinct numbers | calls answered with a ticket | distinct tickets called "
        "| served | violations |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r.database} | {r.tickets} | {r.numbers} | {r.called_ids} | {r.called_unique} | "
            f"{r.served_rows} | {r.violations} |"
            for r in results
        ),
        "",
        "Machine: "
        + "; ".join(f"{k}: {v}" for k, v in harness.machine())
        + ". Software: "
        + harness.software(pg_version)
        + ". The machine was shared with other engineers' work (builds and tests) while this ran, "
        "so the tail latencies include their load.",
    ]
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.platform_options(parser)
    parser.add_argument("--citizens", type=int, default=200, help="bookings checked in (default 200)")
    parser.add_argument("--walk-ins", type=int, default=400, help="walk-ins checked in (default 400)")
    parser.add_argument("--counters", type=int, default=20, help="clerks at counters at once (default 20)")
    parser.add_argument(
        "--boards", type=int, default=0, help="display boards reading the queue's stream (default 0)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=10,
        help="rounds of every clerk at once: walk-in, call, served (default 10)",
    )
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between rounds (default 0.5)")
    parser.add_argument(
        "--live-seconds", type=float, default=20.0, help="of walk-ins arriving in the live hall (default 20)"
    )
    parser.add_argument(
        "--live-rate", type=float, default=5.0, help="walk-ins a second in the live hall (default 5)"
    )
    parser.add_argument(
        "--live-lockstep",
        action="store_true",
        help="live hall: the clerks start together and an idle one waits exactly 1 s (their calls in bursts)",
    )
    parser.add_argument("--seed", type=int, default=11, help="of the made-up residents")
    parser.add_argument("--write", type=Path, metavar="FILE", help="rewrite the hall section of FILE")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the platform's data dir (its trace files) in DIR/<database>",
    )
    parser.add_argument("--profile", type=Path, metavar="DIR", help="py-spy booking and gateway into DIR")
    parser.add_argument(
        "--native", action="store_true", help="with --profile: py-spy --native (the C below Python too)"
    )
    parser.add_argument(
        "--in-process", type=int, metavar="N", help="booking's own CPU per request, no platform (N of each)"
    )
    harness.ports_option(parser)
    args = parser.parse_args()
    harness.PORT_RANGE = args.ports
    if not 1 <= args.citizens <= 5000 or not 0 <= args.walk_ins <= 20000 or not 1 <= args.counters <= 200:
        parser.error("--citizens in [1, 5000], --walk-ins in [0, 20000], --counters in [1, 200]")
    databases = [args.database] if args.database else ["sqlite", "postgresql"]
    if args.in_process:
        print(
            "| database | round | check-ins by code | CPU ms per check-in | walk-ins | CPU ms per walk-in "
            "| tickets waiting | CPU ms per queue read | call + served pairs | CPU ms per pair "
            "| CPU ms per call finding nobody | load avg |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for database in databases:
            await in_process(database, args)
        return 0
    pg_version = None
    if "postgresql" in databases:
        pg_version = await harness.drop_schemas(args.database_url, SCHEMA_PREFIX)
    results = [await measure(database, args) for database in databases]
    section = report(results, args, shlex.join(["python", "bench/hall.py", *sys.argv[1:]]), pg_version)
    print("\n" + section)
    if args.write:
        harness.write_section(
            args.write, section, start=START, end=END, heading="The hall: check-in and calling"
        )
        print(f"\nwrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
