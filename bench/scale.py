"""The platform scaled out on one machine, with faults: the launcher and the booking
ledger that `bench/scale_out.py` and `tests/e2e/test_scale_out.py` share.

:class:`ScaledPlatform` starts a NATS cluster of three nats-server processes on
loopback (routes between them, JetStream in each, the streams at ``replicas``),
the services on PostgreSQL (schemas of their own), booking and the gateway as
several processes each (booking's target names every booking process:
round-robin), identity, cards and notify once. Each process is one ``python -m``
child with its own log, so that one of them can be killed (SIGKILL) and started
again while the others serve. Databases are migrated and the catalogue loaded in
this process first, which also makes the data dir's development secrets (token
key, PII keys, QR key) before any service could race to make them.

:func:`book` sends a booking load through every gateway: distinct citizens (tokens
signed with the platform's development key, as identity signs them: sign-in is not
what is measured), each one ``POST /v1/bookings`` with an Idempotency-Key, retried
with the same key after a 5xx, a 429 or a broken connection, as a careful client
does. Every answer is kept with the fault that was on when it came.
:func:`faults` kills and restarts a NATS node (the BOOKING stream's leader), a
booking process, and cuts booking's database connections (``pg_terminate_backend``,
again and again for a while), one after the other, while the load runs.
:func:`check` then compares what the clients were told with the databases and the
stream: no booking lost or made twice, each BookingConfirmed event in the stream
once and handled by notify once, with one message.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import nats
from nats.js.errors import NotFoundError

from bench import flash_crowd
from bench.harness import free_ports, nats_binary

REPO = Path(__file__).resolve().parents[1]
SERVICES = ("identity", "booking", "cards", "notify")
CITY, OFFICE, BUSINESS = "scalecity", "scale-hall", "ID_CARD_RENEWAL"
ZONE = ZoneInfo("Asia/Shanghai")
CONFIRMED_SUBJECT = "mintong.booking.booking.confirmed"
CONFIRMED_TYPE = "mintong.booking.v1.BookingConfirmed"
NOTIFY_DURABLE = "notify-booking"
START_TIMEOUT = 120.0
STEADY = "steady"


def accepts(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclasses.dataclass
class Child:
    """One process of the platform: started, killed and started again by name."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n--- start {self.starts + 1} ---\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of the test or bench is not theirs
            )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no drain, no goodbye, as a crashed process or a lost machine."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, wait: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(wait)
        except subprocess.TimeoutExpired:
            self.kill()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclasses.dataclass
class NatsNode(Child):
    """A nats-server of the cluster: its client port is ``port``."""

    route: int = 0
    monitor: int = 0


@dataclasses.dataclass
class Layout:
    """How many processes of each kind; the rest runs once."""

    booking: int = 2
    gateways: int = 2
    nats_nodes: int = 3
    replicas: int = 3


