"""Token-check benchmark: the CPU a signed-in request costs the platform, and how soon
a signed-out token is refused by *another* gateway process (issue 12).

It starts the platform the way `make up` does (bench/harness.py) on SQLite, imports
made-up residents and signs them in by real one-time codes (not measured), then:

1. **CPU per authenticated request**: ``--requests`` back-to-back ``GET /v1/staff/me``
   (a staff token, no service behind the route but the token check) and as many
   ``GET /v1/me`` (a citizen token; identity reads the register), 64 at a time; CPU
   of every platform process over the run, divided by the requests.
2. **Revocation latency**: a second gateway process is started beside the platform's
   (same settings, its own port). For each of ``--citizens`` tokens: sign out through
   the first gateway, then ask the second with the token until it answers 401; the
   time from sending the sign-out to the first 401 is one sample (p50/p99/max).

    .venv/bin/python bench/token_check.py
    .venv/bin/python bench/token_check.py --repo /tmp/before   # a checkout of another commit
    .venv/bin/python bench/token_check.py --write docs/performance.md

``--repo`` runs the platform from another checkout (the same venv), to measure the
commit before a change on the same machine. The load generator shares the machine's
cores with the platform. This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench import harness
from bench.flash_crowd import Admin

START, END = "<!-- token-check:start -->", "<!-- token-check:end -->"
CLIENTS = 64


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * p / 100)) - 1] if ordered else float("nan")


async def hammer(url: str, requests: int, path: str, headers_of: list[dict[str, str]]) -> tuple[float, int]:
    """``requests`` GETs of ``path``, CLIENTS at a time; (seconds, requests not
    answered 200, no answer included)."""
    left = requests
    failed = 0

    async def client(http: httpx.AsyncClient, n: int) -> None:
        nonlocal left, failed
        while left > 0:
            left -= 1
            try:
                answer = await http.get(path, headers=headers_of[(left + n) % len(headers_of)])
            except httpx.HTTPError:  # no answer at all (the connection dropped): counted
                failed += 1
                continue
            failed += answer.status_code != 200

    started = time.perf_counter()
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        await asyncio.gather(*(client(http, n) for n in range(CLIENTS)))
    return time.perf_counter() - started, failed


def cpu_ms_per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    roles: dict[str, float] = {}
    for key, value in after.items():
        # On SQLite: the machine's PostgreSQL serves other people's work, not ours.
        if key.startswith("postgres:") or key in ("machine", "load generator", "launcher"):
            continue
        role = key
        roles[role] = roles.get(role, 0.0) + value - before.get(key, 0.0)
    return {role: 1000 * used / requests for role, used in roles.items() if used > 0}


def second_gateway(platform_: harness.Platform, repo: Path) -> tuple[subprocess.Popen[bytes], str]:
    [port] = harness.free_ports(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINTONG_", "OTEL_"))}
    env |= harness.launcher_env(platform_) | {
        "MINTONG_HTTP_PORT": str(port),
        "MINTONG_GATEWAY_METRICS_PORT": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway"],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return process, f"http://127.0.0.1:{port}"


async def revocation_latencies(
    first: str, second: str, citizens: list[tuple[str, str]]
) -> tuple[list[float], list[float]]:
    """Seconds from sending each sign-out (first gateway) to the second's first 401,
    and from the sign-out's answer to that 401."""
    samples, after_answer = [], []
    async with (
        httpx.AsyncClient(base_url=first, timeout=30) as one,
        httpx.AsyncClient(base_url=second, timeout=30) as other,
    ):
        for token, channel in citizens:
            headers = {"X-Mintong-Channel": channel, "Authorization": f"Bearer {token}"}
            if (await other.get("/v1/me", headers=headers)).status_code != 200:
                raise SystemExit("the second gateway refused a token before its sign-out")
            sent = time.perf_counter()
            harness.ok(await one.post("/v1/auth/logout", headers=headers), "sign-out")
            answered = time.perf_counter()
            while (await other.get("/v1/me", headers=headers)).status_code == 200:
                if time.perf_counter() - sent > 30:
                    raise SystemExit("a signed-out token was still taken after 30 s")
            samples.append(time.perf_counter() - sent)
            after_answer.append(time.perf_counter() - answered)
    return samples, after_answer


