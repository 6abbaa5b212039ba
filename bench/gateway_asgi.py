"""The gateway's own CPU per request, in process: the app as ``create_app`` builds it
(middlewares, routes, dependencies, problem answers, the FastAPI instrumentation),
driven by plain ASGI calls with no server, no network and no other process. The
services are faked (booking's answers are fixed protobuf messages), the citizen's
token is a real Ed25519 token checked by the gateway's own checker (from its cache
after the first request), and the edge's vacancy says one slot is full.

Requests of each kind measured alone for ``--requests`` requests after a warm-up, in
CPU microseconds of this process per request (``time.process_time``):

- ``list``: ``GET /v1/offices/o/slots`` answered from the edge's cached list;
- ``refuse``: ``POST /v1/bookings`` of the full slot, refused at the edge (409);
- ``book``: ``POST /v1/bookings`` of a slot with places (booking's answer faked);
- ``busy``: ``POST /v1/bookings`` turned away by the admission limit (503
  ``overloaded``): every turn held and the waiting room full, as in a flash crowd's
  first wave;
- ``first``: a citizen's sign-in (``POST /v1/auth/token``, identity's answer faked:
  a token made before the timing, a new one each time) and then their first
  booking with that token, the two together (every citizen's token new to the
  gateway, as in ``bench/uncontended_booking.py``; not among the defaults).

For the code before a change, put that checkout first on the path:

    .venv/bin/python bench/gateway_asgi.py
    PYTHONPATH=/work/wt/before .venv/bin/python bench/gateway_asgi.py

Tracing: by default no tracer provider is installed, so the server span is made by
a no-op tracer (the request path without tracing's cost); ``--tracing`` installs
the provider as ``python -m gateway`` does (``setup_tracing``: every span made and
written as OTLP-JSON lines, here to a temporary directory, sampled as the
``OTEL_TRACES_SAMPLER`` variables say). This is a benchmark, not a test: it asserts
nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.tokens import TokenChecker, TokenKeys
from gateway.vacancy import EdgeVacancy
from mintong.booking.v1 import bookings_pb2, catalogue_pb2
from mintong.identity.v1 import identity_pb2
from services.runtime import telemetry
from services.runtime.access_tokens import ISSUER, Verifier, key_id
from services.runtime.proto_values import date_to_proto
from services.runtime.vacancy import SlotVacancy
from services.runtime.vacancy_watch import VacancyWatcher

KEY = Ed25519PrivateKey.generate()
TODAY = dt.date.today()
FULL_SLOT, FREE_SLOT, BUSINESS = 5, 6, "B"


class Catalogue:
    async def ListSlots(self, request: Any, **options: Any) -> catalogue_pb2.ListSlotsResponse:
        slots = []
        for day in range(7):
            for hour in range(8, 17):
                slot = catalogue_pb2.Slot(
                    id=day * 100 + hour,
                    office_id="o",
                    date=date_to_proto(TODAY + dt.timedelta(days=day)),
                    capacity=5,
                    remaining=3,
                )
                slot.start.hours, slot.end.hours = hour, hour + 1
                slots.append(slot)
        return catalogue_pb2.ListSlotsResponse(slots=slots)


class Bookings:
    async def Book(self, request: Any, **options: Any) -> bookings_pb2.BookResponse:
        booking = bookings_pb2.Booking(
            id=str(uuid.uuid4()),
            status=bookings_pb2.BOOKING_STATUS_CONFIRMED,
            confirmation_code="ABC123",
            qr_payload="q",
            city_code="zz",
            business_code=BUSINESS,
            office_id="o",
            slot_id=FREE_SLOT,
            date=date_to_proto(TODAY),
            channel=request.channel,
        )
        booking.start.hours, booking.end.hours = 9, 10
        booking.created_at.GetCurrentTime()
        booking.snapshot.business_name = "居民身份证换领"
        booking.snapshot.materials.extend(["户口簿", "原身份证"])
        return bookings_pb2.BookResponse(booking=booking)


class Identity:
    """Signs a citizen in with the token it is given next (made before the timing)."""

    def __init__(self) -> None:
        self.next_token = ""

    async def SignIn(self, request: Any, **options: Any) -> identity_pb2.SignInResponse:
        tokens = identity_pb2.Tokens(
            access_token=self.next_token, expires_in_seconds=3600, refresh_token="r", citizen_id="c1"
        )
        return identity_pb2.SignInResponse(tokens=tokens)


class Clients:
    def __init__(self) -> None:
        self.catalogue = Catalogue()
        self.bookings = Bookings()
        self.identity = Identity()


class NoneRevoked:
    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.ready.set()

    def __contains__(self, session_id: object) -> bool:
        return False


def gateway() -> Any:
    """The app with the state its lifespan would have set, the services faked."""
    app = create_app(GatewaySettings(receipt_secret=SecretStr("not-used-by-this-benchmark")))
    app.state.clients = Clients()
    keys = TokenKeys(None, timeout=1.0)  # type: ignore[arg-type]  # never asks identity
    keys.verifier = Verifier({key_id(KEY.public_key()): KEY.public_key()})
    revoked: Any = NoneRevoked()
    app.state.tokens = TokenChecker(keys, revoked, lambda: dt.datetime.now(dt.UTC), ready_wait=1.0)
    watcher = VacancyWatcher(bus=None)  # type: ignore[arg-type]  # never started
    full = SlotVacancy.of(remaining=0, capacity=1, date=TODAY, start=dt.time(9), businesses=[BUSINESS])
    watcher._slots = {FULL_SLOT: full}
    watcher.ready.set()
    app.state.edge = EdgeVacancy(watcher, list_ttl=1e9)
    return app


async def request(app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> int:
    """One request through the app's ASGI interface: its status."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"host", b"gateway"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    status = 0
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def citizen_token(session: str = "s1") -> str:
    claims = {
        "iss": ISSUER,
        "aud": "web",
        "sub": "c1",
        "sid": session,
        "exp": dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    }
    return jwt.encode(claims, KEY, algorithm="EdDSA", headers={"kid": key_id(KEY.public_key())})