class ScaledPlatform:
    def __init__(
        self,
        work: Path,
        database_url: str,
        schema_prefix: str,
        layout: Layout | None = None,
        settings: dict[str, str] | None = None,
        port_base: int | None = None,
    ) -> None:
        self.work = work
        self.data_dir = work / "data"
        self.database_url = database_url
        self.schema_prefix = schema_prefix
        self.layout = layout or Layout()
        self.settings = settings or {}
        n = self.layout.nats_nodes
        wanted = 3 * n + 3 + self.layout.booking + self.layout.gateways
        ports = free_ports(wanted) if port_base is None else list(range(port_base, port_base + wanted))
        self.nats_nodes = [self._nats_node(i, *ports[3 * i : 3 * i + 3]) for i in range(n)]
        rest = ports[3 * n :]
        self.grpc = {"identity": [rest[0]], "cards": [rest[1]], "notify": [rest[2]]}
        self.grpc["booking"] = rest[3 : 3 + self.layout.booking]
        self.http_ports = rest[3 + self.layout.booking :]
        self.urls = [f"http://127.0.0.1:{p}" for p in self.http_ports]
        self.services: dict[str, list[Child]] = {}
        self.gateways: list[Child] = []
        self.day = dt.datetime.now(ZONE).date() + dt.timedelta(days=1)
        self.slot_ids: list[int] = []

    # ------------------------------------------------------------ configuration

    @property
    def nats_url(self) -> str:
        return ",".join(f"nats://127.0.0.1:{node.port}" for node in self.nats_nodes)

    def _nats_node(self, i: int, client: int, route: int, monitor: int) -> NatsNode:
        name = f"nats-{i}"
        (self.work / name).mkdir(parents=True, exist_ok=True)
        argv = [nats_binary(), "-c", str(self.work / f"{name}.conf")]
        return NatsNode(
            name, argv, dict(os.environ), self.work / f"{name}.log", client, route=route, monitor=monitor
        )

    def _write_nats_configs(self) -> None:
        routes = ", ".join(f"nats-route://127.0.0.1:{n.route}" for n in self.nats_nodes)
        for node in self.nats_nodes:
            # JetStream fsyncs every write, as `make up`'s: an acknowledged event
            # survives the node; the three nodes form one cluster by their routes.
            (self.work / f"{node.name}.conf").write_text(
                f'server_name: "{node.name}"\n'
                f'listen: "127.0.0.1:{node.port}"\n'
                f'http: "127.0.0.1:{node.monitor}"\n'
                f'jetstream {{\n  store_dir: "{self.work / node.name}"\n  sync_interval: always\n}}\n'
                f'cluster {{\n  name: "mintong-scale"\n  listen: "127.0.0.1:{node.route}"\n'
                f"  routes: [{routes}]\n}}\n",
                encoding="utf-8",
            )

    def env(self, **own: object) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MINTONG_", "OTEL_"))}
        env |= {
            "PYTHONUNBUFFERED": "1",
            "MINTONG_DATA_DIR": str(self.data_dir),
            "MINTONG_DATABASE_URL": self.database_url,
            "MINTONG_DB_SCHEMA_PREFIX": self.schema_prefix,
            "MINTONG_NATS_URL": self.nats_url,
            "MINTONG_NATS_REPLICAS": str(self.layout.replicas),
            "MINTONG_SHUTDOWN_GRACE": "1",
        }
        for service, ports in self.grpc.items():
            env[f"MINTONG_{service.upper()}_GRPC_PORT"] = str(ports[0])
            # Every process reaches every copy of a service: calls spread round-robin.
            env[f"MINTONG_{service.upper()}_GRPC_TARGET"] = (
                f"ipv4:{','.join(f'127.0.0.1:{p}' for p in ports)}"
                if len(ports) > 1
                else f"127.0.0.1:{ports[0]}"
            )
        env |= self.settings
        env |= {k: str(v) for k, v in own.items()}
        return env

    # ------------------------------------------------------------ starting

    def prepare(self) -> None:
        """Migrate every database and load the catalogue, in this process (each
        ``python -m … migrate`` would cost a second of start-up), which also makes
        the development secrets in the data dir for every process to share."""
        from services.booking import bootstrap as booking
        from services.booking.config import BookingSettings
        from services.booking.service_layer import handlers
        from services.cards import bootstrap as cards
        from services.cards.config import CardsSettings
        from services.identity import bootstrap as identity
        from services.identity.adapters.tokens import SigningKeys
        from services.identity.config import IdentitySettings
        from services.notify import bootstrap as notify
        from services.notify.config import NotifySettings
        from services.runtime.clock import utc_now

        values: dict[str, Any] = {
            "data_dir": self.data_dir,
            "database_url": self.database_url,
            "db_schema_prefix": self.schema_prefix,
        }
        SigningKeys.dev(self.data_dir)
        apps: list[Any] = [
            identity.build(IdentitySettings(**values)),
            cards.build(CardsSettings(**values)),
            notify.build(NotifySettings(**values)),
        ]
        book = booking.build(BookingSettings(**values))

        async def load() -> list[int]:
            try:
                for app in [*apps, book]:  # one at a time: Alembic's context is global
                    await asyncio.to_thread(app.migrate)
                day = flash_crowd.catalogue(40, 1000, city=CITY, office=OFFICE, group="scale")
                await handlers.load_catalogue(book.uow, day.encode(), "yaml")
                await handlers.publish_slots(book.uow, first=self.day, last=self.day, city_code=CITY)
                slots = await handlers.list_slots(book.uow, utc_now, OFFICE, BUSINESS, self.day, self.day)
                return [s.id for s in slots if s.id is not None]
            finally:
                for app in [*apps, book]:
                    await app.db.dispose()

        self.slot_ids = asyncio.run(load())

    def start_nats(self) -> None:
        self._write_nats_configs()
        for node in self.nats_nodes:
            node.start()

    def start_services(self) -> None:
        python = sys.executable
        for service in ("identity", "cards", "notify", "booking"):
            self.services[service] = [
                Child(
                    f"{service}-{i}" if len(self.grpc[service]) > 1 else service,
                    [python, "-m", f"services.{service}"],
                    self.env(**{f"MINTONG_{service.upper()}_GRPC_PORT": port}),
                    self.work / f"{service}-{i}.log",
                    port,
                )
                for i, port in enumerate(self.grpc[service])
            ]
        self.gateways = [
            Child(
                f"gateway-{i}",
                [python, "-m", "gateway"],
                self.env(MINTONG_HTTP_PORT=port),
                self.work / f"gateway-{i}.log",
                port,
            )
            for i, port in enumerate(self.http_ports)
        ]
        for child in self.children():
            child.start()

    def children(self) -> list[Child]:
        return [c for copies in self.services.values() for c in copies] + self.gateways

    async def wait_nats(self, node: NatsNode | None = None, within: float = START_TIMEOUT) -> None:
        """Until each node (or ``node``) says JetStream is healthy: the cluster has a
        meta leader and the node's streams are current."""
        nodes = [node] if node else self.nats_nodes
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as http:
            for n in nodes:
                url = f"http://127.0.0.1:{n.monitor}/healthz"
                while True:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get(url)).status_code == 200:
                            break
                    if not n.alive or time.monotonic() > deadline:
                        raise RuntimeError(f"{n.name} is not healthy:\n{n.tail()}")
                    await asyncio.sleep(0.2)

    async def wait_ready(self, within: float = START_TIMEOUT) -> None:
        """Until every process listens and every gateway's /readyz is 200."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=3) as http:
            for child in self.children():
                while not accepts(child.port):
                    self._check_alive(child, deadline)
                    await asyncio.sleep(0.2)
            for gateway, url in zip(self.gateways, self.urls, strict=True):
                while True:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get(f"{url}/readyz")).status_code == 200:
                            break
                    self._check_alive(gateway, deadline)
                    await asyncio.sleep(0.2)

    def _check_alive(self, child: Child, deadline: float) -> None:
        if not child.alive:
            raise RuntimeError(f"{child.name} exited while starting:\n{child.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{child.name} is not ready after {START_TIMEOUT:.0f} s:\n{child.tail()}")

    async def wait_listening(self, child: Child, within: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + within
        while not accepts(child.port):
            self._check_alive(child, deadline)
            await asyncio.sleep(0.1)

    def stop(self, graceful: bool = True) -> None:
        """The gateways first, then the services, then NATS; each group together.
        Not ``graceful``: SIGKILL, for a test whose checks are done (a graceful stop
        is tests/e2e/test_processes.py's)."""
        services = [c for copies in self.services.values() for c in copies]
        for group in (self.gateways, services, self.nats_nodes):
            for child in group:
                child.terminate() if graceful else child.kill()
            for child in group:
                child.stop()

    # ------------------------------------------------------------ looking in

    def token(self, citizen: str, channel: str) -> str:
        """A citizen's access token as identity makes one (its development key)."""
        from services.identity.adapters.tokens import SigningKeys, sign

        return sign(
            SigningKeys.dev(self.data_dir),
            audience=channel,
            subject=citizen,
            session_id=str(uuid.uuid4()),
            now=dt.datetime.now(dt.UTC),
            lifetime=dt.timedelta(hours=2),
        )

    async def pg(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.database_url.replace("+asyncpg", ""), timeout=10)

    async def stream_leader(self, stream: str = "BOOKING") -> NatsNode:
        nc = await nats.connect(servers=self.nats_url.split(","), connect_timeout=2)
        try:
            info = await nc.jetstream().stream_info(stream)
        finally:
            await nc.close()
        leader = info.cluster.leader if info.cluster else None
        return next((n for n in self.nats_nodes if n.name == leader), self.nats_nodes[0])


@contextlib.contextmanager
def scaled_platform(
    work: Path,
    database_url: str,
    schema_prefix: str,
    layout: Layout | None = None,
    settings: dict[str, str] | None = None,
    port_base: int | None = None,
    graceful_stop: bool = True,
) -> Iterator[ScaledPlatform]:
    """A started platform (call :meth:`ScaledPlatform.wait_ready` from async code),
    stopped after; its PostgreSQL schemas are dropped."""
    platform = ScaledPlatform(work, database_url, schema_prefix, layout, settings, port_base)
    platform.start_nats()
    try:
        platform.prepare()
        platform.start_services()
        yield platform
    finally:
        platform.stop(graceful_stop)
        asyncio.run(drop_schemas(database_url, schema_prefix))


async def drop_schemas(database_url: str, prefix: str) -> None:
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""), timeout=10)
    try:
        schemas = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", prefix.replace("_", r"\_") + "%"
        )
        if schemas:  # one statement, one commit
            await conn.execute(
                f"DROP SCHEMA {', '.join(f'{chr(34)}{s}{chr(34)}' for (s,) in schemas)} CASCADE"
            )
    finally:
        await conn.close()