async def run(args: argparse.Namespace) -> str:
    password = secrets.token_urlsafe(16)
    settings = {
        "MINTONG_BOOTSTRAP_ADMIN_USER": "bench-admin",
        "MINTONG_BOOTSTRAP_ADMIN_PASSWORD": password,
        # Every citizen signs in from 127.0.0.1: the per-address code limit is lifted.
        "MINTONG_OTP_PER_ADDRESS_PER_HOUR": str(10 * args.citizens),
        "MINTONG_ACCESS_TOKEN_MINUTES": "60",
    }
    people = harness.residents(args.citizens, args.seed)
    if args.repo:
        harness.REPO, harness.LAUNCHER = args.repo, args.repo / "deploy" / "local" / "up.py"
    with harness.running_platform("sqlite", harness.POSTGRES_URL, settings) as platform_:
        http = httpx.AsyncClient(base_url=platform_.url, timeout=60)
        try:
            print(f"  ready after {await harness.wait_ready(platform_, http):.1f} s", flush=True)
            admin = await Admin.sign_in(http, "bench-admin", password)
            await admin.import_residents(people)
            tokens = await harness.sign_in_all(platform_.url, admin, people)
        finally:
            await http.aclose()
        await asyncio.sleep(2)  # let the sign-ins' follow-on work (notify) settle
        lines = []
        for what, path, headers in (
            ("staff `GET /v1/staff/me`", "/v1/staff/me", [admin.headers]),
            (
                "citizen `GET /v1/me`",
                "/v1/me",
                [
                    {"X-Mintong-Channel": p.channel, "Authorization": f"Bearer {t}"}
                    for p, t in zip(people, tokens, strict=True)
                ],
            ),
        ):
            await hammer(platform_.url, 200, path, headers)  # warm-up
            before = platform_.cpu_seconds()
            seconds, failed = await hammer(platform_.url, args.requests, path, headers)
            used = cpu_ms_per_request(before, platform_.cpu_seconds(), args.requests)
            total = sum(used.values())
            detail = ", ".join(f"{role} {ms:.2f}" for role, ms in sorted(used.items(), key=lambda x: -x[1]))
            lines.append(f"| {what} | {args.requests / seconds:.0f} | {total:.2f} | {detail} | {failed} |")
            print(lines[-1], flush=True)
        process, second = second_gateway(platform_, harness.REPO)
        try:
            async with httpx.AsyncClient(base_url=second, timeout=5) as http:
                await harness.wait_ready(
                    harness.Platform(second, process, platform_.nats, platform_.log), http
                )
            samples, after_answer = await revocation_latencies(
                platform_.url, second, [(t, p.channel) for p, t in zip(people, tokens, strict=True)]
            )
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
    ms = [s * 1000 for s in samples]
    late = [s * 1000 for s in after_answer]
    revocation = (
        f"sign-out sent to one gateway → refused by another: {len(ms)} samples, "
        f"p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms; "
        f"from the sign-out's answer: p50 {percentile(late, 50):.1f} ms, p99 {percentile(late, 99):.1f} ms"
    )
    print(revocation, flush=True)
    return "\n".join(
        [
            f"Code: {args.label}. SQLite, {CLIENTS} clients, {args.requests} requests per row.",
            "",
            "| request | requests/s | CPU ms per request (platform) | by process (ms) | not 200 |",
            "|---|---|---|---|---|",
            *lines,
            "",
            f"Revocation: {revocation}.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=200, help="signed-in citizens (revocation samples)")
    parser.add_argument("--requests", type=int, default=3000, help="requests per CPU measurement")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--repo", type=Path, help="run the platform from this checkout")
    parser.add_argument("--label", default="this checkout", help="what the report calls the code measured")
    parser.add_argument("--write", type=Path, help="replace the token-check section of this file")
    args = parser.parse_args()
    section = asyncio.run(run(args))
    print(section)
    if args.write:
        harness.write_section(args.write, section, start=START, end=END, heading="Token checks")


if __name__ == "__main__":
    main()
