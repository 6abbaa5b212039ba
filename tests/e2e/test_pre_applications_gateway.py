"""Pre-applications through the real gateway: a citizen fills the form and attaches
documents, a reviewer of the city asks for more material and approves, the
citizen is told and books with the entitlement; nobody else (another citizen on
any channel, a reviewer of another city) reaches the pre-application or its
documents."""

from __future__ import annotations

from typing import Any

from services.booking.service_layer import handlers
from tests.e2e.conftest import Platform
from tests.e2e.test_bookings_gateway import CHANNELS, WANG, ZHANG_P, sign_in, with_key
from tests.e2e.test_identity import load_register
from tests.integration.test_notify import eventually
from tests.integration.test_pre_applications import JPEG, OTHER_CITY, PDF, PNG

HOUSEHOLD = "HOUSEHOLD_REGISTRATION"


async def household_slot(platform: Platform) -> int:
    answer = await platform.http.get(
        "/v1/offices/centre/slots",
        params={"business": HOUSEHOLD, "from": "2030-01-09", "to": "2030-01-12"},
        headers=platform.headers(),
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["slots"][0]["id"])


async def upload(platform: Platform, pre_id: str, content: bytes, who: dict[str, str], **params: str) -> Any:
    return await platform.http.post(
        f"/v1/pre-applications/{pre_id}/attachments",
        content=content,
        params=params,
        headers={**who, "Content-Type": "application/pdf"},  # the content decides, not this
    )