# ---------------------------------------------------------------- the load


@dataclasses.dataclass(frozen=True)
class Answer:
    citizen: str
    gateway: int
    status: int  # 0: no HTTP answer (connection refused, reset, timed out)
    code: str  # the problem's code, the exception's name, or "" for a 201
    fault: str  # which fault was on when the answer came
    booking_id: str = ""
    replayed: bool = False
    seconds: float = 0.0  # from sending to the answer (or the failure)


@dataclasses.dataclass
class Load:
    answers: list[Answer] = dataclasses.field(default_factory=list)
    #: citizen → the booking id their 201 named (the first; replays must agree).
    booked: dict[str, str] = dataclasses.field(default_factory=dict)
    #: citizens whose client gave up without a 201 (outcome unknown to them).
    gave_up: list[str] = dataclasses.field(default_factory=list)
    wall: float = 0.0
    fault: str = STEADY

    def by_fault(self) -> dict[str, collections.Counter[str]]:
        table: dict[str, collections.Counter[str]] = {}
        for a in self.answers:
            label = f"{a.status} {a.code}".strip() if a.status else f"no answer ({a.code})"
            if a.replayed:
                label += " (replayed)"
            table.setdefault(a.fault, collections.Counter())[label] += 1
        return table

    @property
    def rate(self) -> float:
        return len(self.booked) / self.wall if self.wall else 0.0


