"""Bookings through the real gateway: signed-in citizens on every channel, the
notifications they get through NATS and notify, the waitlist, window staff, and
nobody reaching anyone else's objects (404 on every object route and channel)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

from gateway.app import create_app
from tests.e2e.conftest import ADMIN_PASSWORD, ADMIN_USER, Platform
from tests.e2e.test_identity import ZHANG, bearer, code_for, load_register
from tests.integration.test_notify import eventually

WANG = {"id_number": "460106197809211111", "name": "王强", "phone": "+8613900139001"}
ZHANG_P = {"id_number": ZHANG, "name": "张伟", "phone": "+8613800138001"}
CHANNELS = ("app", "wechat", "web")


async def sign_in(platform: Platform, who: dict[str, str], channel: str, clock: Any) -> dict[str, str]:
    """Headers of ``who`` signed in on ``channel`` (the clock moves past the resend wait)."""
    sent = len(
        (
            await platform.http.get(
                "/v1/sandbox/messages", params={"to": who["phone"]}, headers=platform.headers(admin=True)
            )
        ).json()["messages"]
    )
    person = {"id_number": who["id_number"], "name": who["name"]}
    asked = await platform.http.post("/v1/auth/otp", json=person, headers=platform.headers(channel))
    assert asked.status_code == 202, asked.text
    code = await code_for(platform, who["phone"], already=sent)
    answer = await platform.http.post(
        "/v1/auth/token", json={**person, "code": code}, headers=platform.headers(channel)
    )
    assert answer.status_code == 200, answer.text
    clock.now = clock.now + dt.timedelta(seconds=61)
    return bearer(platform, answer.json()["access_token"], channel)


async def slot_ids(platform: Platform, office: str = "centre") -> list[int]:
    """From Wednesday on: far enough ahead to cancel (the test clock says Monday 08:00)."""
    answer = await platform.http.get(
        f"/v1/offices/{office}/slots",
        params={"business": "ID_CARD_RENEWAL", "from": "2030-01-09", "to": "2030-01-12"},
        headers=platform.headers(),
    )
    assert answer.status_code == 200, answer.text
    return [s["id"] for s in answer.json()["slots"]]


def with_key(headers: dict[str, str], key: str | None = None) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key or str(uuid.uuid4())}


async def test_a_citizen_books_is_told_and_cannot_overbook(platform: Platform, clock: Any) -> None:
    await load_register(platform)
    zhang = await sign_in(platform, ZHANG_P, "web", clock)
    slots = await slot_ids(platform, "north")  # one place each
    body = {"slot_id": slots[0], "business": "ID_CARD_RENEWAL"}

    missing = await platform.http.post("/v1/bookings", json=body, headers=zhang)
    assert (missing.status_code, missing.json()["code"], missing.json()["field"]) == (
        400,
        "invalid_request",
        "Idempotency-Key",
    )
    made = await platform.http.post("/v1/bookings", json=body, headers=with_key(zhang, "key-1"))
    assert made.status_code == 201, made.text
    booking = made.json()
    assert booking["status"] == "confirmed" and booking["snapshot"]["office_name"] == "北站派出所"
    assert booking["qr_payload"].startswith(f"MT1.{booking['id']}.{booking['confirmation_code']}.")
    replay = await platform.http.post("/v1/bookings", json=body, headers=with_key(zhang, "key-1"))
    assert (replay.status_code, replay.headers["Idempotent-Replayed"], replay.json()) == (
        201,
        "true",
        booking,
    )
    changed = await platform.http.post(
        "/v1/bookings", json={**body, "slot_id": slots[1]}, headers=with_key(zhang, "key-1")
    )
    assert (changed.status_code, changed.json()["code"]) == (422, "idempotency_key_reused")
    assert changed.headers["content-type"] == "application/problem+json"

    wang = await sign_in(platform, WANG, "app", clock)
    edge = platform.app.state.edge
    edge.enabled = False  # booking's own refusal, which the edge's must equal
    full = await platform.http.post("/v1/bookings", json=body, headers=with_key(wang))
    edge.enabled = True
    assert (full.status_code, full.json()["code"], full.json()["field"]) == (409, "slot_full", "slot_id")

    # The confirmation reaches the citizen's inbox through NATS and notify, with what to bring.
    async def confirmed() -> Any:
        messages = (await platform.http.get("/v1/me/messages", headers=zhang)).json()["messages"]
        return [m for m in messages if m["template"] == "booking_confirmed"] or None

    message = (await eventually(confirmed))[0]
    assert booking["confirmation_code"] in message["body"]
    # In the citizen's language (Chinese unless they chose English), names included.
    assert "身份证换领" in message["body"] and "北站派出所" in message["body"], message["body"]
    assert "ID card" not in message["body"]
    english = await platform.http.get(
        f"/v1/bookings/{booking['id']}", headers={**zhang, "Accept-Language": "en"}
    )
    assert (english.headers["content-language"], english.json()["snapshot"]["business_name"]) == (
        "en",
        "ID card renewal",
    )
    assert english.json()["snapshot"]["materials"] == ["Current ID card", "Household register booklet"]

    async with another_gateway(platform, clock) as gateway2:
        await edge_refuses_as_booking(platform, gateway2, body, zhang, wang, full)
        cancelled = await platform.http.post(f"/v1/bookings/{booking['id']}/cancel", headers=zhang)
        assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
        # The place is free at once at the gateway that passed the cancellation on,
        # and within a moment (the bucket) at every other one.
        assert edge.refusal(body["slot_id"], body["business"], "anyone", "key") is None
        await eventually(lambda: remaining_is(gateway2[1], wang, slots[0], 1))
    listed = (await platform.http.get("/v1/bookings", params={"status": "cancelled"}, headers=zhang)).json()
    assert [b["id"] for b in listed["bookings"]] == [booking["id"]]
    again = await platform.http.post("/v1/bookings", json=body, headers=with_key(wang))
    assert again.status_code == 201, again.text


class CountingBook:
    """Booking's Book stub in a gateway, counting the calls the gateway makes."""

    def __init__(self, app: Any) -> None:
        self.stub = app.state.clients.bookings.Book
        app.state.clients.bookings.Book = self
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.stub(*args, **kwargs)