async def started(platform: Platform, who: dict[str, str]) -> dict[str, Any]:
    made = await platform.http.post(
        "/v1/pre-applications", json={"city": "testcity", "business": HOUSEHOLD}, headers=who
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


async def test_a_citizen_applies_a_reviewer_decides_and_the_citizen_books(
    platform: Platform, clock: Any
) -> None:
    await load_register(platform)
    zhang = await sign_in(platform, ZHANG_P, "app", clock)
    reviewer = await platform.make_staff("reviewer", office_id="centre")

    form = await platform.http.get(
        "/v1/cities/testcity/businesses/HOUSEHOLD_REGISTRATION/pre-application-form",
        headers={**platform.headers(), "Accept-Language": "en"},
    )
    assert form.status_code == 200, form.text
    assert [f["key"] for f in form.json()["fields"]] == ["matter", "moving_date", "people", "new_address"]
    assert form.json()["fields"][0]["choices"][0] == {"code": "move_in", "label": "Move in"}

    pre = await started(platform, zhang)
    assert pre["status"] == "draft" and pre["answers"] == {}
    bad = await platform.http.patch(
        f"/v1/pre-applications/{pre['id']}", json={"answers": {"moving_date": "next week"}}, headers=zhang
    )
    assert (bad.status_code, bad.json()["code"], bad.json()["field"]) == (
        400,
        "invalid_answer",
        "answers.moving_date",
    )
    hostile = await platform.http.patch(
        f"/v1/pre-applications/{pre['id']}", json={"answers": {"new_address": "a\u0000b"}}, headers=zhang
    )
    assert (hostile.status_code, hostile.json()["code"]) == (400, "invalid_text")
    filled = await platform.http.patch(
        f"/v1/pre-applications/{pre['id']}",
        json={"answers": {"matter": "move_in", "new_address": "金水路1号3单元502"}},
        headers=zhang,
    )
    assert filled.status_code == 200, filled.text
    assert filled.json()["answers"] == {"matter": "move_in", "new_address": "金水路1号3单元502"}

    early = await platform.http.post(f"/v1/pre-applications/{pre['id']}/submit", headers=zhang)
    assert (early.status_code, early.json()["code"], early.json()["field"]) == (
        422,
        "attachments_required",
        "attachments",
    )
    wrong = await upload(platform, pre["id"], b"<html>not a pdf</html>", zhang)
    assert (wrong.status_code, wrong.json()["code"], wrong.json()["field"]) == (
        422,
        "attachment_type_not_allowed",
        "content",
    )
    too_big = await upload(
        platform, pre["id"], b"%PDF-" + b"0" * platform.settings.attachment_max_bytes, zhang
    )
    assert (too_big.status_code, too_big.json()["code"]) == (413, "body_too_large")
    doc = await upload(platform, pre["id"], JPEG, zhang, label="户口簿首页")
    assert doc.status_code == 201, doc.text
    assert (doc.json()["media_type"], doc.json()["label"]) == ("image/jpeg", "户口簿首页")
    mine = await platform.http.get(
        f"/v1/pre-applications/{pre['id']}/attachments/{doc.json()['id']}", headers=zhang
    )
    assert (mine.status_code, mine.content, mine.headers["content-type"]) == (200, JPEG, "image/jpeg")
    assert mine.headers["cache-control"] == "no-store"
    submitted = await platform.http.post(f"/v1/pre-applications/{pre['id']}/submit", headers=zhang)
    assert (submitted.status_code, submitted.json()["status"]) == (200, "submitted")

    queue = await platform.http.get(
        "/v1/staff/pre-applications", params={"business": HOUSEHOLD}, headers=reviewer
    )
    assert queue.status_code == 200, queue.text
    assert [p["id"] for p in queue.json()["pre_applications"]] == [pre["id"]]
    seen = await platform.http.get(
        f"/v1/staff/pre-applications/{pre['id']}/attachments/{doc.json()['id']}", headers=reviewer
    )
    assert (seen.status_code, seen.content) == (200, JPEG)
    empty = await platform.http.post(
        f"/v1/staff/pre-applications/{pre['id']}/request-material", json={"note": ""}, headers=reviewer
    )
    assert (empty.status_code, empty.json()["field"]) == (400, "note")
    asked = await platform.http.post(
        f"/v1/staff/pre-applications/{pre['id']}/request-material",
        json={"note": "请补充房产证照片"},
        headers=reviewer,
    )
    assert (asked.status_code, asked.json()["status"]) == (200, "more_material_needed")
    assert (await upload(platform, pre["id"], PNG, zhang, label="房产证")).status_code == 201
    again = await platform.http.post(f"/v1/pre-applications/{pre['id']}/submit", headers=zhang)
    assert again.json()["status"] == "submitted"
    slot = await household_slot(platform)
    body = {"slot_id": slot, "business": HOUSEHOLD, "pre_application_id": pre["id"]}
    early = await platform.http.post("/v1/bookings", json=body, headers=with_key(zhang))
    assert (early.status_code, early.json()["code"]) == (422, "pre_application_not_approved")
    approve = f"/v1/staff/pre-applications/{pre['id']}/approve"
    clerk = await platform.make_staff("window_clerk", office_id="centre")
    assert (await platform.http.post(approve, json={}, headers=clerk)).status_code == 403
    assert (await platform.http.post(approve, json={}, headers=zhang)).status_code == 401
    approved = await platform.http.post(approve, json={}, headers=reviewer)
    assert (approved.status_code, approved.json()["status"]) == (200, "approved"), approved.text
    assert approved.json()["citizen_id"] and approved.json()["history"][-1]["actor"]

    async def told() -> set[str] | None:
        messages = (await platform.http.get("/v1/me/messages", headers=zhang)).json()["messages"]
        templates = {m["template"] for m in messages}
        return (
            templates if {"pre_application_more_material", "pre_application_approved"} <= templates else None
        )

    await eventually(told)
    booked = await platform.http.post("/v1/bookings", json=body, headers=with_key(zhang))
    assert booked.status_code == 201, booked.text
    view = (await platform.http.get(f"/v1/pre-applications/{pre['id']}", headers=zhang)).json()
    assert view["entitlement"]["booking_id"] == booked.json()["id"]
    assert {h["actor"] for h in view["history"]} == {None}  # which reviewer: the bureau's to know
    cancel = await platform.http.post(f"/v1/bookings/{booked.json()['id']}/cancel", headers=zhang)
    assert cancel.status_code == 200, cancel.text
    view = (await platform.http.get(f"/v1/pre-applications/{pre['id']}", headers=zhang)).json()
    assert view["entitlement"]["booking_id"] is None
    assert (await platform.http.post("/v1/bookings", json=body, headers=with_key(zhang))).status_code == 201


async def test_nobody_else_reaches_a_pre_application_or_its_documents(platform: Platform, clock: Any) -> None:
    await load_register(platform)
    await handlers.load_catalogue(platform.booking.uow, OTHER_CITY, "yaml")
    owner = await sign_in(platform, WANG, "app", clock)
    pre = await started(platform, owner)
    await platform.http.patch(
        f"/v1/pre-applications/{pre['id']}",
        json={"answers": {"matter": "move_out", "new_address": "北三环5号"}},
        headers=owner,
    )
    doc = (await upload(platform, pre["id"], PDF, owner)).json()
    draft_paths = [
        ("GET", f"/v1/pre-applications/{pre['id']}", None),
        ("PATCH", f"/v1/pre-applications/{pre['id']}", {"answers": {"matter": "move_in"}}),
        ("POST", f"/v1/pre-applications/{pre['id']}/submit", None),
        ("GET", f"/v1/pre-applications/{pre['id']}/attachments/{doc['id']}", None),
    ]
    for channel in CHANNELS:
        intruder = await sign_in(platform, ZHANG_P, channel, clock)
        for method, path, body in draft_paths:
            answer = await platform.http.request(method, path, json=body, headers=intruder)
            assert (answer.status_code, answer.json()["code"]) == (404, "pre_application_not_found"), (
                channel,
                path,
            )
        stolen = await upload(platform, pre["id"], PNG, intruder)
        assert (stolen.status_code, stolen.json()["code"]) == (404, "pre_application_not_found")
        listed = (await platform.http.get("/v1/pre-applications", headers=intruder)).json()
        assert pre["id"] not in {p["id"] for p in listed["pre_applications"]}
    assert (
        await platform.http.post(f"/v1/pre-applications/{pre['id']}/submit", headers=owner)
    ).status_code == 200

    # A reviewer of another city: none of it exists; one of this city reads it.
    elsewhere = await platform.make_staff("reviewer", office_id="other-hall")
    staff_paths: list[tuple[str, str, dict[str, str] | None]] = [
        ("GET", f"/v1/staff/pre-applications/{pre['id']}", None),
        ("GET", f"/v1/staff/pre-applications/{pre['id']}/attachments/{doc['id']}", None),
        ("POST", f"/v1/staff/pre-applications/{pre['id']}/approve", {}),
        ("POST", f"/v1/staff/pre-applications/{pre['id']}/reject", {"reason": "no"}),
        ("POST", f"/v1/staff/pre-applications/{pre['id']}/request-material", {"note": "more"}),
    ]
    for method, path, payload in staff_paths:
        answer = await platform.http.request(method, path, json=payload, headers=elsewhere)
        assert (answer.status_code, answer.json()["code"]) == (404, "pre_application_not_found"), path
    assert (await platform.http.get("/v1/staff/pre-applications", headers=elsewhere)).json() == {
        "pre_applications": []
    }
    unbound = await platform.make_staff("reviewer")
    refused = await platform.http.get("/v1/staff/pre-applications", headers=unbound)
    assert (refused.status_code, refused.json()["code"]) == (403, "reviewer_without_city")
    clerk = await platform.make_staff("window_clerk", office_id="centre")
    assert (await platform.http.get("/v1/staff/pre-applications", headers=clerk)).status_code == 403
    here = await platform.make_staff("reviewer", office_id="north")
    seen = await platform.http.get(f"/v1/staff/pre-applications/{pre['id']}", headers=here)
    assert (seen.status_code, seen.json()["answers"]["new_address"]) == (200, "北三环5号")
    rejected = await platform.http.post(
        f"/v1/staff/pre-applications/{pre['id']}/reject", json={"reason": "地址与房产证不符"}, headers=here
    )
    assert (rejected.status_code, rejected.json()["status"], rejected.json()["note"]) == (
        200,
        "rejected",
        "地址与房产证不符",
    )

    async def told() -> list[dict[str, Any]] | None:
        messages = (await platform.http.get("/v1/me/messages", headers=owner)).json()["messages"]
        return [m for m in messages if m["template"] == "pre_application_rejected"] or None

    assert "地址与房产证不符" in (await eventually(told))[0]["body"]
