"""The hall through the real gateway (decision 49): a clerk checks a booking in, the
citizen is told their number, counters call it; nobody reaches another citizen's
ticket or booking on any channel; bad input is a precise problem."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

from tests.e2e.conftest import ADMIN_PASSWORD, ADMIN_USER, Platform
from tests.e2e.test_bookings_gateway import CHANNELS, WANG, ZHANG_P, sign_in, with_key
from tests.e2e.test_identity import load_register
from tests.integration.test_notify import eventually

#: Local 08:45 on Monday 2030-01-07 in the test city: a 09:00 booking may check in.
MONDAY_0845 = dt.datetime(2030, 1, 7, 0, 45, tzinfo=dt.UTC)


async def book_nine(platform: Platform, who: dict[str, str]) -> dict[str, Any]:
    slots = await platform.http.get(
        "/v1/offices/centre/slots",
        params={"business": "ID_CARD_RENEWAL", "from": "2030-01-07", "to": "2030-01-07"},
        headers=platform.headers(),
    )
    nine = next(s["id"] for s in slots.json()["slots"] if s["start"] == "09:00")
    made = await platform.http.post(
        "/v1/bookings", json={"slot_id": nine, "business": "ID_CARD_RENEWAL"}, headers=with_key(who)
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


async def watch_board(platform: Platform, updates: list[dict[str, Any]]) -> None:
    """A hall's display board: the queue's stream, each update's data kept."""
    async with platform.http.stream(
        "GET", "/v1/offices/centre/queue/stream", headers=platform.headers(), timeout=None
    ) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                updates.append(json.loads(line.removeprefix("data: ")))


async def _first(updates: list[dict[str, Any]]) -> dict[str, Any] | None:
    return updates[0] if updates else None