async def book(
    platform: ScaledPlatform,
    load: Load,
    *,
    until: asyncio.Event,
    at_least: int,
    concurrency: int,
    retry_pause: float = 0.3,
    give_up_after: int = 60,
    pace: float = 0.0,
) -> None:
    """Citizens book, ``concurrency`` at a time, through the gateways in turn, until
    ``until`` is set and at least ``at_least`` have been served, each worker
    pausing ``pace`` seconds between citizens. One citizen, one
    booking, one Idempotency-Key; the client retries with the same key."""
    counter = iter(range(10**9))
    started = time.perf_counter()
    channels = ("app", "wechat", "web")
    clients = [httpx.AsyncClient(base_url=url, timeout=30) for url in platform.urls]

    async def citizen(n: int) -> None:
        who = f"scale-{uuid.uuid4().hex[:20]}"
        channel = channels[n % 3]
        gateway = n % len(clients)
        headers = {
            "X-Mintong-Channel": channel,
            "Authorization": f"Bearer {platform.token(who, channel)}",
            "Idempotency-Key": str(uuid.uuid4()),
        }
        body = {"slot_id": platform.slot_ids[n % len(platform.slot_ids)], "business": BUSINESS}
        for _ in range(give_up_after):
            sent = time.perf_counter()
            try:
                answer = await clients[gateway].post("/v1/bookings", json=body, headers=headers)
            except httpx.HTTPError as exc:
                took = time.perf_counter() - sent
                load.answers.append(Answer(who, gateway, 0, type(exc).__name__, load.fault, seconds=took))
            else:
                data = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
                ok = answer.status_code == 201
                load.answers.append(
                    Answer(
                        who,
                        gateway,
                        answer.status_code,
                        "" if ok else str(data.get("code", "")),
                        load.fault,
                        str(data.get("id", "")) if ok else "",
                        answer.headers.get("Idempotent-Replayed") == "true",
                        time.perf_counter() - sent,
                    )
                )
                if ok:
                    load.booked.setdefault(who, str(data["id"]))
                    return
                if answer.status_code < 500 and answer.status_code != 429:
                    return  # refused for good: counted, and explained by its code
            await asyncio.sleep(retry_pause * random.uniform(0.5, 1.5))
        load.gave_up.append(who)

    async def worker() -> None:
        while not until.is_set() or len(load.booked) < at_least:
            await citizen(next(counter))
            if pace:  # a steady trickle rather than as fast as the platform answers
                await asyncio.sleep(pace)

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        load.wall = time.perf_counter() - started
        await asyncio.gather(*(c.aclose() for c in clients))


