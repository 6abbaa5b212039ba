"""A citizen on the web platform, in Chromium: chooses a city and a business, signs in
with an SMS code, books (a double click books once), sees the QR code, reschedules,
cancels, meets a full slot, joins its waitlist and takes the place offered; reads the
inbox. Every view passes axe-core and is photographed at phone and desktop size."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.browser.conftest import DESKTOP, Pages, RunningPlatform

pytestmark = pytest.mark.slow

ZHANG = ("410105198503121235", "张伟", "13800138001")
LI = ("410102199207162468", "李娜", "13800138002")
WANG = ("410104200101013577", "王芳", "13800138003")


def test_the_pages_come_with_a_strict_policy(running: RunningPlatform) -> None:
    page = httpx.get(f"{running.url}/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    module = httpx.get(f"{running.url}/vendor/qrcode.mjs")
    assert module.headers["content-type"].startswith("text/javascript")
    # An unknown API path stays the API's problem, never a page.
    unknown = httpx.get(f"{running.url}/v1/nothing", headers=running.web)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["code"] == "not_found"


def second_day_slots(running: RunningPlatform, office: str, business: str) -> list[dict[str, Any]]:
    """The free slots of the second day with any: far from every cut-off whenever the test runs."""
    slots = httpx.get(
        f"{running.url}/v1/offices/{office}/slots", params={"business": business}, headers=running.web
    ).json()["slots"]
    days = sorted({s["date"] for s in slots})
    return [s for s in slots if s["date"] == days[1] and s["remaining"] > 0]


def wait_until_edge_reads(
    running: RunningPlatform, office: str, business: str, slot: dict[str, Any], remaining: int
) -> None:
    """The gateway reads vacancy from its edge copy, which follows a booking within a
    second (decision 65); wait for it as a citizen's next look would, before the page
    is asked to show it."""
    for _ in range(100):
        slots = httpx.get(
            f"{running.url}/v1/offices/{office}/slots", params={"business": business}, headers=running.web
        ).json()["slots"]
        if any(s["id"] == slot["id"] and s["remaining"] == remaining for s in slots):
            return
        time.sleep(0.05)
    raise AssertionError(f"the edge never read {remaining} places left in slot {slot['id']}")


def test_a_citizen_books_reschedules_cancels_and_takes_a_waitlist_offer(
    browser: Any, running: RunningPlatform, artefacts: Path
) -> None:
    # The browser first: without Chromium the test fails (CI) or skips before the
    # platform starts.
    # The citizen stands beside the Zhongyuan station (for "offices near me").
    context = browser.new_context(
        viewport=DESKTOP,
        locale="zh-CN",
        geolocation={"latitude": 34.7512, "longitude": 113.6128},
        permissions=["geolocation"],
    )
    pages = Pages(context.new_page(), running.url, artefacts)
    page = pages.page

    # Choose a city and a business: its guide, materials and phone are there.
    pages.open("#/")
    pages.record_paint("home")
    page.select_option("#city", "zhengzhou")
    page.wait_for_selector("[data-business=ADMIN_LICENSING]")  # Zhengzhou's alone
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    card = page.locator("[data-business=ID_CARD_RENEWAL]")
    assert "0371-67180002" in card.inner_text()
    suspended = page.locator("[data-business=VEHICLE_SERVICES]").inner_text()
    assert "暂停办理" in suspended  # a suspended business shows its announcement
    pages.check("home")

    # English is one choice away, and stays chosen.
    page.select_option("#language", "en")
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.wait_for_selector("text=Services you can book")
    pages.check("home-en")
    page.select_option("#language", "zh-CN")
    page.wait_for_selector("text=可预约的业务")

    # Offices with their earliest vacancy, then a week of slots.
    card.locator("a.button").click()
    page.wait_for_selector("[data-office=zz-jinshui-station]")
    assert "最早可约" in page.locator("[data-office=zz-jinshui-station]").inner_text()
    pages.check("offices")
    # Offices near me: the browser's position orders them, nearest first, with distances.
    page.click("text=按我的位置排序")
    page.wait_for_selector("text=公里")
    assert page.locator("[data-office]").first.get_attribute("data-office") == "zz-zhongyuan-station"
    office = "zz-jinshui-station"
    page.locator(f"[data-office={office}] a.button").click()
    page.wait_for_selector("[data-slot]")
    pages.check("week")

    free = second_day_slots(running, office, "ID_CARD_RENEWAL")
    first, later = free[0], free[-1]
    week = page.evaluate("location.hash")
    # Choosing a place asks to sign in first, and comes back to the week after. The
    # keyboard alone reaches and chooses it (WCAG 2.1.1): Tab from the day to the place,
    # then Enter.
    page.click(f"[data-day='{first['date']}']")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.dataset.slot") == str(first["id"]):
            break
    else:
        raise AssertionError("Tab never reached the place")
    page.keyboard.press("Enter")
    pages.wait_ready("#/signin")
    page.fill("#id-number", ZHANG[0])
    page.fill("#name", ZHANG[1])
    sent_before = len(running._texts(ZHANG[2]))
    page.click("#ask-code")
    page.wait_for_selector("text=验证码已发送")
    pages.check("sign-in")
    page.fill("#code", running.code_sent_to(ZHANG[2], after=sent_before))
    page.click("#sign-in")
    pages.wait_ready(week)

    # The week follows vacancy without a reload: a neighbour books a place of it. Issue
    # 13 asks within 2 s; the time is recorded beside the screenshots, and asserted only
    # loosely (a shared machine): the page polls every 1.5 s, so 10 s means it stopped.
    page.click(f"[data-day='{first['date']}']")
    watched = free[2]
    neighbour_headers = {**running.sign_in(*LI), "Idempotency-Key": "browser-vacancy"}
    started = time.perf_counter()
    neighbour = httpx.post(
        f"{running.url}/v1/bookings",
        json={"slot_id": watched["id"], "business": "ID_CARD_RENEWAL"},
        headers=neighbour_headers,
    )
    assert neighbour.status_code == 201, neighbour.text
    left = watched["remaining"] - 1
    page.wait_for_selector(f"[data-slot='{watched['id']}'][data-remaining='{left}']", timeout=10_000)
    (artefacts / "week-vacancy-ms.txt").write_text(f"{(time.perf_counter() - started) * 1000:.0f}\n")
    assert f"余 {left} 个" in page.locator(f"[data-slot='{watched['id']}']").inner_text()

    # Book: the page sends one Idempotency-Key per attempt, so a double click books once.
    page.click(f"[data-day='{first['date']}']")
    page.click(f"[data-slot='{first['id']}']")
    page.dblclick("#confirm")
    booked = page.locator("#outcome [data-booking]")
    booked.wait_for()
    code = booked.locator(".code").inner_text()
    assert len(code) >= 4
    qr = booked.locator("canvas.qr")
    assert int(qr.get_attribute("data-modules") or 0) >= 21
    assert code in (qr.get_attribute("aria-label") or "")
    pages.check("booked")

    # A second booking of the same business: the refusal links to the one there is.
    page.click(f"[data-slot='{free[1]['id']}']")
    page.click("#confirm")
    refusal = page.locator("[data-code=one_active_booking]")
    refusal.wait_for()
    refusal.locator("a[href='#/bookings']").click()

    # My bookings: one booking (not two), its QR and code, and the cut-off explained.
    pages.wait_ready("#/bookings")
    cards = page.locator("main .cards > li")
    assert cards.count() == 1
    assert code in cards.first.inner_text()
    assert "120 分钟" in cards.first.inner_text()
    pages.check("bookings")
    # A reload keeps the session: the access token was in memory only, the refresh
    # token in this tab's sessionStorage gets a new one.
    page.reload()
    pages.wait_ready("#/bookings")
    assert page.locator("main .cards > li").count() == 1

    # Reschedule to a later place of the same day.
    page.click("[data-action=reschedule]")
    page.click(f"[data-day='{later['date']}']")
    page.click(f"[data-slot='{later['id']}']")
    page.click("#confirm")
    page.wait_for_selector("#outcome [data-booking]")
    assert later["start"] in page.locator("#outcome .when").inner_text()
    page.click("a[href='#/bookings']")
    pages.wait_ready("#/bookings")
    assert later["start"] in page.locator("main .cards > li .when").first.inner_text()

    # Cancel.
    page.click("[data-action=cancel]")
    page.wait_for_selector("[data-status=cancelled]")
    assert page.locator("canvas.qr").count() == 0

    # A full slot: two neighbours take both places of a licensing slot.
    hall, licensing = "zz-municipal-service-hall", "ADMIN_LICENSING"
    slot = second_day_slots(running, hall, licensing)[0]
    assert slot["remaining"] == 2
    others = []
    for resident in (LI, WANG):
        headers = running.sign_in(*resident)
        made = httpx.post(
            f"{running.url}/v1/bookings",
            json={"slot_id": slot["id"], "business": licensing},
            headers={**headers, "Idempotency-Key": f"browser-{resident[0]}"},
        )
        assert made.status_code == 201, made.text
        others.append((headers, made.json()["id"]))
    wait_until_edge_reads(running, hall, licensing, slot, remaining=0)

    fragment = f"#/city/zhengzhou/business/{licensing}/office/{hall}"
    page.goto(f"{running.url}/{fragment}")
    pages.wait_ready(fragment)
    page.click(f"[data-day='{slot['date']}']")
    full = page.locator(f"[data-slot='{slot['id']}']")
    assert "已满" in full.inner_text()
    # The refusal says why and what next: the waitlist, and other free places.
    full.click()
    page.click("#confirm")
    refusal = page.locator("[data-code=slot_full]")
    refusal.wait_for()
    assert "候补" in refusal.inner_text()
    assert refusal.locator("ul.slots button").count() >= 1
    pages.check("slot-full")
    page.click("#join-waitlist")
    page.wait_for_selector("text=已加入候补")

    page.click("a[href='#/waitlist']")
    pages.wait_ready("#/waitlist")
    assert page.locator("[data-status=waiting]").count() == 1
    assert "排第 1 位" in page.locator("[data-status=waiting]").inner_text()
    pages.check("waitlist")

    # A neighbour cancels: the freed place is held for the citizen, who takes it.
    headers, booking_id = others[0]
    cancelled = httpx.post(f"{running.url}/v1/bookings/{booking_id}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    page.reload()
    pages.wait_ready("#/waitlist")
    page.wait_for_selector("[data-status=offered]")
    pages.check("offer")
    page.click("[data-action=confirm-offer]")
    taken = page.locator("main [data-booking]")
    taken.wait_for()
    assert taken.locator("canvas.qr").count() == 1

    # My messages: the booking confirmations are in the inbox.
    page.click("a[href='#/messages']")
    pages.wait_ready("#/messages")
    for _ in range(50):  # the inbox is filled from events: reload until they are in
        if page.locator("main .cards > li.unread").count():
            break
        page.wait_for_timeout(200)
        page.reload()
        pages.wait_ready("#/messages")
    pages.check("messages")
    # Messages may still arrive meanwhile: the one marked read is followed by its id.
    first_unread = page.locator("main .cards > li.unread").first
    message = first_unread.get_attribute("data-message")
    first_unread.locator("button").click()
    page.wait_for_selector(f"main li[data-message='{message}']:not(.unread)")

    # The session is this tab's: signing out forgets it.
    page.click("nav button")
    pages.wait_ready("#/")
    assert page.evaluate("sessionStorage.length") == 0
    assert not pages.errors, pages.errors
    # No account data in any address the pages asked for.
    for clear in (ZHANG[0], ZHANG[2], quote(ZHANG[1]), ZHANG[1]):
        assert not [url for url in pages.requested if clear in url]
    context.close()


def test_a_window_clerk_signs_in_and_sees_the_day(
    browser: Any, running: RunningPlatform, artefacts: Path
) -> None:
    office = "zz-jinshui-station"
    slot = second_day_slots(running, office, "ID_CARD_RENEWAL")[0]
    citizen = running.sign_in(*WANG)
    made = httpx.post(
        f"{running.url}/v1/bookings",
        json={"slot_id": slot["id"], "business": "ID_CARD_RENEWAL"},
        headers={**citizen, "Idempotency-Key": "browser-clerk-day"},
    )
    assert made.status_code == 201, made.text
    booking = made.json()
    clerk = httpx.post(
        f"{running.url}/v1/admin/staff",
        json={
            "username": "clerk-jinshui",
            "role": "window_clerk",
            "office_id": office,
            "password": "clerk-password-0123",
        },
        headers=running.admin,
    )
    assert clerk.status_code == 201, clerk.text

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    pages = Pages(context.new_page(), running.url, artefacts)
    page = pages.page
    page.goto(f"{running.url}/staff/")
    page.wait_for_selector("#staff-sign-in")
    pages.check("staff-sign-in")
    page.fill("#username", "clerk-jinshui")
    page.fill("#password", "wrong-password-0123")
    page.click("#staff-sign-in")
    page.wait_for_selector("[role=alert]")  # a refusal, said on the page
    page.fill("#password", "clerk-password-0123")
    page.click("#staff-sign-in")
    page.wait_for_selector("#check-in")  # a clerk starts at the counter
    page.click("nav a[href='#/day']")
    page.wait_for_selector("#date")

    page.fill("#date", slot["date"])
    page.click("form.actions button[type=submit]")
    row = page.locator(f"tr[data-booking='{booking['id']}']")
    row.wait_for()
    text = row.inner_text()
    assert booking["confirmation_code"] in text and slot["start"] in text
    assert WANG[1] not in text and "*" in text  # the citizen's name masked
    pages.check("staff-day")
    # A no-show before the slot has started is refused, and the page says why.
    row.locator("[data-action=no-show]").click()
    page.wait_for_selector("[data-code=not_started]")

    # At the counter a clerk types a code (in any case: it is sent in capitals) and a
    # scanner types the QR payload and Enter. On another day than the booking's own, the
    # code finds no booking of today's and the QR's booking is refused for its day, each
    # said on the page. (A check-in that succeeds needs the booking's own day and hour;
    # docs/operations.md, "The web pages on a running platform", says how to check it.)
    page.click("nav a[href='#/hall']")
    page.wait_for_selector("#check-in")
    for typed, sent, refused in (
        (booking["confirmation_code"].lower(), {"code": booking["confirmation_code"]}, "booking_not_found"),
        (booking["qr_payload"], {"qr_payload": booking["qr_payload"]}, "not_booking_day"),
    ):
        page.fill("#checkin-code", typed)
        with page.expect_response(lambda r: r.url.endswith("/checkins")) as checkin:
            page.press("#checkin-code", "Enter")
        assert checkin.value.request.post_data_json == sent
        assert checkin.value.json()["code"] == refused
        page.wait_for_selector(f"#checkin-outcome [data-code={refused}]")
    assert not pages.errors, pages.errors
    context.close()
