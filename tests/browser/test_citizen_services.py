"""A citizen's card applications and pre-applications on the web platform, in
Chromium: the eligibility with every reason and the windows instead, an application
by mail and its timeline; a pre-application filled from its form's fields, a
document attached, submitted, more material asked for and given. Every view passes
axe-core and is photographed at phone and desktop size."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import DESKTOP, Pages, RunningPlatform

pytestmark = pytest.mark.slow

HUANG = ("460108196905053334", "黄海", "13900139003")
#: Unique per run: the test may run again against a developer's platform.
RUN = uuid.uuid4().hex[:6]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_citizen_applies_for_a_card_and_sends_a_pre_application(
    browser: Any, running: RunningPlatform, artefacts: Path
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    pages = Pages(context.new_page(), running.url, artefacts)
    page = pages.page
    pages.open("#/")
    page.evaluate("localStorage.setItem('mintong.city', 'haikou')")

    # Card applications ask to sign in first.
    page.goto(f"{running.url}/#/cards")
    pages.wait_ready("#/signin")
    page.fill("#id-number", HUANG[0])
    page.fill("#name", HUANG[1])
    sent_before = len(running._texts(HUANG[2]))
    page.click("#ask-code")
    page.wait_for_selector("text=验证码已发送")
    page.fill("#code", running.code_sent_to(HUANG[2], after=sent_before))
    page.click("#sign-in")
    pages.wait_ready("#/cards")
    pages.check("cards")

    # A renewal needs a face check (and a recent photo): every reason, and the windows.
    page.select_option("#kind", "id_card_renewal")
    page.click("#check-eligibility")
    refused = page.locator("[data-eligible=false]")
    refused.wait_for()
    assert refused.locator("[data-reason]").count() >= 1
    assert refused.locator("[data-office] a").count() >= 1  # book a window instead
    pages.check("cards-refused")

    # A licence by express mail: eligible; the application and its timeline.
    page.select_option("#kind", "licence_express")
    page.click("#check-eligibility")
    page.wait_for_selector("[data-eligible=true]")
    page.fill("#recipient", "黄海")
    page.fill("#recipient-phone", "13900139003")
    page.fill("#address", "海南省海口市美兰区海甸二东路6号")
    page.dblclick("#apply")  # one application, however often it is sent
    applied = page.locator("#applications [data-application]")
    applied.first.wait_for()
    assert applied.count() == 1
    assert applied.first.locator("[data-step=submitted]").count() == 1
    assert "黄*" in applied.first.inner_text() or "*" in applied.first.inner_text()  # masked
    pages.check("cards-applied")

    # A licence needs a human (services/cards/kinds.yaml): a reviewer approves it in the
    # staff console, and the citizen's timeline follows it through production and the
    # courier to the door, with the tracking number.
    application = applied.first.get_attribute("data-application")
    reviewer = f"reviewer-cards-{RUN}"
    made = httpx.post(
        f"{running.url}/v1/admin/staff",
        json={"username": reviewer, "role": "reviewer", "password": "staff-password-0123"},
        headers=running.admin,
    )
    assert made.status_code == 201, made.text
    staff_context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    staff = Pages(staff_context.new_page(), running.url, artefacts)
    staff.page.goto(f"{running.url}/staff/")
    staff.page.wait_for_selector("#staff-sign-in")
    staff.page.fill("#username", reviewer)
    staff.page.fill("#password", "staff-password-0123")
    staff.page.click("#staff-sign-in")
    staff.page.click("nav a[href='#/cards']")
    staff.page.wait_for_selector("#cards-city")
    staff.page.select_option("#cards-city", "haikou")
    row = staff.page.locator(f"tr[data-application='{application}']")
    row.wait_for()
    assert "黄*" in row.inner_text() and HUANG[1] not in row.inner_text()  # masked
    staff.check("staff-cards")
    row.locator("[data-action=approve]").click()
    staff.page.wait_for_selector("#cards-outcome [role=status]")
    assert row.get_attribute("data-status") != "checks_passed"
    assert not staff.errors, staff.errors
    staff_context.close()
    # The page reads the timeline when opened: reload until the courier has delivered
    # (seconds on the tests' platform; about a minute on `make up`'s sandbox timings).
    # Each reload also starts the page's two first calls at once on a refresh token
    # alone, which must cost one refresh, not two (a refresh token spent twice revokes
    # the session: the citizen would be signed out).
    for _ in range(120):
        page.reload()
        pages.wait_ready("#/cards")
        if applied.first.locator("[data-step=delivered]").count():
            break
        page.wait_for_timeout(1000)
    steps = [s.get_attribute("data-step") for s in applied.first.locator("[data-step]").all()]
    assert steps[-1] == "delivered", steps
    assert {"approved", "in_production", "shipped"} <= set(steps), steps
    assert applied.first.locator(".tracking").inner_text().strip()
    pages.check("cards-delivered")

    # A pre-application of Zhengzhou's household registration, from its form.
    page.evaluate("localStorage.setItem('mintong.city', 'zhengzhou')")
    page.goto(f"{running.url}/#/pre-applications")
    pages.wait_ready("#/pre-applications")
    pages.check("pre-applications")
    page.click("[data-start=HOUSEHOLD_REGISTRATION]")
    page.wait_for_selector("#answer-matter")
    page.select_option("#answer-matter", "move_in")
    page.fill("#answer-new_address", "郑州市金水区经三路9号")
    page.fill("#attachment-label", "户口簿首页")
    page.set_input_files("#attachment-file", {"name": "page.png", "mimeType": "image/png", "buffer": PNG})
    page.click("#attach")
    page.wait_for_selector("[data-attachment]")
    pages.check("pre-application")
    page.click("#submit-pre")
    page.wait_for_selector("[data-status=submitted]")
    pre_id = page.evaluate("location.hash").rsplit("/", 1)[-1]

    # A reviewer asks for more material; the citizen sees what, adds it and resubmits.
    reviewer = f"reviewer-{uuid.uuid4().hex[:6]}"
    made = httpx.post(
        f"{running.url}/v1/admin/staff",
        json={
            "username": reviewer,
            "role": "reviewer",
            "office_id": "zz-jinshui-station",
            "password": "staff-password-0123",
        },
        headers=running.admin,
    )
    assert made.status_code == 201, made.text
    token = httpx.post(
        f"{running.url}/v1/staff/token",
        json={"username": reviewer, "password": "staff-password-0123"},
        headers=running.web,
    ).json()["access_token"]
    asked = httpx.post(
        f"{running.url}/v1/staff/pre-applications/{pre_id}/request-material",
        json={"note": "请补充房产证照片"},
        headers={**running.web, "Authorization": f"Bearer {token}"},
    )
    assert asked.status_code == 200, asked.text
    page.reload()
    page.wait_for_selector("[data-status=more_material_needed]")
    assert "请补充房产证照片" in page.locator("[role=alert]").inner_text()
    pages.check("pre-application-material")
    page.fill("#attachment-label", "房产证")
    page.set_input_files("#attachment-file", {"name": "deed.png", "mimeType": "image/png", "buffer": PNG})
    page.click("#attach")
    page.wait_for_function("() => document.querySelectorAll('[data-attachment]').length === 2")
    page.click("#submit-pre")
    page.wait_for_selector("[data-status=submitted]")
    assert not pages.errors, pages.errors
    context.close()
