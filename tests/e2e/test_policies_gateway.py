"""Policies through the real gateway (decision 59): administrators only (401
anonymous, 403 for a clerk, a reviewer or a citizen), hostile input a precise 400
naming the field, a suspension's announcement shown on the business and in the
refusal, and an office closure that cancels a citizen's booking and tells them once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.e2e.conftest import Platform
from tests.e2e.test_bookings_gateway import WANG, sign_in
from tests.e2e.test_hall_gateway import book_nine
from tests.e2e.test_identity import load_register
from tests.integration.test_notify import eventually

PATH = "/v1/admin/cities/testcity/policies"
CLOSURE = {"kind": "office_closure", "office_id": "centre", "from": "2030-01-07", "to": "2030-01-07"}


async def test_policies_through_the_gateway(platform: Platform, clock: Any) -> None:
    admin = platform.headers(admin=True)
    await load_register(platform)
    wang = await sign_in(platform, WANG, "web", clock)
    made = await book_nine(platform, wang)

    # Who may: nobody but an administrator, on every route.
    clerk = await platform.make_staff("window_clerk", office_id="centre")
    reviewer = await platform.make_staff("reviewer")
    for method, path in (("POST", PATH), ("GET", PATH), ("POST", "/v1/admin/policies/x/end")):
        sent = CLOSURE if method == "POST" else None
        anonymous = await platform.http.request(method, path, json=sent, headers=platform.headers())
        assert anonymous.status_code == 401, anonymous.text
        for who in (clerk, reviewer, wang):
            refused = await platform.http.request(method, path, json=sent, headers=who)
            assert refused.status_code in (401, 403) and refused.status_code != 200, refused.text
        assert (await platform.http.request(method, path, json=sent, headers=clerk)).status_code == 403

    # Hostile input: a precise 400 naming the field, and nothing stored.
    hostile: tuple[tuple[dict[str, Any] | str, str, str], ...] = (
        ({**CLOSURE, "from": "2030-01-09", "to": "2030-01-07"}, "invalid_date_range", "to"),
        ({**CLOSURE, "reason": "pipe\u0000burst"}, "invalid_text", "reason"),
        ({**CLOSURE, "reason": "x" * 100_000}, "invalid_request", "reason"),
        ({**CLOSURE, "office_id": "centre\u0000"}, "invalid_request", "office_id"),
        (
            {
                **CLOSURE,
                "effective_from": "2030-01-07T10:00:00+08:00",
                "effective_until": "2030-01-07T09:00:00+08:00",
            },
            "invalid_effective_period",
            "effective_until",
        ),
        ({**CLOSURE, "effective_from": "2030-01-07T10:00:00"}, "invalid_request", "effective_from"),
        ({**CLOSURE, "effective_from": "0001-01-01T00:00:00+05:00"}, "invalid_request", "effective_from"),
        (
            {"kind": "business_suspension", "business": "ID_CARD_RENEWAL", "announcement": ""},
            "invalid_request",
            "announcement",
        ),
        ({"kind": "destination_suspension", "destination": "Australia"}, "invalid_request", "destination"),
        (
            '{"kind": "visit_requirements", "office_id": "centre", "requirements": ["ok", "\\ud800"]}',
            "invalid_request",
            "requirements[1]",
        ),
        ({"kind": "nonsense"}, "invalid_request", "kind"),
    )
    for body, code, field in hostile:
        if isinstance(body, str):  # JSON text as written (a lone surrogate escaped)
            json_headers = {**admin, "Content-Type": "application/json"}
            answer = await platform.http.post(PATH, content=body, headers=json_headers)
        else:
            answer = await platform.http.post(PATH, json=body, headers=admin)
        problem = answer.json()
        assert (answer.status_code, problem["code"]) == (400, code), answer.text
        assert field in str(problem.get("errors") or problem.get("field") or problem), answer.text
    listed = await platform.http.get(PATH, headers=admin)
    assert listed.json() == {"policies": []}

    # A suspension in force: shown on the business, and in the refusal to book it.
    suspended = await platform.http.post(
        PATH,
        json={
            "kind": "business_suspension",
            "business": "VEHICLE_SERVICES",
            "announcement": "系统升级，暂停办理",
            "announcement_en": "Suspended for a system upgrade.",
        },
        headers=admin,
    )
    assert suspended.status_code == 201, suspended.text
    assert (suspended.json()["state"], suspended.json()["created_by"].startswith("admin:")) == (
        "in_force",
        True,
    )
    businesses = await platform.http.get(
        "/v1/cities/testcity/businesses", headers={**platform.headers(), "Accept-Language": "en"}
    )
    vehicle = next(b for b in businesses.json()["businesses"] if b["code"] == "VEHICLE_SERVICES")
    assert (vehicle["status"], vehicle["announcement"]) == ("suspended", "Suspended for a system upgrade.")

    # A closure of Monday at the centre: Wang's 09:00 booking is cancelled, Wang told once.
    closed = await platform.http.post(
        PATH, json={**CLOSURE, "reason": "水管爆裂", "reason_en": "A burst pipe."}, headers=admin
    )
    assert closed.status_code == 201, closed.text
    assert (closed.json()["state"], closed.json()["cancelled_bookings"]) == ("in_force", 1)
    mine = await platform.http.get(f"/v1/bookings/{made['id']}", headers=wang)
    assert mine.json()["status"] == "cancelled"
    # The hall takes no walk-in that day either (decision 69): a problem, nothing issued.
    walk_in = await platform.http.post(
        "/v1/staff/offices/centre/checkins", json={"walk_in_business": "ID_CARD_RENEWAL"}, headers=clerk
    )
    assert walk_in.headers["content-type"] == "application/problem+json", walk_in.text
    assert (walk_in.status_code, walk_in.json()["code"]) == (409, "office_closed")
    assert "closed on 2030-01-07" in walk_in.json()["detail"]

    async def told() -> list[Any] | None:
        inbox = await platform.http.get("/v1/me/messages", headers=wang)
        found = [m for m in inbox.json()["messages"] if m["template"] == "booking_cancelled_by_closure"]
        return found or None

    messages = await eventually(told)
    assert len(messages) == 1 and "水管爆裂" in messages[0]["body"]
    ended = await platform.http.post(f"/v1/admin/policies/{suspended.json()['id']}/end", headers=admin)
    assert ended.json()["state"] == "lapsed"
    assert dt.datetime.fromisoformat(ended.json()["effective_until"]) <= clock() + dt.timedelta(seconds=1)
