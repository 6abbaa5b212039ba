"""The web pages' speed in Debian's Chromium (issue 13): the Largest Contentful Paint of
the first page a citizen opens (target under 1 s on loopback, the platform idle), the
time from a vacancy change to the open slot week showing it without a reload (target
within 2 s), and the time from a clerk's call to the hall's display board showing it
(target within a second).

It starts the platform the way `make up` does (bench/harness.py) on SQLite, opens the
home page `--runs` times in fresh browser contexts (no cache) and reads LCP from the
Performance API; then keeps a slot week open while a demo citizen books and cancels
one of its slots through the API, `--changes` times in all, and times each change from
the request until the slot shows its new vacancy; then opens a board, issues walk-in
tickets and calls them through the API, and times each call until the board shows it.
Reports median and worst. About a minute.

    .venv/bin/python bench/web_paint.py
    .venv/bin/python bench/web_paint.py --runs 20 --changes 20
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench import harness

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
]
LCP = """() => new Promise(done => {
    new PerformanceObserver(list => {
        const entries = list.getEntries();
        done(entries[entries.length - 1].startTime);
    }).observe({type: 'largest-contentful-paint', buffered: true});
    setTimeout(() => done(null), 5000);
})"""
OFFICE, CITY, BUSINESS = "zz-jinshui-station", "zhengzhou", "ID_CARD_RENEWAL"
WEB = {"X-Mintong-Channel": "web"}
#: How often the slot week asks for vacancy (gateway/web/js/app.js, POLL_MS).
POLL_SECONDS = 1.5
#: A demo resident (deploy/demo/residents.csv) who books and cancels in the slot week.
CITIZEN = harness.Resident("410105198503121235", "张伟", "+8613800138001", "web")


def measure(
    url: str, data: Path, citizen: str, runs: int, changes: int, calls: int
) -> tuple[list[float], list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    password = (data / "admin-password").read_text().strip()
    admin = httpx.post(f"{url}/v1/staff/token", json={"username": "admin", "password": password}, headers=WEB)
    headers = {**WEB, "Authorization": f"Bearer {admin.json()['access_token']}"}
    httpx.post(
        f"{url}/v1/admin/staff",
        json={
            "username": "bench-clerk",
            "role": "window_clerk",
            "office_id": OFFICE,
            "password": "bench-password-01",
        },
        headers=headers,
    )
    token = httpx.post(
        f"{url}/v1/staff/token",
        json={"username": "bench-clerk", "password": "bench-password-01"},
        headers=WEB,
    ).json()["access_token"]
    clerk = {**WEB, "Authorization": f"Bearer {token}"}
    paints: list[float] = []
    vacancy: list[float] = []
    delays: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
            page = context.new_page()
            page.goto(f"{url}/#/")
            page.wait_for_function("() => document.body.dataset.ready === '#/'")
            value = page.evaluate(LCP)
            if value is not None:
                paints.append(float(value))
            context.close()
        if changes:
            signed_in = {**WEB, "Authorization": f"Bearer {citizen}"}
            vacancy = week_follows_vacancy(browser, url, signed_in, changes)
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        board = context.new_page()
        board.goto(f"{url}/board/#/{CITY}/{OFFICE}")
        board.wait_for_selector(".link[data-state=live]")
        base = f"{url}/v1/staff/offices/{OFFICE}"
        for _ in range(calls):
            httpx.post(
                f"{base}/checkins", json={"walk_in_business": "ID_CARD_RENEWAL"}, headers=clerk
            ).raise_for_status()
            started = time.perf_counter()
            called = httpx.post(f"{base}/counters/1/call", headers=clerk).json()["ticket"]["code"]
            board.wait_for_selector(f"[data-called='{called}'][data-counter='1']")
            delays.append((time.perf_counter() - started) * 1000)
            httpx.post(f"{base}/counters/1/served", headers=clerk).raise_for_status()
            board.wait_for_selector(f"[data-called='{called}']", state="detached")
        browser.close()
    return paints, vacancy, delays


def week_follows_vacancy(browser: Any, url: str, citizen: dict[str, str], changes: int) -> list[float]:
    """Milliseconds from each booking or cancellation of a slot, asked of the API, until
    the slot week open in the browser shows its new vacancy (the page polls the slot
    list, decision 50; the gateway reads vacancy from its edge copy, decision 65)."""
    slots = httpx.get(f"{url}/v1/offices/{OFFICE}/slots", params={"business": BUSINESS}, headers=WEB)
    slots.raise_for_status()
    # The second day: far from the cancellation cut-off whenever the benchmark runs.
    days = sorted({s["date"] for s in slots.json()["slots"]})
    slot = next(s for s in slots.json()["slots"] if s["date"] == days[1] and s["remaining"] > 1)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    fragment = f"#/city/{CITY}/business/{BUSINESS}/office/{OFFICE}"
    page.goto(f"{url}/{fragment}")
    page.wait_for_function("f => document.body.dataset.ready === f", arg=fragment)
    page.click(f"[data-day='{slot['date']}']")
    shown = f"[data-slot='{slot['id']}'][data-remaining='{{}}']"
    page.wait_for_selector(shown.format(slot["remaining"]))
    took: list[float] = []
    booking = ""
    # A change lands at any moment of the page's poll (every 1.5 s, app.js POLL_MS): a
    # pause of a random part of it first, or each change would start right after the
    # poll that showed the last one and wait a whole interval for the next.
    phase = random.Random(changes)
    for n in range(changes):
        time.sleep(phase.uniform(0, POLL_SECONDS))
        started = time.perf_counter()
        if n % 2 == 0:
            answer = httpx.post(
                f"{url}/v1/bookings",
                json={"slot_id": slot["id"], "business": BUSINESS},
                headers={**citizen, "Idempotency-Key": str(uuid.uuid4())},
            )
            booking = answer.json()["id"]
            left = slot["remaining"] - 1
        else:
            answer = httpx.post(f"{url}/v1/bookings/{booking}/cancel", headers=citizen)
            left = slot["remaining"]
        answer.raise_for_status()
        page.wait_for_selector(shown.format(left), timeout=30_000)
        took.append((time.perf_counter() - started) * 1000)
    context.close()
    return took


async def start_and_measure(
    runs: int, changes: int, calls: int
) -> tuple[list[float], list[float], list[float], float]:
    with harness.running_platform("sqlite", harness.POSTGRES_URL, {}) as platform:
        data = Path(platform.log).parent / "data"
        async with httpx.AsyncClient(base_url=platform.url) as http:
            ready = await harness.wait_ready(platform, http)
            admin = await harness.Staff.sign_in(http, "admin", (data / "admin-password").read_text().strip())
            [citizen] = await harness.sign_in_all(platform.url, admin, [CITIZEN])
        paints, vacancy, delays = await asyncio.to_thread(
            measure, platform.url, data, citizen, runs, changes, calls
        )
        return paints, vacancy, delays, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="home page loads (default: %(default)s)")
    parser.add_argument(
        "--changes",
        type=int,
        default=10,
        help="bookings and cancellations the open slot week shows (default: %(default)s)",
    )
    parser.add_argument(
        "--calls", type=int, default=10, help="calls shown on the board (default: %(default)s)"
    )
    args = parser.parse_args()
    paints, vacancy, delays, ready = asyncio.run(start_and_measure(args.runs, args.changes, args.calls))
    print(f"platform ready in {ready:.1f} s")
    for name, values in (
        ("home page LCP (ms)", paints),
        ("vacancy change to slot week (ms)", vacancy),
        ("call to board (ms)", delays),
    ):
        if values:
            print(f"{name}: median {statistics.median(values):.0f}, worst {max(values):.0f}, n={len(values)}")
    for line in harness.machine():
        print(" ".join(line))


if __name__ == "__main__":
    main()