# ---------------------------------------------------------------- the faults


async def faults(
    platform: ScaledPlatform, load: Load, done: asyncio.Event, *, hold: float = 2.0, calm: float = 1.0
) -> list[str]:
    """One fault after another while ``load`` runs, each held for ``hold`` seconds
    and then repaired; ``load.fault`` names the one that is on (an answer is
    counted under it until the repair is complete). Returns what was done."""
    done_list: list[str] = []

    async def phase(name: str) -> None:
        load.fault = name
        done_list.append(name)

    try:
        await asyncio.sleep(calm)
        leader = await platform.stream_leader()
        await phase(f"NATS node {leader.name} (BOOKING's leader) killed and restarted")
        leader.kill()
        await asyncio.sleep(hold)
        leader.start()
        await platform.wait_nats(leader)
        load.fault = STEADY
        await asyncio.sleep(calm)

        victim = platform.services["booking"][0]
        await phase(f"booking process {victim.name} killed and restarted")
        victim.kill()
        await asyncio.sleep(hold)
        victim.start()
        await platform.wait_listening(victim)
        load.fault = STEADY
        await asyncio.sleep(calm)

        await phase("booking's database connections terminated")
        conn = await platform.pg()
        try:
            cut_until = time.monotonic() + hold
            while time.monotonic() < cut_until:  # new connections are cut as well
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                    f"{platform.schema_prefix}booking",
                )
                await asyncio.sleep(0.1)
        finally:
            await conn.close()
        load.fault = STEADY
        await asyncio.sleep(calm)
    finally:
        load.fault = STEADY
        done.set()
    return done_list


# ---------------------------------------------------------------- the check