async def test_check_in_tells_the_citizen_and_counters_call(platform: Platform, clock: Any) -> None:
    clock.now = MONDAY_0845
    # Staff tokens are short-lived: the administrator signs in again at the new time.
    platform.admin_token = await platform.staff_sign_in(ADMIN_USER, ADMIN_PASSWORD)
    await load_register(platform)
    wang = await sign_in(platform, WANG, "app", clock)
    made = await book_nine(platform, wang)
    centre = await platform.make_staff("window_clerk", office_id="centre")
    north = await platform.make_staff("window_clerk", office_id="north")
    path = "/v1/staff/offices/centre/checkins"

    for body, code in (
        ({}, "booking_required"),
        ({"code": made["confirmation_code"], "qr_payload": made["qr_payload"]}, "booking_required"),
        ({"code": "AB\u0000CD"}, "invalid_text"),
        ({"code": ""}, "invalid_request"),
    ):
        answer = await platform.http.post(path, json=body, headers=centre)
        assert (answer.status_code, answer.json()["code"]) == (400, code), answer.text
    forged = await platform.http.post(path, json={"qr_payload": "MT1.x.y.z"}, headers=centre)
    assert (forged.status_code, forged.json()["code"]) == (422, "invalid_qr_payload")
    wrong = await platform.http.post(path, json={"code": made["confirmation_code"]}, headers=north)
    assert (wrong.status_code, wrong.json()["code"]) == (403, "wrong_office")

    checked = await platform.http.post(path, json={"code": made["confirmation_code"]}, headers=centre)
    assert checked.status_code == 200, checked.text
    ticket = checked.json()["ticket"]
    assert (ticket["code"], ticket["status"], ticket["booking_id"]) == ("A001", "waiting", made["id"])
    again = await platform.http.post(path, json={"qr_payload": made["qr_payload"]}, headers=centre)
    assert again.json() == {**checked.json(), "newly_issued": False}

    async def told() -> Any:
        messages = (await platform.http.get("/v1/me/messages", headers=wang)).json()["messages"]
        return [m for m in messages if "A001" in m["body"]] or None

    assert (await eventually(told))[0]["title"] in {"签到成功", "Checked in"}

    shown = await platform.http.get("/v1/offices/centre/queue", headers=platform.headers())
    assert shown.status_code == 200, shown.text
    assert shown.json()["waiting"] == [
        {"code": "A001", "status": "waiting", "counter": None, "ahead": 0, "estimated_wait_minutes": 0}
    ]

    for counter in ("0", "1000", "x"):
        bad = await platform.http.post(f"/v1/staff/offices/centre/counters/{counter}/call", headers=centre)
        assert bad.status_code in (400, 422) and bad.json()["field"] == "counter", bad.text
    refused = await platform.http.post("/v1/staff/offices/centre/counters/2/call", headers=north)
    assert (refused.status_code, refused.json()["code"]) == (403, "wrong_office")
    updates: list[dict[str, Any]] = []
    board = asyncio.create_task(watch_board(platform, updates))
    try:
        first = await eventually(lambda: _first(updates))
        assert first["change"] is None and [t["code"] for t in first["queue"]["waiting"]] == ["A001"]
        called = await platform.http.post("/v1/staff/offices/centre/counters/2/call", headers=centre)
        assert called.status_code == 200, called.text
        assert (called.json()["ticket"]["code"], called.json()["ticket"]["counter"]) == ("A001", 2)
        # The display board is pushed the call, with the queue as the route shows it.
        pushed = await eventually(lambda: _first(updates[1:]))
        assert pushed["change"] == {"ticket_code": "A001", "counter": 2, "change": "called"}
        assert (
            pushed["queue"]
            == (await platform.http.get("/v1/offices/centre/queue", headers=platform.headers())).json()
        )
    finally:
        board.cancel()
    mine = await platform.http.get(f"/v1/tickets/{ticket['id']}", headers=wang)
    assert (mine.json()["status"], mine.json()["counter"]) == ("called", 2)
    nobody = await platform.http.post("/v1/staff/offices/centre/counters/3/call", headers=centre)
    assert (nobody.status_code, nobody.json()["code"]) == (409, "ticket_in_service")
    served = await platform.http.post("/v1/staff/offices/centre/counters/2/served", headers=centre)
    assert served.json()["ticket"]["status"] == "served"
    empty = await platform.http.post("/v1/staff/offices/centre/counters/2/call", headers=centre)
    assert empty.json() == {"ticket": None}
    walk_in = await platform.http.post(
        "/v1/staff/offices/north/checkins", json={"walk_in_business": "ID_CARD_RENEWAL"}, headers=north
    )
    assert (walk_in.status_code, walk_in.json()["code"]) == (422, "walk_in_not_allowed")


async def test_nobody_reaches_anyone_elses_ticket_on_any_channel(platform: Platform, clock: Any) -> None:
    clock.now = MONDAY_0845
    # Staff tokens are short-lived: the administrator signs in again at the new time.
    platform.admin_token = await platform.staff_sign_in(ADMIN_USER, ADMIN_PASSWORD)
    await load_register(platform)
    owner = await sign_in(platform, WANG, "app", clock)
    made = await book_nine(platform, owner)
    intruders = {channel: await sign_in(platform, ZHANG_P, channel, clock) for channel in CHANNELS}
    for intruder in intruders.values():
        theirs = await platform.http.post(
            "/v1/offices/centre/checkins", json={"booking_id": made["id"]}, headers=intruder
        )
        assert (theirs.status_code, theirs.json()["code"]) == (404, "booking_not_found"), theirs.text
    checked = await platform.http.post(
        "/v1/offices/centre/checkins", json={"booking_id": made["id"]}, headers=owner
    )
    assert checked.status_code == 200, checked.text
    ticket_id = checked.json()["ticket"]["id"]
    for intruder in intruders.values():
        seen = await platform.http.get(f"/v1/tickets/{ticket_id}", headers=intruder)
        assert (seen.status_code, seen.json()["code"]) == (404, "ticket_not_found")
    assert (await platform.http.get(f"/v1/tickets/{ticket_id}", headers=owner)).status_code == 200
    anonymous = await platform.http.get(f"/v1/tickets/{ticket_id}", headers=platform.headers())
    assert anonymous.status_code == 401
