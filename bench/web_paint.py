"""The web pages' speed in Debian's Chromium (issue 13): the Largest Contentful Paint of
the first page a citizen opens (target under 1 s on loopback, the platform idle), and
the time from a clerk's call to the hall's display board showing it (target within a
second).

It starts the platform the way `make up` does (bench/harness.py) on SQLite, opens the
home page `--runs` times in fresh browser contexts (no cache) and reads LCP from the
Performance API; then opens a board, issues walk-in tickets and calls them through the
API, and times each call until the board shows it. Reports median and worst. About a
minute.

    .venv/bin/python bench/web_paint.py
    .venv/bin/python bench/web_paint.py --runs 20
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

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
OFFICE, CITY = "zz-jinshui-station", "zhengzhou"
WEB = {"X-Mintong-Channel": "web"}


def measure(url: str, data: Path, runs: int, calls: int) -> tuple[list[float], list[float]]:
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
    return paints, delays


async def start_and_measure(runs: int, calls: int) -> tuple[list[float], list[float], float]:
    with harness.running_platform("sqlite", harness.POSTGRES_URL, {}) as platform:
        async with httpx.AsyncClient(base_url=platform.url) as http:
            ready = await harness.wait_ready(platform, http)
        data = Path(platform.log).parent / "data"
        paints, delays = await asyncio.to_thread(measure, platform.url, data, runs, calls)
        return paints, delays, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="home page loads (default: %(default)s)")
    parser.add_argument(
        "--calls", type=int, default=10, help="calls shown on the board (default: %(default)s)"
    )
    args = parser.parse_args()
    paints, delays, ready = asyncio.run(start_and_measure(args.runs, args.calls))
    print(f"platform ready in {ready:.1f} s")
    for name, values in (("home page LCP (ms)", paints), ("call to board (ms)", delays)):
        if values:
            print(f"{name}: median {statistics.median(values):.0f}, worst {max(values):.0f}, n={len(values)}")
    for line in harness.machine():
        print(" ".join(line))


if __name__ == "__main__":
    main()
