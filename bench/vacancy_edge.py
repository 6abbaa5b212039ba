"""Vacancy at the edge (decision 65): how stale the vacancy citizens read is after a
booking or a cancellation, and what refusing a full slot costs.

It starts the platform as `make up` does (``bench.harness``), loads a one-office
catalogue through the administrators' API (two slots of one place tomorrow), imports
and signs in a few made-up residents, then:

1. **Staleness**: ``--rounds`` times, one citizen books the slot and then cancels
   it; after each answer a reader polls ``GET /v1/offices/…/slots`` every
   ``--poll-ms`` until the list shows the change. The staleness is the time from the
   answer (the commit was a moment before it) to the first list that shows it.
2. **Refusing a full slot**: the slot full, ``--clients`` signed-in citizens who
   never booked it send ``POST /v1/bookings`` for it back to back for ``--seconds``;
   every answer should be ``409 slot_full``. Reported: requests/s, latency, and the
   CPU each process used per request (the machine is shared: CPU per request is the
   number to compare, requests/s depends on what else runs). PostgreSQL's share is
   that of the backends serving the platform's connections; the whole server's
   (other people's tests on a shared machine too) is shown beside it, not counted.

Run it once as it is and once with ``--set MINTONG_EDGE_VACANCY=false`` for the
before (every refusal and every list asks booking).

    .venv/bin/python bench/vacancy_edge.py --database sqlite
    .venv/bin/python bench/vacancy_edge.py --database postgresql --set MINTONG_EDGE_VACANCY=false
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import secrets
import shlex
import sys
import time
import uuid

import httpx

from bench import harness
from bench.flash_crowd import ADMIN_USER, BUSINESS, OFFICE, SCHEMA_PREFIX, ZONE, Admin, platform_settings
from bench.uncontended_booking import CpuMeter, delta


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(1, math.ceil(len(ordered) * p / 100)) - 1]


async def remaining(http: httpx.AsyncClient, day: dt.date, slot_id: int) -> int:
    answer = await http.get(
        f"/v1/offices/{OFFICE}/slots",
        params={"business": BUSINESS, "from": day.isoformat(), "to": day.isoformat()},
    )
    harness.ok(answer, "slot list")
    return next(s["remaining"] for s in answer.json()["slots"] if s["id"] == slot_id)


async def seen(reader: httpx.AsyncClient, day: dt.date, slot_id: int, places: int, poll: float) -> float:
    """Seconds until the list shows ``places`` left (from now, just after the answer)."""
    started = time.perf_counter()
    while await remaining(reader, day, slot_id) != places:
        if time.perf_counter() - started > 30:
            raise SystemExit("the slot list did not show the change within 30 s")
        await asyncio.sleep(poll)
    return time.perf_counter() - started


def signed_in(person: harness.Resident, token: str) -> dict[str, str]:
    return {"X-Mintong-Channel": person.channel, "Authorization": f"Bearer {token}"}


async def staleness(
    url: str, headers: dict[str, str], day: dt.date, slot_id: int, rounds: int, poll: float
) -> tuple[list[float], list[float]]:
    booked, cancelled = [], []
    async with (
        httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as citizen,
        httpx.AsyncClient(base_url=url, headers={"X-Mintong-Channel": "web"}, timeout=30) as reader,
    ):
        for _ in range(rounds):
            made = await citizen.post(
                "/v1/bookings",
                json={"slot_id": slot_id, "business": BUSINESS},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            harness.ok(made, "booking")
            booked.append(await seen(reader, day, slot_id, 0, poll))
            harness.ok(await citizen.post(f"/v1/bookings/{made.json()['id']}/cancel"), "cancellation")
            cancelled.append(await seen(reader, day, slot_id, 1, poll))
    return booked, cancelled


async def refusals(
    url: str, citizens: list[dict[str, str]], slot_id: int, seconds: float
) -> tuple[list[float], dict[str, int], float]:
    """Every client asks for the full slot back to back: latencies, answers by code, elapsed."""
    latencies: list[float] = []
    codes: dict[str, int] = {}
    deadline = math.inf

    body = json.dumps({"slot_id": slot_id, "business": BUSINESS}).encode()

    async def one(raw: harness.RawClient, headers: dict[str, str]) -> None:
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                status, answer = await raw.post(
                    "/v1/bookings", body, {**headers, "Idempotency-Key": str(uuid.uuid4())}
                )
            except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                code = type(exc).__name__
            else:
                latencies.append(time.perf_counter() - sent)
                code = f"{status} {json.loads(answer).get('code', '')}".strip()
            codes[code] = codes.get(code, 0) + 1

    # HTTP/1.1 written by hand (harness.RawClient, decision 98): httpx took more CPU a
    # refusal than the platform did to answer it, on the same two cores.
    raws = [harness.RawClient(url) for _ in citizens]
    try:
        await asyncio.gather(*(raw.get("/healthz") for raw in raws))  # connected first
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(one(raw, headers) for raw, headers in zip(raws, citizens, strict=True)))
        return latencies, codes, time.perf_counter() - started
    finally:
        await asyncio.gather(*(raw.aclose() for raw in raws))


#: "postgres": the backends of the platform's own connections (found as
#: bench/uncontended_booking.py finds them); "PostgreSQL server": every backend of
#: the machine's server, other people's work on a shared machine included (what
#: "postgres" counted before session 14). The platform is the first four.
ROLES = ("gateway", "booking", "identity", "postgres", "PostgreSQL server", "load generator")
PLATFORM = ROLES[:4]


async def run(database: str, args: argparse.Namespace) -> list[str]:
    password = secrets.token_urlsafe(24)
    settings = platform_settings(password, args.clients + 2) | dict(args.set)
    day = dt.datetime.now(ZONE).date() + dt.timedelta(days=1)
    people = harness.residents(args.clients + 2, 77)
    lines = []
    with harness.running_platform(database, args.database_url, settings) as platform_:
        async with httpx.AsyncClient(base_url=platform_.url, timeout=60) as http:
            print(f"  ready after {await harness.wait_ready(platform_, http):.1f} s", flush=True)
            admin = await Admin.sign_in(http, ADMIN_USER, password)
            first, second = await admin.set_up_day(day, 2, 1)
            await admin.import_residents(people)
            tokens = await harness.sign_in_all(platform_.url, admin, people)
        citizens = [signed_in(p, t) for p, t in zip(people, tokens, strict=True)]
        booked, cancelled = await staleness(
            platform_.url, citizens[0], day, first, args.rounds, args.poll_ms / 1000
        )
        both = booked + cancelled
        ms = [1000 * x for x in (percentile(booked, 50), percentile(booked, 99))]
        ms += [1000 * x for x in (percentile(cancelled, 50), percentile(cancelled, 99))]
        ms += [1000 * percentile(both, 99), 1000 * max(both)]
        lines.append(f"| {database} | {len(both)} | " + " | ".join(f"{x:.0f}" for x in ms) + " |")
        print(f"  staleness: {lines[-1]}", flush=True)
        # The second slot filled by one citizen; the others ask for it.
        async with httpx.AsyncClient(
            base_url=platform_.url,
            headers=citizens[1],
            timeout=30,
        ) as filler:
            made = await filler.post(
                "/v1/bookings",
                json={"slot_id": second, "business": BUSINESS},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            harness.ok(made, "filling the slot")
        await asyncio.sleep(1.0)  # the bucket has told the gateway
        await refusals(platform_.url, citizens[2:], second, 2.0)  # warm-up, connections open
        async with contextlib.AsyncExitStack() as stack:
            meter = None
            if database == "postgresql":
                meter = await stack.enter_async_context(CpuMeter(platform_, args.database_url))
                ours_before = await meter.mark()
            before = platform_.cpu_seconds()
            latencies, codes, elapsed = await refusals(platform_.url, citizens[2:], second, args.seconds)
            after = platform_.cpu_seconds()
            ours = delta(await meter.mark(), ours_before) if meter is not None else {}
        used = {role: 0.0 for role in ROLES}
        for key, value in after.items():
            role = "PostgreSQL server" if key.startswith("postgres:") else key
            if role in used:
                used[role] += value - before.get(key, 0.0)
        used["postgres"] = sum(v for k, v in ours.items() if k.startswith("postgres ("))
        answered = sum(codes.values())
        if database == "sqlite":
            used["PostgreSQL server"] = 0.0  # it serves others (tests of the machine), not this platform
        per = " | ".join(f"{1000 * used[r] / answered:.2f}" for r in ROLES)
        platform_cpu = sum(used[r] for r in PLATFORM)
        lines.append(
            f"| {database} | {args.clients} | {answered} | {answered / elapsed:.0f} "
            f"| {1000 * percentile(latencies, 50):.1f} | {1000 * percentile(latencies, 99):.1f} "
            f"| {', '.join(f'{k}: {v}' for k, v in sorted(codes.items()))} | {per} "
            f"| {1000 * platform_cpu / answered:.2f} |"
        )
        print(f"  refusals: {lines[-1]}", flush=True)
    return lines


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.platform_options(parser, ", e.g. MINTONG_EDGE_VACANCY=false")
    parser.add_argument("--rounds", type=int, default=25, help="bookings and cancellations (default 25)")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="the reader's pause (default 5 ms)")
    parser.add_argument("--clients", type=int, default=64, help="citizens refused at once (default 64)")
    parser.add_argument("--seconds", type=float, default=10.0, help="refusals measured for (default 10)")
    harness.ports_option(parser)
    args = parser.parse_args()
    harness.PORT_RANGE = args.ports
    databases = [args.database] if args.database else ["sqlite", "postgresql"]
    stale, refused = [], []
    for database in databases:
        print(f"\n{database}: starting the platform ...", flush=True)
        try:
            found = await run(database, args)
        finally:
            if database == "postgresql":
                await harness.drop_schemas(args.database_url, SCHEMA_PREFIX)
        stale.append(found[0])
        refused.append(found[1])
    command = shlex.join(["python", "bench/vacancy_edge.py", *sys.argv[1:]])
    print(f"\nMeasured on {dt.date.today()} with `{command}`.\n")
    heads = ["Database", "Changes", "Booking seen p50 (ms)", "p99", "Cancellation seen p50 (ms)", "p99"]
    print("| " + " | ".join([*heads, "All p99", "Max"]) + " |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    print("\n".join(stale))
    print()
    cpu = " | ".join(f"{r} CPU ms/req" for r in ROLES)
    heads = ["Database", "Clients", "Requests", "Requests/s", "p50 (ms)", "p99 (ms)", "Answers"]
    print("| " + " | ".join(heads) + f" | {cpu} | Platform CPU ms/req |")
    print("|---|--:|--:|--:|--:|--:|---|" + "--:|" * (len(ROLES) + 1))
    print("\n".join(refused))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