def requests(app: Any, signed_in: int) -> dict[str, Callable[[], Awaitable[int]]]:
    """``signed_in``: how many citizens the ``first`` route signs in (a token each)."""
    token = citizen_token()

    def booking(slot_id: int, bearer: Callable[[], str] = lambda: token) -> Callable[[], Awaitable[int]]:
        body = f'{{"slot_id":{slot_id},"business":"{BUSINESS}"}}'.encode()
        return lambda: request(
            app,
            "POST",
            "/v1/bookings",
            {
                "X-Mintong-Channel": "web",
                "Authorization": f"Bearer {bearer()}",
                "Idempotency-Key": str(uuid.uuid4()),
                "Content-Type": "application/json",
            },
            body,
        )

    # A citizen's sign-in, then their first booking with the token it gave: every
    # token new to the gateway, as in bench/uncontended_booking.py.
    fresh = iter([citizen_token(f"s{n}") for n in range(signed_in)])
    identity: Identity = app.state.clients.identity
    first_booking = booking(FREE_SLOT, bearer=lambda: identity.next_token)
    sign_in_body = '{"id_number":"410105198503121235","name":"张伟","code":"123456"}'.encode()

    async def first() -> int:
        identity.next_token = next(fresh)
        headers = {"X-Mintong-Channel": "web", "Content-Type": "application/json"}
        if (signed := await request(app, "POST", "/v1/auth/token", headers, sign_in_body)) != 200:
            return signed
        return await first_booking()

    week = f"business={BUSINESS}&from={TODAY}&to={TODAY + dt.timedelta(days=6)}"
    return {
        "list": lambda: request(app, "GET", f"/v1/offices/o/slots?{week}", {"X-Mintong-Channel": "web"}),
        "refuse": booking(FULL_SLOT),
        "book": booking(FREE_SLOT),
        "busy": booking(FREE_SLOT),
        "first": first,
    }


def _admission(app: Any) -> Any:
    """The app's admission limit, found in its middleware stack (built at its first call)."""
    layer = app.middleware_stack
    while layer is not None and type(layer).__name__ != "AdmissionLimit":
        layer = getattr(layer, "app", None)
    if layer is None:
        raise SystemExit("no AdmissionLimit in the app's middleware stack")
    return layer


async def overload(app: Any) -> None:
    """Every turn of the admission limit held and its waiting room counted full, so
    that each request is turned away at once (503 ``overloaded``)."""
    limit = _admission(app)
    for _ in range(limit.limit):
        await limit._slots.acquire()
    limit._waiting = int(limit.rate() * limit.wait) + 1


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "routes",
        nargs="*",
        default=["list", "refuse", "book"],
        help="list, refuse, book, busy (last: it leaves the limit full), first",
    )
    parser.add_argument("--requests", type=int, default=1500, help="measured per route (default 1500)")
    parser.add_argument("--tracing", action="store_true", help="spans made and exported, as `make up` does")
    args = parser.parse_args()
    traces = tempfile.TemporaryDirectory(prefix="gateway-asgi-")
    if args.tracing:
        telemetry.setup_tracing("gateway", Path(traces.name))
    app = gateway()
    made = requests(app, signed_in=(200 + args.requests) if "first" in args.routes else 0)
    expected = {"list": 200, "refuse": 409, "book": 201, "busy": 503, "first": 201}
    for name in args.routes:
        if name == "busy":
            await made["list"]()  # the middleware stack built
            await overload(app)
        for _ in range(200):  # warm-up: the token checked once, the list cached
            status = await made[name]()
        if status != expected[name]:
            raise SystemExit(f"{name}: answered {status}, not {expected[name]}")
        started = time.process_time()
        for _ in range(args.requests):
            await made[name]()
        used = time.process_time() - started
        print(f"{name}: {1e6 * used / args.requests:.0f} µs of CPU per request", flush=True)
    # The batch exporter's thread writes in the background; its CPU is in the figures
    # above as far as it ran during them (the same for every route).
    telemetry.flush()
    traces.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
