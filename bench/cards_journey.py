"""Cards-journey benchmark (issue 10 item 9): lost-ID-card applications submitted end
to end through the gateway, per second, and whether the journey's steps (lost-card
report, production batch, shipment, the sandbox courier's two signed callbacks, sent in batches, through
the gateway) keep up with them.

It starts the whole platform the way `make up` does (``bench/harness.py``: fresh data
dir, free ports, a nats-server of its own) on PostgreSQL (``--database sqlite``: on
SQLite), with the sandbox partners on
short delays (production 2 s, courier 1 s between callbacks, the journey worker every
0.5 s) and quiet hours off. Not measured: N residents are imported into the register
(in Zhengzhou, photo and fingerprints taken in 2024, a valid card), each signs in by a
real one-time code and passes the face sandbox. Measured: each then applies once
(``POST /v1/card-applications`` with an Idempotency-Key, mail delivery) from
``--clients`` concurrent clients, back to back; an application counts as submitted at
its 201. The journey is read from the cards database (``applications.status``) every
0.5 s until every application is ``delivered`` or ``--timeout`` passes.

    .venv/bin/python bench/cards_journey.py                    # 1000 applications
    .venv/bin/python bench/cards_journey.py --citizens 300 --clients 16
    .venv/bin/python bench/cards_journey.py --database sqlite
    .venv/bin/python bench/cards_journey.py --write docs/performance.md

This is a benchmark, not a test: it asserts nothing."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import sqlite3
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import harness

START, END = "<!-- cards-journey:start -->", "<!-- cards-journey:end -->"
#: This run's PostgreSQL schemas (dropped before and after).
SCHEMA_PREFIX = f"benchcards{os.getpid()}_"
#: Seconds the platform is watched doing nothing before the release.
IDLE_SECONDS = 5.0
HEADER = (
    "id_number,name,phone,city,household_address,photo_captured_on,fingerprint_on_file,"
    "card_issued_on,card_expires_on,card_status\n"
)
SETTINGS = {
    "MINTONG_CARDS_SANDBOX_PRODUCTION_SECONDS": "2",
    "MINTONG_CARDS_SANDBOX_COURIER_SECONDS": "1",
    "MINTONG_CARDS_JOURNEY_SECONDS": "0.5",
    "MINTONG_NOTIFY_QUIET_START": "00:00",
    "MINTONG_NOTIFY_QUIET_END": "00:00",
    "MINTONG_ACCESS_TOKEN_MINUTES": "60",
}


@dataclass
class Result:
    citizens: int
    clients: int
    database: str = "postgresql"
    submitted: int = 0
    errors: int = 0
    submit_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    last_delivered_after: float | None = None  # seconds from the first submission
    cpu: dict[str, float] = field(default_factory=dict)
    #: CPU seconds by process while the applications were being submitted only.
    submit_cpu: dict[str, float] = field(default_factory=dict)
    #: CPU seconds per second by process with nothing to do (its polling loops): what
    #: a slower run on a busier machine adds per application, subtracted for the net.
    idle_rate: dict[str, float] = field(default_factory=dict)
    label: str = ""


def residents_csv(people: list[harness.Resident]) -> str:
    rows = [
        f"{p.id_number},{p.name},{p.phone.removeprefix('+86')},zhengzhou,河南省郑州市金水区经三路{n}号,"
        "2024-03-01,true,2024-03-10,2044-03-10,valid"
        for n, p in enumerate(people)
    ]
    return HEADER + "\n".join(rows) + "\n"


async def import_residents(admin: harness.Staff, people: list[harness.Resident]) -> None:
    answer = await admin.http.post(
        "/v1/admin/residents/import",
        content=residents_csv(people).encode(),
        headers={**admin.headers, "Content-Type": "text/csv"},
        timeout=120,
    )
    harness.ok(answer, "resident import")
    where = answer.headers["location"]
    while (job := answer.json())["state"] not in ("done", "failed"):
        await asyncio.sleep(0.5)
        answer = await admin.http.get(where, headers=admin.headers)
        harness.ok(answer, "resident import status")
    if job["state"] == "failed" or job["rejected"]:
        raise SystemExit(f"residents refused: {job['error'] or job['rejections'][:3]}")


class Statuses:
    """The applications by status, read from the cards database; on PostgreSQL over
    one connection kept for the run (a shared server may have none to spare later)."""

    QUERY = "SELECT status, count(*) FROM applications GROUP BY status"

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.conn: Any = None

    async def __aenter__(self) -> Statuses:
        if url := self.env.get("MINTONG_DATABASE_URL"):
            import asyncpg

            schema = self.env.get("MINTONG_DB_SCHEMA_PREFIX", "") + "cards"
            self.conn = await asyncpg.connect(
                url.replace("+asyncpg", ""), server_settings={"search_path": schema}
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.conn is not None:
            await self.conn.close()

    async def __call__(self) -> dict[str, int]:
        if self.conn is not None:
            return {row[0]: row[1] for row in await self.conn.fetch(self.QUERY)}
        cards_db = Path(self.env["MINTONG_DATA_DIR"]) / "cards.db"
        with sqlite3.connect(f"file:{cards_db}?mode=ro", uri=True, timeout=5) as db:
            return dict(db.execute(self.QUERY).fetchall())


async def measure(args: argparse.Namespace) -> Result:
    people = harness.residents(args.citizens, seed=10)
    result = Result(args.citizens, args.clients, args.database)
    settings = {
        **SETTINGS,
        "MINTONG_OTP_PER_ADDRESS_PER_HOUR": str(10 * args.citizens),
        "MINTONG_DB_SCHEMA_PREFIX": SCHEMA_PREFIX,  # used on PostgreSQL only
        **dict(args.set),
    }
    with harness.running_platform(args.database, args.database_url, settings) as platform_:
        limits = httpx.Limits(max_connections=args.clients + 4)
        async with (
            httpx.AsyncClient(base_url=platform_.url, timeout=60, limits=limits) as http,
            contextlib.AsyncExitStack() as stack,
        ):
            await harness.wait_ready(platform_, http)
            env = harness.launcher_env(platform_)
            data = Path(env["MINTONG_DATA_DIR"])
            statuses = await stack.enter_async_context(Statuses(env))
            password = (data / "admin-password").read_text().strip()
            admin = await harness.Staff.sign_in(http, "admin", password)
            await import_residents(admin, people)
            print(f"  {len(people)} residents imported; signing in", flush=True)
            tokens = await harness.sign_in_all(platform_.url, admin, people)
            gate = asyncio.Semaphore(harness.SIGN_IN_CONCURRENCY)

            async def face(n: int) -> None:
                async with gate:
                    answer = await http.post(
                        "/v1/me/face-verification",
                        json={"liveness_token": "bench"},
                        headers=auth(people[n], tokens[n]),
                    )
                    harness.ok(answer, "face verification")

            await asyncio.gather(*(face(n) for n in range(len(people))))
            print(f"  {len(people)} face-verified; applying", flush=True)

            queue = list(range(len(people)))
            idle_from, idle_started = platform_.cpu_seconds(), time.perf_counter()
            await asyncio.sleep(IDLE_SECONDS)
            idle_to = platform_.cpu_seconds()
            idle_wall = time.perf_counter() - idle_started
            result.idle_rate = {
                k: (idle_to[k] - idle_from.get(k, 0.0)) / idle_wall for k in idle_to if ":" not in k
            }
            raws = [
                await stack.enter_async_context(harness.RawClient(platform_.url)) for _ in range(args.clients)
            ]
            await asyncio.gather(*(raw.get("/healthz") for raw in raws))  # connected before the release
            before = platform_.cpu_seconds()
            started = time.perf_counter()

            async def client(raw: harness.RawClient) -> None:
                while queue:
                    n = queue.pop()
                    person = people[n]
                    body = {
                        "kind": "id_card_lost",
                        "appearance_unchanged": True,
                        "delivery": {
                            "method": "mail",
                            "recipient": person.name,
                            "phone": person.phone.removeprefix("+86"),
                            "address": f"河南省郑州市金水区经三路{n}号",
                        },
                    }
                    headers = {**auth(person, tokens[n]), "Idempotency-Key": str(uuid.uuid4())}
                    sent = time.perf_counter()
                    try:
                        status, answer = await raw.post(
                            "/v1/card-applications", json.dumps(body).encode(), headers
                        )
                    except (OSError, ValueError, asyncio.IncompleteReadError):
                        result.errors += 1
                        continue
                    if status == 201 and json.loads(answer)["status"] == "approved":
                        result.submitted += 1
                        result.latencies.append(time.perf_counter() - sent)
                    else:
                        result.errors += 1

            # HTTP/1.1 written by hand (harness.RawClient, decision 98): httpx took
            # about a fifth of a core here, on the two cores the platform runs on.
            await asyncio.gather(*(client(raw) for raw in raws))
            result.submit_seconds = time.perf_counter() - started
            during = platform_.cpu_seconds()
            result.submit_cpu = {k: during[k] - before.get(k, 0.0) for k in during if ":" not in k}
            print(f"  {result.submitted} submitted in {result.submit_seconds:.1f} s; following", flush=True)
            while time.perf_counter() - started < args.timeout:
                found = await statuses()
                result.delivered = found.get("delivered", 0)
                if result.delivered >= result.submitted:
                    result.last_delivered_after = time.perf_counter() - started
                    break
                await asyncio.sleep(0.5)
            after = platform_.cpu_seconds()
            result.cpu = {k: after[k] - before.get(k, 0.0) for k in after if not k.startswith("postgres:")}
            print(f"  journey: {await statuses()}", flush=True)
    return result


def auth(person: harness.Resident, token: str) -> dict[str, str]:
    return {"X-Mintong-Channel": person.channel, "Authorization": f"Bearer {token}"}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 1)) - 1))] if ordered else 0.0


def report(r: Result, command: str) -> str:
    rate = r.submitted / r.submit_seconds if r.submit_seconds else 0.0
    journey = (
        f"{r.last_delivered_after:.1f} s" if r.last_delivered_after is not None else "not within the timeout"
    )
    keep_up = r.delivered / r.last_delivered_after if r.last_delivered_after else 0.0
    wall = r.last_delivered_after or r.submit_seconds
    cpu = ", ".join(
        f"{k} {v / wall:.0%}"
        for k, v in sorted(r.cpu.items(), key=lambda kv: -kv[1])
        if k not in ("machine", "launcher") and v > 0.05 * wall
    )
    machine = "; ".join(f"{k}: {v}" for k, v in harness.machine())
    platform_roles = [k for k in r.cpu if k not in ("machine", "load generator")]
    idle_ms = f"{1000 * sum(r.idle_rate.get(k, 0.0) for k in platform_roles):.0f}"

    def per_application(cpu: dict[str, float], seconds: float | None = None) -> str:
        """CPU ms per submitted application: the platform's sum, then by process;
        with ``seconds``, net of what the platform idles at over that time."""
        if not r.submitted:
            return "n/a"
        idle = {k: r.idle_rate.get(k, 0.0) * seconds for k in platform_roles} if seconds else {}
        ms = {k: 1000 * max(cpu.get(k, 0.0) - idle.get(k, 0.0), 0.0) / r.submitted for k in platform_roles}
        parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(ms.items(), key=lambda kv: -kv[1]) if v >= 0.1)
        return f"{sum(ms.values()):.1f} ms ({parts})"

    return "\n".join(
        [
            (f"**{r.label}.** " if r.label else "")
            + f"Measured on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `{command}` "
            f"on {'PostgreSQL' if r.database == 'postgresql' else 'SQLite'}: {r.citizens} residents "
            f"(imported, signed in by one-time code and face-verified first, not measured) each apply once "
            f"for `id_card_lost` with mail delivery from {r.clients} concurrent clients through the gateway; "
            "then the journey (lost-card report, production batches, shipments, the sandbox courier's two "
            "signed callbacks, sent in batches, through the gateway) is followed in the cards database "
            "until every application is delivered. Sandbox delays: production 2 s, courier 1 s between "
            "callbacks, journey worker every 0.5 s.",
            "",
            "| Applications | Clients | Submitted/s | p50 (ms) | p99 (ms) | Errors | All delivered after "
            "| Delivered/s (whole run) |",
            "|--:|--:|--:|--:|--:|--:|--:|--:|",
            f"| {r.submitted} | {r.clients} | {rate:.0f} | {percentile(r.latencies, 0.5) * 1000:.0f} "
            f"| {percentile(r.latencies, 0.99) * 1000:.0f} | {r.errors} | {journey} | {keep_up:.0f} |",
            "",
            f"CPU over the run, share of one core: {cpu}; the whole machine "
            f"{r.cpu.get('machine', 0.0) / wall:.0%} of one core (2 cores in all).",
            "",
            "CPU per application (robust on a shared machine, unlike the rates): while submitting "
            f"{per_application(r.submit_cpu)}; the whole run, submission and journey "
            f"{per_application(r.cpu)}. Net of the platform's idle rate ({idle_ms} ms/s of CPU, measured "
            f"for {IDLE_SECONDS:.0f} s before the release): while submitting "
            f"{per_application(r.submit_cpu, r.submit_seconds)}; the whole run "
            f"{per_application(r.cpu, wall)}.",
            "",
            f"Machine: {machine}. The machine was shared with other work (several engineers' "
            "builds and tests) while this ran, so the numbers are lower bounds.",
        ]
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--write", type=Path, help="rewrite the cards-journey section of this file")
    parser.add_argument("--repo", type=Path, help="run the platform from this checkout (a before/after)")
    parser.add_argument("--label", default="", help="what the report calls the code measured")
    harness.platform_options(parser, ", e.g. MINTONG_GRPC_TIMEOUT=30 on a loaded machine")
    parser.set_defaults(database="postgresql")
    args = parser.parse_args()
    command = "python bench/cards_journey.py " + shlex.join(sys.argv[1:])
    if args.repo:
        harness.REPO, harness.LAUNCHER = args.repo, args.repo / "deploy" / "local" / "up.py"
    if args.database == "postgresql":
        await harness.drop_schemas(args.database_url, SCHEMA_PREFIX)
    try:
        result = await measure(args)
    finally:
        if args.database == "postgresql":
            await harness.drop_schemas(args.database_url, SCHEMA_PREFIX)
    result.label = args.label
    section = report(result, command.strip())
    print(section)
    if args.write:
        harness.write_section(args.write, section, start=START, end=END, heading="Cards journey")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