@dataclasses.dataclass
class Check:
    bookings_in_db: int = 0
    lost: list[str] = dataclasses.field(default_factory=list)  # 201 but no such row
    duplicated: list[str] = dataclasses.field(default_factory=list)  # a citizen with two rows
    unknown: list[str] = dataclasses.field(default_factory=list)  # a row no client was told of
    mismatched: list[str] = dataclasses.field(default_factory=list)  # a 201 naming another row
    events: int = 0  # BookingConfirmed rows in booking's outbox (of our citizens)
    events_missing: list[str] = dataclasses.field(default_factory=list)  # a booking without its event
    unpublished: int = 0
    in_stream: int = 0  # BookingConfirmed messages in the stream
    stream_duplicates: int = 0  # messages whose Msg-Id came before
    handled: int = 0  # events notify's consumer recorded
    not_handled: list[str] = dataclasses.field(default_factory=list)
    messages: collections.Counter[int] = dataclasses.field(default_factory=collections.Counter)
    redelivered: int = 0
    #: notify's durable consumer as JetStream sees it at the end (to explain a backlog).
    consumer: str = ""
    waited: float = 0.0
    #: Per event, in outbox order: seconds from its commit to its publication, and
    #: to notify's handling of it.
    delays: list[tuple[float, float]] = dataclasses.field(default_factory=list, repr=False)

    @property
    def problems(self) -> list[str]:
        found = []
        for name in ("lost", "duplicated", "unknown", "mismatched", "events_missing", "not_handled"):
            if values := getattr(self, name):
                found.append(f"{name}: {len(values)} (e.g. {values[:3]})")
        if self.unpublished:
            found.append(f"{self.unpublished} events never published")
        if self.in_stream != self.events:
            found.append(f"{self.in_stream} BookingConfirmed in the stream for {self.events} events")
        if self.stream_duplicates:
            found.append(f"{self.stream_duplicates} messages in the stream twice")
        if set(self.messages) - {1}:
            found.append(f"notify's messages per event: {dict(self.messages)} (each should have 1)")
        if self.not_handled:
            found.append(f"after waiting {self.waited:.0f} s: {self.consumer}")
        return found


