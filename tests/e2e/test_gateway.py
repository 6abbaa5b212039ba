"""The catalogue as a citizen, an administrator and an SRE meet it: through the
real gateway, the real booking service and a real nats-server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nats
import pytest

from mintong.booking.v1 import events_pb2
from services.booking.domain.rules import DEFAULT_ENTRY_EXIT_REASON_NAMES
from tests.e2e.conftest import Platform

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["code"] == code, body
    if field is not None:
        assert body["field"] == field, body
    return body


async def test_a_citizen_browses_cities_businesses_offices_and_vacancy(platform: Platform) -> None:
    http, h = platform.http, platform.headers("wechat")
    answer = await http.get("/v1/cities", headers=h)
    assert answer.headers["content-language"] == "zh-CN"  # Chinese unless asked otherwise
    assert answer.json()["cities"] == [
        {
            "code": "testcity",
            "name": "测试市",
            "time_zone": "Asia/Shanghai",
            # The defaults: the test catalogue sets no booking rules.
            "booking_policy": {
                "horizon_days": 7,
                "release_time": "08:00",
                "cancel_cutoff_minutes": 120,
                "hold_minutes": 15,
                "entry_exit_reasons": [
                    {"code": code, "name": zh, "evidence": []}
                    for code, (zh, _) in DEFAULT_ENTRY_EXIT_REASON_NAMES.items()
                ],
                "suspended_destinations": [],
            },
        }
    ]
    en = {**h, "Accept-Language": "en-GB,en;q=0.9,zh-CN;q=0.5"}
    answer = await http.get("/v1/cities", headers=en)
    assert (answer.headers["content-language"], answer.json()["cities"][0]["name"]) == ("en", "Test City")
    assert answer.json()["cities"][0]["booking_policy"]["entry_exit_reasons"][0] == {
        "code": "FUNERAL",
        "name": "Attending a funeral abroad",
        "evidence": [],
    }

    businesses = {
        b["code"]: b
        for b in (await http.get("/v1/cities/testcity/businesses", headers=h)).json()["businesses"]
    }
    assert businesses["VEHICLE_SERVICES"]["status"] == "suspended"
    assert businesses["VEHICLE_SERVICES"]["announcement"] == "交通管理业务线上线下暂停办理。"
    assert businesses["HOUSEHOLD_REGISTRATION"]["requires_pre_application"] is True
    assert businesses["ID_CARD_RENEWAL"]["materials"] == ["现持身份证", "居民户口簿"]
    in_english = {
        b["code"]: b
        for b in (await http.get("/v1/cities/testcity/businesses", headers=en)).json()["businesses"]
    }
    assert in_english["ID_CARD_RENEWAL"]["name"] == "ID card renewal"
    assert in_english["ID_CARD_RENEWAL"]["materials"] == ["Current ID card", "Household register booklet"]
    assert "suspended" in in_english["VEHICLE_SERVICES"]["announcement"]
    web = (await http.get("/v1/cities/testcity/businesses", headers=platform.headers("web"))).json()
    assert {b["code"]: b["offered_on_this_channel"] for b in web["businesses"]}[
        "HOUSEHOLD_REGISTRATION"
    ] is False

    # Standing at the centre hall, looking for the nearest place to renew an ID card.
    offices = (
        await http.get(
            "/v1/cities/testcity/offices",
            params={"business": "ID_CARD_RENEWAL", "lat": 34.75, "lng": 113.66},
            headers=h,
        )
    ).json()["offices"]
    assert [o["office"]["id"] for o in offices] == ["centre", "north"]  # "far" does not handle it
    assert offices[0]["distance_km"] == 0.0
    assert offices[1]["distance_km"] == pytest.approx(5.56, abs=0.01)
    assert offices[0]["earliest_available_slot"] == {
        "id": offices[0]["earliest_available_slot"]["id"],
        "office_id": "centre",
        "date": "2030-01-07",
        "start": "09:00",
        "end": "10:00",
        "capacity": 2,
        "remaining": 2,
    }
    assert offices[1]["office"]["walk_in_allowed"] is False
    assert (offices[0]["office"]["name"], offices[0]["office"]["visit_requirements"]) == (
        "中心大厅",
        ["请佩戴口罩"],
    )
    far = (
        await http.get("/v1/cities/testcity/offices", params={"business": "VEHICLE_SERVICES"}, headers=en)
    ).json()["offices"]
    # Its business is suspended: no earliest place, and the name written only in Chinese serves English too.
    assert [(o["office"]["name"], o["earliest_available_slot"]) for o in far] == [("远郊车管所", None)]
    assert (
        await http.get("/v1/offices/far/slots", params={"business": "VEHICLE_SERVICES"}, headers=h)
    ).json() == {"slots": []}

    slots = (
        await http.get(
            "/v1/offices/north/slots",
            params={"business": "ID_CARD_RENEWAL", "from": "2030-01-07", "to": "2030-01-09"},
            headers=h,
        )
    ).json()["slots"]
    # 09:00-10:00 in 30-minute slots, Monday and Wednesday: Tuesday 8 January is closed.
    assert [(s["date"], s["start"], s["capacity"], s["remaining"]) for s in slots] == [
        ("2030-01-07", "09:00", 1, 1),
        ("2030-01-07", "09:30", 1, 1),
        ("2030-01-09", "09:00", 1, 1),
        ("2030-01-09", "09:30", 1, 1),
    ]
    default_week = (await http.get("/v1/offices/centre/slots?business=ID_CARD_RENEWAL", headers=h)).json()
    assert {s["date"] for s in default_week["slots"]} == {f"2030-01-{d:02d}" for d in range(7, 12)}
    one_day = (
        await http.get("/v1/offices/north/slots?business=ID_CARD_RENEWAL&date=2030-01-09", headers=h)
    ).json()
    assert [(s["date"], s["start"]) for s in one_day["slots"]] == [
        ("2030-01-09", "09:00"),
        ("2030-01-09", "09:30"),
    ]


@pytest.mark.parametrize(
    ("path", "status", "code", "field"),
    [
        ("/v1/cities/nowhere/businesses", 404, "city_not_found", "city"),
        ("/v1/cities/nowhere/offices", 404, "city_not_found", "city"),
        ("/v1/cities/testcity/offices?business=NOPE", 404, "business_not_found", "business"),
        ("/v1/cities/testcity/offices?lat=34.7", 400, "incomplete_location", "lng"),
        ("/v1/cities/testcity/offices?lng=113.6", 400, "incomplete_location", "lat"),
        ("/v1/cities/testcity/offices?lat=91&lng=113.6", 400, "invalid_request", "lat"),
        ("/v1/cities/testcity/offices?lat=north&lng=113.6", 400, "invalid_request", "lat"),
        ("/v1/offices/nowhere/slots?business=ID_CARD_RENEWAL", 404, "office_not_found", "office_id"),
        ("/v1/offices/centre/slots?business=NOPE", 404, "business_not_found", "business"),
        ("/v1/offices/far/slots?business=ID_CARD_RENEWAL", 404, "business_at_office_not_found", "business"),
        ("/v1/offices/centre/slots", 400, "invalid_request", "business"),
        (
            "/v1/offices/centre/slots?business=ID_CARD_RENEWAL&date=2030-01-07&from=2030-01-07",
            400,
            "date_and_range",
            "date",
        ),
        ("/v1/offices/centre/slots?business=ID_CARD_RENEWAL&free=maybe", 400, "invalid_request", "free"),
        ("/v1/offices/centre/slots?business=ID_CARD_RENEWAL&from=2030-13-01", 400, "invalid_request", "from"),
        ("/v1/offices/centre/slots?business=ID_CARD_RENEWAL&from=yesterday", 400, "invalid_request", "from"),
        (
            "/v1/offices/centre/slots?business=ID_CARD_RENEWAL&from=2030-01-09&to=2030-01-08",
            422,
            "invalid_date_range",
            "from",
        ),
        (
            "/v1/offices/centre/slots?business=ID_CARD_RENEWAL&from=2030-01-01&to=2030-02-01",
            422,
            "date_range_too_long",
            "to",
        ),
        ("/v1/offices/centre/slots?business=bad%20code", 400, "invalid_request", "business"),
        ("/v1/no/such/route", 404, "not_found", None),
    ],
)
async def test_bad_input_gets_a_precise_problem(
    platform: Platform, path: str, status: int, code: str, field: str | None
) -> None:
    assert_problem(await platform.http.get(path, headers=platform.headers()), status, code, field)


@pytest.mark.parametrize("channel", [None, "", "sms", "WeChat"])
async def test_every_v1_request_names_a_known_channel(platform: Platform, channel: str | None) -> None:
    headers = {} if channel is None else {"X-Mintong-Channel": channel}
    response = await platform.http.get("/v1/cities", headers=headers)
    assert_problem(response, 400, "invalid_channel", "X-Mintong-Channel")


async def test_administrators_load_publish_suspend_and_resume(platform: Platform, nats_server: Any) -> None:
    http, admin = platform.http, platform.headers(admin=True)
    catalogue = {
        "cities": [
            {
                "code": "testcity",
                "name": "Test City",
                "businesses": [
                    {
                        "code": "ID_CARD_RENEWAL",
                        "category": "id_card",
                        "name": "ID card renewal",
                        "service_guide": "Renew at the nearest hall.",
                        "phone": "0371-00000001",
                        "duration_minutes": 15,
                        "handling": "online_or_window",
                    }
                ],
                "offices": [
                    {
                        "id": "south",
                        "name": "South station",
                        "kind": "police_station",
                        "address": "3 South Road",
                        "location": {"lat": 34.7, "lng": 113.66},
                        "phone": "0371-40000000",
                        "opening_hours": {"sat": ["09:00-11:00"]},
                        "slot_groups": [
                            {
                                "code": "id",
                                "businesses": ["ID_CARD_RENEWAL"],
                                "capacity": 5,
                                "slot_minutes": 60,
                            }
                        ],
                    }
                ],
            }
        ]
    }
    loaded = await http.put(
        "/v1/admin/catalogue",
        content=json.dumps(catalogue),
        headers={**admin, "Content-Type": "application/json"},
    )
    assert loaded.json() == {"cities": ["testcity"], "office_count": 1, "business_count": 1}

    published = await http.post(
        "/v1/admin/slots/publish",
        json={"office_id": "south", "from": "2030-01-07", "to": "2030-01-13"},
        headers=admin,
    )
    assert published.json() == {"created": 2, "updated": 0}
    again = await http.post(
        "/v1/admin/slots/publish",
        json={"city": "testcity", "from": "2030-01-07", "to": "2030-01-13"},
        headers=admin,
    )
    assert again.json()["created"] == 0

    suspended = await http.post(
        "/v1/admin/cities/testcity/businesses/ID_CARD_RENEWAL/suspend",
        json={"announcement": "Card production is paused until 2 January."},
        headers=admin,
    )
    assert suspended.json()["status"] == "suspended"
    seen = (await http.get("/v1/cities/testcity/businesses", headers=platform.headers())).json()["businesses"]
    assert {b["code"]: b["status"] for b in seen}["ID_CARD_RENEWAL"] == "suspended"
    resumed = await http.post("/v1/admin/cities/testcity/businesses/ID_CARD_RENEWAL/resume", headers=admin)
    assert resumed.json()["status"] == "active" and resumed.json()["announcement"] == ""

    # Every change reached JetStream through the outbox.
    subjects = await _stream_subjects(nats_server.url)
    assert subjects.count("mintong.booking.business.suspended") == 1
    assert subjects.count("mintong.booking.business.resumed") == 1
    assert "mintong.booking.catalogue.loaded" in subjects
    assert subjects.count("mintong.booking.slots.published") >= 2


async def _stream_subjects(url: str, last: str = "mintong.booking.business.resumed") -> list[str]:
    """The BOOKING stream's subjects once ``last`` (the last event the test caused) is
    among them: the relay publishes right after each commit, in no hurry for a test,
    and the stream already holds more than the test's own events before it."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for _ in range(200):
            subjects = []
            info = await js.stream_info("BOOKING")
            for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else ():
                message = await js.get_msg("BOOKING", seq)
                assert message.subject is not None and message.data is not None
                subjects.append(message.subject)
                if message.subject == "mintong.booking.business.suspended":
                    event = events_pb2.BusinessSuspended.FromString(message.data)
                    assert event.announcement == "Card production is paused until 2 January."
            if last in subjects:
                break
            await asyncio.sleep(0.05)
        return subjects
    finally:
        await nc.close()


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "status", "code", "field"),
    [
        (
            "put",
            "/v1/admin/catalogue",
            "cities: [",
            "application/yaml",
            400,
            "malformed_catalogue",
            "content",
        ),
        (
            "put",
            "/v1/admin/catalogue",
            "cities: [{code: x, name: X, offices: [{id: o}]}]",
            "application/yaml",
            400,
            "invalid_catalogue",
            "cities[0].offices[0].name",
        ),
        ("put", "/v1/admin/catalogue", "{}", "text/plain", 415, "unsupported_media_type", "Content-Type"),
        (
            "post",
            "/v1/admin/slots/publish",
            {"from": "2030-01-07", "to": "2030-01-08"},
            None,
            400,
            "invalid_request",
            "body",
        ),
        (
            "post",
            "/v1/admin/slots/publish",
            {"city": "testcity", "from": "2030-01-09", "to": "2030-01-08"},
            None,
            422,
            "invalid_date_range",
            "from",
        ),
        (
            "post",
            "/v1/admin/slots/publish",
            {"office_id": "nowhere", "from": "2030-01-07", "to": "2030-01-08"},
            None,
            404,
            "office_not_found",
            "office_id",
        ),
        (
            "post",
            "/v1/admin/cities/testcity/businesses/ID_CARD_RENEWAL/suspend",
            {"announcement": "  "},
            None,
            400,
            "announcement_required",
            "announcement",
        ),
        (
            "post",
            "/v1/admin/cities/testcity/businesses/ID_CARD_RENEWAL/suspend",
            {},
            None,
            400,
            "invalid_request",
            "announcement",
        ),
        (
            "post",
            "/v1/admin/cities/testcity/businesses/NOPE/resume",
            None,
            None,
            404,
            "business_not_found",
            "business",
        ),
    ],
)
async def test_administrator_mistakes_get_a_precise_problem_and_change_nothing(
    platform: Platform,
    method: str,
    path: str,
    body: Any,
    content_type: str | None,
    status: int,
    code: str,
    field: str,
) -> None:
    headers = platform.headers(admin=True)
    if content_type:
        response = await platform.http.request(
            method, path, content=body, headers={**headers, "Content-Type": content_type}
        )
    else:
        response = await platform.http.request(method, path, json=body, headers=headers)
    assert_problem(response, status, code, field)
    cities = (await platform.http.get("/v1/cities", headers=platform.headers())).json()["cities"]
    assert [c["code"] for c in cities] == ["testcity"]


