"""The gateway's edge: text no service may store is refused naming its field on
every route that takes text (a property, on PostgreSQL), bodies over the limit get
413 before they are read, and every other refusal at the edge is a problem naming
its field (unknown routes and query parameters, methods, malformed bodies)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import Platform
from tests.e2e.test_bookings_gateway import ZHANG_P, sign_in
from tests.e2e.test_identity import ZHANG, load_register

PROBLEM = "application/problem+json"


def is_problem(answer: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM, answer.text
    body: dict[str, Any] = answer.json()
    assert body["field"] == field, body
    return body


@dataclass(frozen=True)
class Case:
    """A route that takes text, and where a value goes in its request."""

    method: str
    path: str
    who: str  # "anonymous", "admin" or "citizen"
    field: str
    body: Callable[[str], dict[str, Any]] | None = None
    query: bool = False

    def request(self, value: str) -> dict[str, Any]:
        if self.query:
            return {"params": {self.field: value}}
        assert self.body is not None
        return {"json": self.body(value)}


PASSWORD = "a-long-enough-password"
CASES = [
    Case("POST", "/v1/staff/token", "anonymous", "username", lambda v: {"username": v, "password": PASSWORD}),
    Case("POST", "/v1/auth/otp", "anonymous", "name", lambda v: {"id_number": ZHANG, "name": v}),
    Case(
        "POST",
        "/v1/auth/token",
        "anonymous",
        "name",
        lambda v: {"id_number": ZHANG, "name": v, "code": "123456"},
    ),
    Case("POST", "/v1/auth/refresh", "anonymous", "refresh_token", lambda v: {"refresh_token": v}),
    Case("POST", "/v1/auth/wechat", "anonymous", "code", lambda v: {"city": "haikou", "code": v}),
    Case(
        "POST",
        "/v1/admin/staff",
        "admin",
        "display_name",
        lambda v: {"username": "someone", "display_name": v, "role": "reviewer", "password": PASSWORD},
    ),
    Case(
        "POST",
        "/v1/admin/cities/haikou/businesses/ID_CARD_RENEWAL/suspend",
        "admin",
        "announcement",
        lambda v: {"announcement": v},
    ),
    Case(
        "POST",
        "/v1/staff/pre-applications/00000000-0000-4000-8000-000000000001/approve",
        "admin",
        "note",
        lambda v: {"note": v},
    ),
    Case(
        "POST",
        "/v1/staff/pre-applications/00000000-0000-4000-8000-000000000001/reject",
        "admin",
        "reason",
        lambda v: {"reason": v},
    ),
    Case(
        "POST",
        "/v1/staff/pre-applications/00000000-0000-4000-8000-000000000001/request-material",
        "admin",
        "note",
        lambda v: {"note": v},
    ),
    Case(
        "PATCH",
        "/v1/pre-applications/00000000-0000-4000-8000-000000000001",
        "citizen",
        "answers.new_address",
        lambda v: {"answers": {"new_address": v}},
    ),
    Case(
        "POST",
        "/v1/pre-applications/00000000-0000-4000-8000-000000000001/attachments",
        "citizen",
        "label",
        query=True,
    ),
    Case("GET", "/v1/sandbox/messages", "admin", "to", query=True),
    *[
        Case(
            "POST",
            "/v1/bookings",
            "citizen",
            name,
            lambda v, name=name: {"slot_id": 1, "business": "ID_CARD_RENEWAL", name: v},  # type: ignore[misc]
        )
        for name in ("reason_code", "destination", "pre_application_id")
    ],
    Case(
        "POST",
        "/v1/waitlist",
        "citizen",
        "pre_application_id",
        lambda v: {"business": "ID_CARD_RENEWAL", "office_id": "centre", "pre_application_id": v},
    ),
    Case(
        "POST",
        "/v1/me/bindings/app",
        "citizen",
        "label",
        lambda v: {"device_id": "device-0001", "public_key": "A" * 43, "label": v},
    ),
    Case("POST", "/v1/me/face-verification", "citizen", "liveness_token", lambda v: {"liveness_token": v}),
    Case("GET", "/v1/me/messages", "citizen", "page_token", query=True),
]

#: What no stored text may hold, wherever it is in a value: NUL and other C0
#: controls (tab and line breaks are kept for multi-line fields, so left out
#: here), DEL and the C1 controls.
FORBIDDEN = st.sampled_from([chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), *range(127, 160)]])
SAFE = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=20)


@st.composite
def bad_text(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(SAFE) + draw(FORBIDDEN) + draw(SAFE)
    return "长" * draw(st.integers(4097, 5000))  # longer than any field takes


@pytest.fixture
def postgresql_only(backend: dict[str, Any]) -> Iterator[None]:
    if not backend:
        pytest.skip("the property runs on PostgreSQL, the database that refuses NUL")
    yield


async def test_no_route_lets_unstorable_text_through(
    platform: Platform, clock: Any, postgresql_only: None
) -> None:
    await load_register(platform)
    citizen = await sign_in(platform, ZHANG_P, "web", clock)
    headers = {
        "anonymous": platform.headers(),
        "admin": platform.headers(admin=True),
        "citizen": {**citizen, "Idempotency-Key": str(uuid.uuid4())},
    }

    @settings(max_examples=120, deadline=None, database=None)
    @given(case=st.sampled_from(CASES), value=bad_text())
    def property(case: Case, value: str) -> None:
        with httpx.Client(base_url=platform.url, timeout=10) as http:
            answer = http.request(case.method, case.path, headers=headers[case.who], **case.request(value))
        assert answer.status_code in (400, 422), (case, answer.text)
        assert answer.headers["content-type"] == PROBLEM, answer.text
        assert answer.json()["field"] == case.field, (case, answer.text)

    # In a thread: the platform serves from this test's event loop meanwhile.
    await asyncio.to_thread(property)


async def test_a_header_a_service_stores_is_checked_too(platform: Platform, clock: Any) -> None:
    await load_register(platform)
    citizen = await sign_in(platform, ZHANG_P, "web", clock)
    answer = await platform.http.post(
        "/v1/bookings",
        json={"slot_id": 1, "business": "ID_CARD_RENEWAL"},
        # A C1 control, as Latin-1 reads the byte 0x85.
        headers=[*((k.encode(), v.encode()) for k, v in citizen.items()), (b"Idempotency-Key", b"key\x85")],
    )
    body = is_problem(answer, 400, "Idempotency-Key")
    assert body["code"] == "invalid_text"


async def test_a_body_over_the_limit_is_refused_before_it_is_read(platform: Platform) -> None:
    limit = platform.settings.max_body_bytes
    declared = await platform.http.post(
        "/v1/auth/otp",
        content=b"x" * (limit + 1),
        headers={**platform.headers(), "Content-Type": "application/json"},
    )
    assert is_problem(declared, 413, "body")["code"] == "body_too_large"

    chunks_sent = 0

    async def chunks() -> Any:  # chunked: no Content-Length to go by
        nonlocal chunks_sent
        for _ in range(limit // 65536 + 50):
            chunks_sent += 1
            yield b" " * 65536

    streamed = await platform.http.post(
        "/v1/auth/otp", content=chunks(), headers={**platform.headers(), "Content-Type": "application/json"}
    )
    assert is_problem(streamed, 413, "body")["code"] == "body_too_large"


async def test_refusals_at_the_edge_name_what_is_at_fault(platform: Platform) -> None:
    unknown_route = await platform.http.get("/v1/no-such-thing", headers=platform.headers())
    assert is_problem(unknown_route, 404, "path")["code"] == "not_found"

    unknown_query = await platform.http.get("/v1/cities", params={"citty": "x"}, headers=platform.headers())
    assert "citty" in is_problem(unknown_query, 422, "citty")["detail"]

    method = await platform.http.delete("/v1/bookings", headers=platform.headers())
    is_problem(method, 405, "method")
    assert method.headers["allow"] == "GET, POST"

    headers = {**platform.headers(), "Content-Type": "application/json"}
    malformed = await platform.http.post(
        "/v1/auth/otp", content=b'{"id_number": "1",\n "name" "x"}', headers=headers
    )
    assert "line 2, column 9" in is_problem(malformed, 400, "body")["detail"]

    not_utf8 = await platform.http.post("/v1/auth/otp", content=b'{"name": "\xff"}', headers=headers)
    assert is_problem(not_utf8, 400, "body")["code"] == "invalid_body"


async def test_swagger_ui_needs_no_internet(platform: Platform) -> None:
    page = await platform.http.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "https://" not in page.text.replace("https://fastapi", "")
    script = await platform.http.get("/static-offline-docs/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000


async def test_a_token_of_the_other_kind_is_named(platform: Platform, clock: Any) -> None:
    await load_register(platform)
    citizen = await sign_in(platform, ZHANG_P, "web", clock)
    staff_on_citizen_route = await platform.http.get("/v1/me", headers=platform.headers(admin=True))
    assert "staff token" in is_problem(staff_on_citizen_route, 401, "Authorization")["detail"]
    citizen_on_staff_route = await platform.http.get("/v1/staff/me", headers=citizen)
    assert "citizen's token" in is_problem(citizen_on_staff_route, 401, "Authorization")["detail"]