async def remaining_is(http: httpx.AsyncClient, headers: dict[str, str], slot_id: int, places: int) -> bool:
    """Whether the slot list shows the slot (north, Wednesday on) with ``places`` left."""
    answer = await http.get(
        "/v1/offices/north/slots",
        params={"business": "ID_CARD_RENEWAL", "from": "2030-01-09", "to": "2030-01-12"},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    return next(s["remaining"] for s in answer.json()["slots"] if s["id"] == slot_id) == places


@contextlib.asynccontextmanager
async def another_gateway(platform: Platform, clock: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """A second gateway process on the same platform, started now: its own watch."""
    app = create_app(platform.settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway-2", timeout=10) as http:
            yield app, http


async def edge_refuses_as_booking(
    platform: Platform,
    gateway2: tuple[Any, httpx.AsyncClient],
    body: dict[str, Any],
    owner: dict[str, str],
    other: dict[str, str],
    by_booking: httpx.Response,
) -> None:
    """Vacancy at the edge (decision 65): ``body``'s slot was just filled by ``owner``;
    ``by_booking`` is booking's own refusal of ``other``."""
    edge, slot_id = platform.app.state.edge, body["slot_id"]
    await asyncio.wait_for(edge.watcher.wait_for(slot_id, 0), 15)
    assert await remaining_is(platform.http, owner, slot_id, 0)  # the list reads the same bucket
    book = CountingBook(platform.app)
    at_edge = await platform.http.post("/v1/bookings", json=body, headers=with_key(other))
    assert book.calls == 0, "the edge asked booking"
    assert (at_edge.status_code, at_edge.headers["content-type"]) == (409, "application/problem+json")
    assert at_edge.json() == by_booking.json()

    # Who must still reach booking does: the owner's retry replays their booking, a
    # slot asked for with another business is booking's to name, and a slot with
    # places is always booking's to decide.
    replay = await platform.http.post("/v1/bookings", json=body, headers=with_key(owner, "key-1"))
    assert (replay.status_code, replay.headers.get("Idempotent-Replayed")) == (201, "true"), replay.text
    wrong = await platform.http.post(
        "/v1/bookings", json={**body, "business": "PASSPORT"}, headers=with_key(other)
    )
    assert wrong.json()["code"] != "slot_full", wrong.text
    assert book.calls == 2
    assert edge.refusal(slot_id + 1, body["business"], "anyone", "key") is None

    # A gateway started after the sell-out refuses from memory only once it has read
    # the bucket; while NATS is away, nothing until it has read it again.
    app2, http2 = gateway2
    await asyncio.wait_for(app2.state.edge.watcher.ready.wait(), 15)
    book2 = CountingBook(app2)
    again = await http2.post("/v1/bookings", json=body, headers=with_key(other))
    assert (again.status_code, again.json(), book2.calls) == (409, by_booking.json(), 0)
    app2.state.edge.watcher.lost()
    assert app2.state.edge.refusal(slot_id, body["business"], "anyone", "key") is None
    app2.state.edge.watcher.restart()
    await asyncio.wait_for(app2.state.edge.watcher.ready.wait(), 15)
    assert app2.state.edge.refusal(slot_id, body["business"], "anyone", "key") is not None


async def test_nobody_reaches_anyone_elses_booking_or_entry_on_any_channel(
    platform: Platform, clock: Any
) -> None:
    await load_register(platform)
    owner = await sign_in(platform, WANG, "app", clock)
    first = await sign_in(platform, ZHANG_P, "app", clock)
    north = await slot_ids(platform, "north")
    await platform.http.post(
        "/v1/bookings", json={"slot_id": north[1], "business": "ID_CARD_RENEWAL"}, headers=with_key(first)
    )
    entry = await platform.http.post(
        "/v1/waitlist", json={"business": "ID_CARD_RENEWAL", "slot_id": north[1]}, headers=owner
    )
    assert entry.status_code == 201, entry.text
    entry_id = entry.json()["id"]
    theirs = (
        await platform.http.post(
            "/v1/bookings", json={"slot_id": north[0], "business": "ID_CARD_RENEWAL"}, headers=with_key(owner)
        )
    ).json()
    other_slot = (await slot_ids(platform, "centre"))[0]

    async def owners_message() -> Any:
        return (await platform.http.get("/v1/me/messages", headers=owner)).json()["messages"] or None

    message_id = (await eventually(owners_message))[0]["id"]
    for channel in CHANNELS:
        intruder = await sign_in(platform, ZHANG_P, channel, clock)
        for method, path, body in (
            ("GET", f"/v1/bookings/{theirs['id']}", None),
            ("POST", f"/v1/bookings/{theirs['id']}/cancel", None),
            ("POST", f"/v1/bookings/{theirs['id']}/reschedule", {"slot_id": other_slot}),
            ("POST", f"/v1/waitlist/{entry_id}/confirm", None),
            ("POST", f"/v1/waitlist/{entry_id}/leave", None),
            ("GET", f"/v1/me/messages/{message_id}", None),
            ("POST", f"/v1/me/messages/{message_id}/read", None),
        ):
            answer = await platform.http.request(method, path, json=body, headers=intruder)
            assert answer.status_code == 404, (channel, path, answer.text)
            assert answer.json()["code"].endswith("_not_found")
        listed = (await platform.http.get("/v1/bookings", headers=intruder)).json()["bookings"]
        assert theirs["id"] not in {b["id"] for b in listed}
        assert (await platform.http.get("/v1/waitlist", headers=intruder)).json() == {"entries": []}
    # The owner still has it, untouched.
    mine = await platform.http.get(f"/v1/bookings/{theirs['id']}", headers=owner)
    assert (mine.status_code, mine.json()["status"]) == (200, "confirmed")
    read = await platform.http.post(f"/v1/me/messages/{message_id}/read", headers=owner)
    assert (read.status_code, read.json()["read"]) == (200, True)


async def test_the_waitlist_offer_is_announced_and_confirmed(platform: Platform, clock: Any) -> None:
    await load_register(platform)
    zhang = await sign_in(platform, ZHANG_P, "wechat", clock)
    wang = await sign_in(platform, WANG, "web", clock)
    slot = (await slot_ids(platform, "north"))[1]
    taken = (
        await platform.http.post(
            "/v1/bookings", json={"slot_id": slot, "business": "ID_CARD_RENEWAL"}, headers=with_key(wang)
        )
    ).json()
    joined = await platform.http.post(
        "/v1/waitlist", json={"business": "ID_CARD_RENEWAL", "slot_id": slot}, headers=zhang
    )
    assert (joined.status_code, joined.json()["status"], joined.json()["position"]) == (201, "waiting", 1)
    assert (await platform.http.get("/v1/waitlist", headers=zhang)).json()["entries"][0]["position"] == 1
    await platform.http.post(f"/v1/bookings/{taken['id']}/cancel", headers=wang)
    offered = (await platform.http.get("/v1/waitlist", headers=zhang)).json()["entries"][0]
    assert offered["status"] == "offered" and offered["held_slot_id"] == slot

    async def told() -> Any:
        messages = (await platform.http.get("/v1/me/messages", headers=zhang)).json()["messages"]
        return [m for m in messages if m["template"] == "waitlist_offer"] or None

    assert "15" in (await eventually(told))[0]["body"]
    made = await platform.http.post(f"/v1/waitlist/{offered['id']}/confirm", headers=zhang)
    assert (made.status_code, made.json()["slot_id"], made.json()["channel"]) == (200, slot, "wechat")


async def test_window_staff_see_their_own_office_only(platform: Platform, clock: Any) -> None:
    await load_register(platform)
    wang = await sign_in(platform, WANG, "app", clock)
    slot = (await slot_ids(platform, "centre"))[0]
    made = (
        await platform.http.post(
            "/v1/bookings", json={"slot_id": slot, "business": "ID_CARD_RENEWAL"}, headers=with_key(wang)
        )
    ).json()
    day = made["date"]
    centre = await platform.make_staff("window_clerk", office_id="centre")
    north = await platform.make_staff("window_clerk", office_id="north")
    reviewer = await platform.make_staff("reviewer")
    path = "/v1/staff/offices/centre/bookings"
    listed = await platform.http.get(path, params={"date": day}, headers=centre)
    assert listed.status_code == 200, listed.text
    assert [b["id"] for b in listed.json()["bookings"]] == [made["id"]]
    assert listed.json()["bookings"][0]["citizen_id"]  # staff see whose it is
    assert (
        await platform.http.get(path, params={"date": day}, headers=platform.headers(admin=True))
    ).status_code == 200
    wrong = await platform.http.get(path, params={"date": day}, headers=north)
    assert (wrong.status_code, wrong.json()["code"]) == (403, "wrong_office")
    assert (await platform.http.get(path, params={"date": day}, headers=reviewer)).status_code == 403
    assert (await platform.http.get(path, params={"date": day}, headers=wang)).status_code == 401
    # Marking a no-show: only after the appointment began, and only at one's own office.
    early = await platform.http.post(f"/v1/staff/bookings/{made['id']}/no-show", headers=centre)
    assert (early.status_code, early.json()["code"]) == (409, "not_started")
    clock.now = clock.now + dt.timedelta(days=2, hours=2)
    # Staff tokens are short-lived: the morning's have run out by now.
    platform.admin_token = await platform.staff_sign_in(ADMIN_USER, ADMIN_PASSWORD)
    centre = await platform.make_staff("window_clerk", office_id="centre")
    north = await platform.make_staff("window_clerk", office_id="north")
    refused = await platform.http.post(f"/v1/staff/bookings/{made['id']}/no-show", headers=north)
    assert (refused.status_code, refused.json()["code"]) == (403, "wrong_office")
    marked = await platform.http.post(f"/v1/staff/bookings/{made['id']}/no-show", headers=centre)
    assert (marked.status_code, marked.json()["status"]) == (200, "no_show")


async def test_a_citizen_switches_to_english_and_the_next_confirmation_is_english(
    platform: Platform, clock: Any
) -> None:
    await load_register(platform)
    zhang = await sign_in(platform, ZHANG_P, "web", clock)
    url = "/v1/me/notification-preferences"
    chosen = await platform.http.get(url, headers=zhang)
    assert (chosen.status_code, chosen.json()["language"]) == (200, "zh-CN"), chosen.text
    citizen = (await platform.http.get("/v1/me", headers=zhang)).json()["citizen_id"]

    async def phone_known() -> Any:
        return (await platform.notify.notifier.get_contacts(citizen)).phone or None

    phone = await eventually(phone_known)

    for wrong in ({"language": "fr"}, {"language": "zh-CN\x00"}, {}, {"language": None}):
        refused = await platform.http.put(f"{url}/language", json=wrong, headers=zhang)
        assert (refused.status_code, refused.json()["field"]) == (400, "language"), (wrong, refused.text)
    nobody = await platform.http.put(f"{url}/language", json={"language": "en"}, headers=platform.headers())
    assert nobody.status_code == 401

    switched = await platform.http.put(f"{url}/language", json={"language": "en"}, headers=zhang)
    assert (switched.status_code, switched.json()["language"]) == (200, "en"), switched.text
    again = await platform.http.put(f"{url}/language", json={"language": "en"}, headers=zhang)
    assert again.json() == switched.json()  # idempotent
    assert (await platform.http.get(url, headers=zhang)).json()["language"] == "en"
    # Only the language changed: the phone identity told notify is still there.
    assert (await platform.notify.notifier.get_contacts(citizen)).phone == phone

    slots = await slot_ids(platform, "north")
    made = await platform.http.post(
        "/v1/bookings",
        json={"slot_id": slots[0], "business": "ID_CARD_RENEWAL"},
        headers=with_key(zhang),
    )
    assert made.status_code == 201, made.text

    async def confirmed() -> Any:
        messages = (await platform.http.get("/v1/me/messages", headers=zhang)).json()["messages"]
        return [m for m in messages if m["template"] == "booking_confirmed"] or None

    [message] = await eventually(confirmed)
    assert message["title"] == "Appointment confirmed", message
    assert "ID card renewal" in message["body"] and "身份证" not in message["body"], message["body"]