async def test_administrator_routes_need_an_administrators_staff_token(platform: Platform) -> None:
    path = "/v1/admin/cities/testcity/businesses/ID_CARD_RENEWAL/resume"
    missing = await platform.http.post(path, headers=platform.headers())
    assert_problem(missing, 401, "unauthenticated", "Authorization")
    assert missing.headers["www-authenticate"] == "Bearer"
    # A token that is no staff token authenticates no one: 401, not 403.
    wrong = await platform.http.post(path, headers={**platform.headers(), "Authorization": "Bearer guess"})
    assert_problem(wrong, 401, "token_invalid", "Authorization")
    reviewer = await platform.make_staff("reviewer")
    assert_problem(await platform.http.post(path, headers=reviewer), 403, "forbidden", "Authorization")


async def test_health_readiness_and_docs(platform: Platform, nats_server: Any) -> None:
    http = platform.http
    assert (await http.get("/healthz")).json() == {"status": "alive"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) == {"identity", "booking", "cards", "notify", "nats"}

    spec = (await http.get("/openapi.json")).json()
    assert "/v1/offices/{office_id}/slots" in spec["paths"]
    assert (await http.get("/docs")).status_code == 200

    answer = await http.get("/v1/cities", headers={**platform.headers(), "X-Request-Id": "req-42"})
    assert answer.headers["x-request-id"] == "req-42"

    nats_server.stop()
    for _ in range(100):
        not_ready = await http.get("/readyz")
        if not_ready.status_code == 503:
            break
        await asyncio.sleep(0.05)
    assert not_ready.json()["checks"]["nats"] == "disconnected"
    # Reading the catalogue does not need NATS.
    assert (await http.get("/v1/cities", headers=platform.headers())).status_code == 200
    nats_server.start()


async def test_a_service_that_is_down_is_a_503_not_a_500(platform: Platform) -> None:
    await platform.booking.host.stop()
    response = await platform.http.get("/v1/cities", headers=platform.headers())
    assert_problem(response, 503, "service_unavailable")
    assert (await platform.http.get("/readyz")).json()["checks"]["booking"].startswith("UNREACHABLE")