async def check(platform: ScaledPlatform, load: Load, within: float = 60.0) -> Check:
    """Wait until booking's outbox is published and notify has handled every event
    (or ``within`` seconds pass), then compare."""
    booking, notify = f'"{platform.schema_prefix}booking"', f'"{platform.schema_prefix}notify"'
    result = Check()
    started = time.monotonic()
    conn = await platform.pg()
    try:
        while True:
            unpublished = await conn.fetchval(
                f"SELECT count(*) FROM {booking}.outbox WHERE published_at IS NULL"
            )
            waiting = await conn.fetchval(
                f"SELECT count(*) FROM {booking}.outbox o WHERE o.event_type = $1 AND NOT EXISTS "
                f"(SELECT 1 FROM {notify}.processed_events p WHERE p.consumer = $2 AND p.event_id = o.id)",
                CONFIRMED_TYPE,
                NOTIFY_DURABLE,
            )
            if (unpublished == 0 and waiting == 0) or time.monotonic() - started > within:
                break
            await asyncio.sleep(0.3)
        result.waited = time.monotonic() - started
        rows = await conn.fetch(
            f"SELECT id, citizen_id FROM {booking}.bookings WHERE citizen_id LIKE 'scale-%'"
        )
        result.bookings_in_db = len(rows)
        by_citizen: dict[str, list[str]] = {}
        for row in rows:
            by_citizen.setdefault(row["citizen_id"], []).append(row["id"])
        result.duplicated = [c for c, ids in by_citizen.items() if len(ids) > 1]
        result.lost = [c for c in load.booked if c not in by_citizen]
        result.unknown = [c for c in by_citizen if c not in load.booked]
        result.mismatched = [c for c, b in load.booked.items() if c in by_citizen and b not in by_citizen[c]]
        result.mismatched += [
            a.citizen for a in load.answers if a.booking_id and a.booking_id != load.booked.get(a.citizen)
        ]
        events = await conn.fetch(
            f"SELECT id, payload, published_at FROM {booking}.outbox WHERE event_type = $1", CONFIRMED_TYPE
        )
        from mintong.booking.v1 import events_pb2

        event_of: dict[str, str] = {}
        for e in events:
            message = events_pb2.BookingConfirmed.FromString(e["payload"])
            if message.citizen_id.startswith("scale-"):
                event_of[message.booking_id] = e["id"]
                result.unpublished += e["published_at"] is None
        result.events = len(event_of)
        result.events_missing = [row["id"] for row in rows if row["id"] not in event_of]
        handled = {
            r["event_id"]
            for r in await conn.fetch(
                f"SELECT event_id FROM {notify}.processed_events WHERE consumer = $1", NOTIFY_DURABLE
            )
        }
        delays = await conn.fetch(
            f"SELECT o.created_at, o.published_at, p.processed_at FROM {booking}.outbox o "
            f"JOIN {notify}.processed_events p ON p.event_id = o.id AND p.consumer = $1 "
            "WHERE o.event_type = $2 ORDER BY o.seq",
            NOTIFY_DURABLE,
            CONFIRMED_TYPE,
        )
        result.delays = [
            (
                (r["published_at"] - r["created_at"]).total_seconds(),
                (r["processed_at"] - r["created_at"]).total_seconds(),
            )
            for r in delays
        ]
        result.handled = len(set(event_of.values()) & handled)
        result.not_handled = [e for e in event_of.values() if e not in handled]
        per_event = collections.Counter(
            r["source_key"].split(":", 1)[0]
            for r in await conn.fetch(
                f"SELECT source_key FROM {notify}.messages WHERE source_key LIKE $1",
                "%:booking_confirmed:scale-%",
            )
        )
        result.messages = collections.Counter(per_event.get(e, 0) for e in event_of.values())
    finally:
        await conn.close()
    await _count_stream(platform, result, set(event_of.values()))
    return result


async def _count_stream(platform: ScaledPlatform, result: Check, ours: set[str]) -> None:
    """Every BookingConfirmed message of the stream, by its Msg-Id; and the notify
    consumer's redeliveries."""
    nc = await nats.connect(servers=platform.nats_url.split(","), connect_timeout=2)
    try:
        js = nc.jetstream()
        info = await js.stream_info("BOOKING", subjects_filter=CONFIRMED_SUBJECT)
        total = (info.state.subjects or {}).get(CONFIRMED_SUBJECT, 0)
        seen: set[str] = set()
        subscription = await js.subscribe(CONFIRMED_SUBJECT, ordered_consumer=True)
        try:
            for _ in range(total):
                msg = await subscription.next_msg(timeout=10)
                msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
                if msg_id not in ours:
                    continue
                result.stream_duplicates += msg_id in seen
                seen.add(msg_id)
                result.in_stream += 1
        finally:
            await subscription.unsubscribe()
        with contextlib.suppress(NotFoundError):
            consumer = await js.consumer_info("BOOKING", NOTIFY_DURABLE)
            result.redelivered = consumer.num_redelivered or 0
            result.consumer = (
                f"{NOTIFY_DURABLE}: pending {consumer.num_pending}, unacknowledged "
                f"{consumer.num_ack_pending}, redelivered {consumer.num_redelivered}, waiting pulls "
                f"{consumer.num_waiting}, delivered up to stream seq "
                f"{consumer.delivered.stream_seq if consumer.delivered else '?'}, acknowledged up to "
                f"{consumer.ack_floor.stream_seq if consumer.ack_floor else '?'}, leader "
                f"{consumer.cluster.leader if consumer.cluster else '?'}"
            )
    finally:
        await nc.close()
