"""Staff objects point at real things, through the real gateway: a window clerk's
office must be in booking's catalogue (identity asks booking); staff find a
citizen by ID number (masked, audited), and a clerk's day list shows each
citizen's masked name. (A pre-application's citizen is the signed-in one who made
it: tests/e2e/test_pre_applications_gateway.py.)"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from services.identity.adapters import orm
from services.runtime import audit
from tests.e2e.conftest import Platform
from tests.e2e.test_bookings_gateway import WANG, ZHANG_P, sign_in, slot_ids, with_key
from tests.e2e.test_identity import ZHANG, load_register, number


async def test_a_window_clerk_of_an_office_that_does_not_exist_is_refused(platform: Platform) -> None:
    admin = platform.headers(admin=True)
    made = await platform.http.post(
        "/v1/admin/staff",
        json={
            "username": "clerk.nowhere",
            "role": "window_clerk",
            "office_id": "no-such-office",
            "password": "clerk.nowhere-password-0123",
        },
        headers=admin,
    )
    assert (made.status_code, made.json()["code"], made.json()["field"]) == (
        422,
        "office_not_found",
        "office_id",
    )
    listed = (await platform.http.get("/v1/admin/staff", headers=admin)).json()["staff"]
    assert "clerk.nowhere" not in [m["username"] for m in listed]  # nothing half-made

    await platform.make_staff("window_clerk", username="clerk.real", office_id="centre")
    [member] = [
        m
        for m in (await platform.http.get("/v1/admin/staff", headers=admin)).json()["staff"]
        if m["username"] == "clerk.real"
    ]
    moved = await platform.http.put(
        f"/v1/admin/staff/{member['staff_id']}/role",
        json={"role": "window_clerk", "office_id": "no-such-office"},
        headers=admin,
    )
    assert (moved.status_code, moved.json()["code"], moved.json()["field"]) == (
        422,
        "office_not_found",
        "office_id",
    )


async def test_staff_find_a_citizen_by_id_number_masked_and_audited(platform: Platform, clock: Any) -> None:
    await load_register(platform)
    clerk = await platform.make_staff("window_clerk", office_id="centre")
    reviewer = await platform.make_staff("reviewer")
    sre = await platform.make_staff("sre")
    zhang = await sign_in(platform, ZHANG_P, "web", clock)
    citizen_id = (await platform.http.get("/v1/me", headers=zhang)).json()["citizen_id"]
    spaced = f"{ZHANG[:6]} {ZHANG[6:14]} {ZHANG[14:].lower()}"  # as staff may type it
    for headers in (clerk, reviewer, platform.headers(admin=True)):
        found = await platform.http.post(
            "/v1/staff/citizens/find", json={"id_number": spaced}, headers=headers
        )
        assert found.status_code == 200, found.text
        assert found.json() == {
            "citizen_id": citizen_id,
            "masked_name": "张*",
            "masked_id_number": f"{ZHANG[:6]}********{ZHANG[14:]}",
            "city": "zhengzhou",
        }
        assert "张伟" not in found.text and ZHANG not in found.text
    refused = await platform.http.post("/v1/staff/citizens/find", json={"id_number": ZHANG}, headers=sre)
    assert refused.status_code == 403
    for who in (zhang, platform.headers()):
        assert (
            await platform.http.post("/v1/staff/citizens/find", json={"id_number": ZHANG}, headers=who)
        ).status_code == 401
    unknown = await platform.http.post(
        "/v1/staff/citizens/find", json={"id_number": number("11010119900307001")}, headers=reviewer
    )
    assert (unknown.status_code, unknown.json()["code"], unknown.json()["field"]) == (
        404,
        "citizen_not_found",
        "id_number",
    )
    for wrong in ("1" * 18, ZHANG[:17] + "\u0000"):
        bad = await platform.http.post("/v1/staff/citizens/find", json={"id_number": wrong}, headers=reviewer)
        assert (bad.status_code, bad.json()["field"]) == (400, "id_number")

    reviewer_id = (await platform.http.get("/v1/staff/me", headers=reviewer)).json()["staff_id"]
    async with platform.identity.db.read() as conn:
        rows = (await conn.execute(select(orm.audit).where(orm.audit.c.action == "citizen.looked_up"))).all()
        assert (await audit.verify(conn, orm.audit)).ok
    by_reviewer = [(r.subject, json.loads(r.detail)) for r in rows if r.actor == f"reviewer:{reviewer_id}"]
    assert by_reviewer[0] == (f"citizen:{citizen_id}", {"found": True})
    assert by_reviewer[1][0].startswith("id_number:") and by_reviewer[1][1] == {"found": False}
    assert len(rows) == 4 and all(ZHANG not in r.subject for r in rows)


async def test_a_clerks_booking_list_shows_each_citizens_masked_name(platform: Platform, clock: Any) -> None:
    await load_register(platform)
    slots = await slot_ids(platform, "centre")
    made = []
    for who, slot in ((ZHANG_P, slots[0]), (WANG, slots[1])):
        headers = await sign_in(platform, who, "web", clock)
        answer = await platform.http.post(
            "/v1/bookings", json={"slot_id": slot, "business": "ID_CARD_RENEWAL"}, headers=with_key(headers)
        )
        assert answer.status_code == 201, answer.text
        made.append(answer.json())
    clerk = await platform.make_staff("window_clerk", office_id="centre")
    names: dict[str, str] = {}
    for day in sorted({b["date"] for b in made}):
        listed = await platform.http.get(
            "/v1/staff/offices/centre/bookings", params={"date": day}, headers=clerk
        )
        assert listed.status_code == 200, listed.text
        names |= {b["id"]: b["citizen_masked_name"] for b in listed.json()["bookings"]}
        assert "张伟" not in listed.text and "王强" not in listed.text
    assert names == {made[0]["id"]: "张*", made[1]["id"]: "王*"}
    # A citizen's own answers carry no such field value.
    assert made[0]["citizen_masked_name"] is None
