"""Staff through the gateway: sign-in with username and password, one answer for
every wrong credential, the sign-in throttle, roles on the routes (administrators run the
administration, SREs read the sandbox, clerks and reviewers neither), staff and
citizen tokens never mistaken for each other, sign-out, and no password in a log."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from typing import Any

import httpx
import pytest

from services.identity.bootstrap import BootstrapAdministrator
from tests.e2e.conftest import ADMIN_PASSWORD, ADMIN_USER, Platform
from tests.e2e.test_forwarded_for import gateway
from tests.e2e.test_identity import bearer, sign_in


def staff_bearer(platform: Platform, token: str) -> dict[str, str]:
    return {**platform.headers(), "Authorization": f"Bearer {token}"}


async def test_an_administrator_signs_in_sees_themselves_and_signs_out(platform: Platform) -> None:
    answer = await platform.http.post(
        "/v1/staff/token",
        json={"username": "ADMIN", "password": ADMIN_PASSWORD},
        headers=platform.headers(),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["role"], body["office_id"], body["username"], body["expires_in"]) == (
        "administrator",
        None,
        ADMIN_USER,
        1800,
    )
    token = body["access_token"]
    me = await platform.http.get("/v1/staff/me", headers=staff_bearer(platform, token))
    assert (me.status_code, me.json()["role"]) == (200, "administrator")

    out = await platform.http.post("/v1/staff/logout", headers=staff_bearer(platform, token))
    assert out.status_code == 204
    for path in ("/v1/staff/me", "/v1/admin/staff"):
        after = await platform.http.get(path, headers=staff_bearer(platform, token))
        assert (after.status_code, after.json()["code"]) == (401, "session_ended")
    # The platform's own administrator session is another one: still open.
    assert (
        await platform.http.get("/v1/admin/staff", headers=platform.headers(admin=True))
    ).status_code == 200


async def test_unknown_user_and_wrong_password_get_the_same_401(platform: Platform) -> None:
    answers = []
    for username, password in ((ADMIN_USER, "not-the-password"), ("nobody", ADMIN_PASSWORD)):
        answer = await platform.http.post(
            "/v1/staff/token", json={"username": username, "password": password}, headers=platform.headers()
        )
        answers.append((answer.status_code, answer.headers["content-type"], answer.json()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401 and answers[0][2]["code"] == "credentials_invalid"


async def test_a_stranger_slows_down_only_their_own_address_with_429_and_retry_after(
    platform: Platform,
) -> None:
    await platform.make_staff("reviewer", username="rev.slowed")
    right = {"username": "rev.slowed", "password": "rev.slowed-password-0123"}
    settings: Any = platform.settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]})
    async with gateway(settings) as http:  # behind a proxy of ours: each client its own address

        async def sign_in(body: dict[str, str], address: str) -> httpx.Response:
            headers = {**platform.headers(), "X-Forwarded-For": address}
            return await http.post("/v1/staff/token", json=body, headers=headers)

        for _ in range(5):
            wrong = await sign_in({**right, "password": "not-the-password"}, "203.0.113.9")
            assert wrong.status_code == 401
        waiting = await sign_in(right, "203.0.113.9")
        assert (
            waiting.status_code,
            waiting.json()["code"],
            waiting.json()["field"],
            waiting.headers["retry-after"],
        ) == (429, "too_many_requests", "username", "1")
        # The owner, from their own address, signs in.
        assert (await sign_in(right, "198.51.100.7")).status_code == 200
        # An unknown username gets the same answers.
        for _ in range(5):
            assert (
                await sign_in({"username": "nobody.here", "password": "x"}, "203.0.113.9")
            ).status_code == 401
        unknown = await sign_in({"username": "nobody.here", "password": "x"}, "203.0.113.9")
        assert (unknown.status_code, unknown.headers["retry-after"]) == (429, "1")
        assert unknown.json() == waiting.json()


async def test_roles_decide_the_routes(platform: Platform) -> None:
    clerk = await platform.make_staff("window_clerk", office_id="centre")
    reviewer = await platform.make_staff("reviewer")
    sre = await platform.make_staff("sre")
    admin_routes = [
        ("GET", "/v1/admin/staff", None),
        ("POST", "/v1/admin/slots/publish", {"city": "testcity", "from": "2030-01-07", "to": "2030-01-08"}),
        ("POST", "/v1/admin/cities/testcity/businesses/ID_CARD/resume", None),
    ]
    for headers in (clerk, reviewer, sre):
        for method, path, body in admin_routes:
            refused = await platform.http.request(method, path, json=body, headers=headers)
            assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), (path, refused.text)
    for headers in (clerk, reviewer):
        refused = await platform.http.get("/v1/sandbox/messages", headers=headers)
        assert refused.status_code == 403
    for headers in (sre, platform.headers(admin=True)):
        allowed = await platform.http.get("/v1/sandbox/messages", headers=headers)
        assert allowed.status_code == 200, allowed.text
    published = await platform.http.post(
        "/v1/admin/slots/publish",
        json={"city": "testcity", "from": "2030-01-07", "to": "2030-01-08"},
        headers=platform.headers(admin=True),
    )
    assert published.status_code == 200, published.text
    me = (await platform.http.get("/v1/staff/me", headers=clerk)).json()
    assert (me["role"], me["office_id"]) == ("window_clerk", "centre")

    # Each service audits the staff actions it performed, under the staff member's id.
    from sqlalchemy import select

    from services.booking.adapters import orm as booking_orm
    from services.notify.adapters import orm as notify_orm
    from services.runtime import audit

    sre_id = (await platform.http.get("/v1/staff/me", headers=sre)).json()["staff_id"]
    for db, table, actions in (
        (platform.notify.db, notify_orm.audit, {(f"sre:{sre_id}", "sandbox.listed")}),
        (platform.booking.db, booking_orm.audit, {("slots.published",)}),
    ):
        async with db.read() as conn:
            rows = (await conn.execute(select(table))).all()
            assert (await audit.verify(conn, table)).ok
        by_admin = {(r.action,) for r in rows if r.actor.startswith("admin:")}
        logged = {(r.actor, r.action) for r in rows} | by_admin
        assert actions <= logged, (table, logged)


async def test_citizen_and_staff_tokens_are_never_mistaken_for_each_other(platform: Platform) -> None:
    citizen = (await sign_in(platform, "web"))["access_token"]
    for path in ("/v1/admin/staff", "/v1/sandbox/messages", "/v1/staff/me"):
        refused = await platform.http.get(path, headers=bearer(platform, citizen, "web"))
        assert (refused.status_code, refused.json()["code"]) == (401, "token_invalid"), path
    for channel in ("app", "wechat", "web"):
        refused = await platform.http.get("/v1/me", headers=bearer(platform, platform.admin_token, channel))
        assert (refused.status_code, refused.json()["code"]) == (401, "token_invalid")


async def test_expired_tampered_and_unsigned_staff_tokens_are_refused(platform: Platform) -> None:
    token = await platform.staff_sign_in(ADMIN_USER, ADMIN_PASSWORD)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "another-staff-member"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    for bad in (
        f"{header}.{forged}.{signature}",
        f"{none_header}.{payload}.",
        f"{header}.{payload}.x",
        "nope",
    ):
        refused = await platform.http.get("/v1/admin/staff", headers=staff_bearer(platform, bad))
        assert (refused.status_code, refused.json()["code"]) == (401, "token_invalid")
    missing = await platform.http.get("/v1/admin/staff", headers=platform.headers())
    assert (missing.status_code, missing.headers["www-authenticate"]) == (401, "Bearer")

    clock = platform.identity.staff.clock
    clock.now += dt.timedelta(minutes=31)
    try:
        expired = await platform.http.get("/v1/admin/staff", headers=staff_bearer(platform, token))
        assert (expired.status_code, expired.json()["code"]) == (401, "token_invalid")
    finally:
        clock.now -= dt.timedelta(minutes=31)


async def test_administrators_manage_staff_and_a_disabled_account_is_out_at_once(
    platform: Platform,
) -> None:
    admin = platform.headers(admin=True)
    no_office = await platform.http.post(
        "/v1/admin/staff",
        json={"username": "clerk.x", "role": "window_clerk", "password": "clerk.x-password-0123"},
        headers=admin,
    )
    assert (no_office.status_code, no_office.json()["field"]) == (400, "office_id")
    clerk = await platform.make_staff("window_clerk", username="clerk.y", office_id="centre")
    listed = (
        await platform.http.get("/v1/admin/staff", params={"role": "window_clerk"}, headers=admin)
    ).json()
    [member] = listed["staff"]
    assert (member["username"], member["office_id"], member["active"]) == ("clerk.y", "centre", True)
    again = await platform.http.post(
        "/v1/admin/staff",
        json={"username": "Clerk.Y", "role": "sre", "password": "another-password-0123"},
        headers=admin,
    )
    assert (again.status_code, again.json()["code"]) == (409, "username_taken")

    moved = await platform.http.put(
        f"/v1/admin/staff/{member['staff_id']}/role",
        json={"role": "window_clerk", "office_id": "north"},
        headers=admin,
    )
    assert moved.json()["office_id"] == "north"
    # The token said "centre": the move ends the session, and a new one says north.
    await platform.revocation_seen(clerk["Authorization"].removeprefix("Bearer "))
    moved_out = await platform.http.get("/v1/staff/me", headers=clerk)
    assert (moved_out.status_code, moved_out.json()["code"]) == (401, "session_ended")
    clerk = {
        **platform.headers(),
        "Authorization": "Bearer " + await platform.staff_sign_in("clerk.y", "clerk.y-password-0123"),
    }
    assert (await platform.http.get("/v1/staff/me", headers=clerk)).json()["office_id"] == "north"

    off = await platform.http.put(
        f"/v1/admin/staff/{member['staff_id']}/active", json={"active": False}, headers=admin
    )
    assert off.json()["active"] is False
    await platform.revocation_seen(clerk["Authorization"].removeprefix("Bearer "))
    assert (await platform.http.get("/v1/staff/me", headers=clerk)).status_code == 401
    relogin = await platform.http.post(
        "/v1/staff/token",
        json={"username": "clerk.y", "password": "clerk.y-password-0123"},
        headers=platform.headers(),
    )
    assert (relogin.status_code, relogin.json()["code"]) == (401, "credentials_invalid")


async def test_the_bootstrap_administrator_is_made_once(platform: Platform) -> None:
    [bootstrap] = [w for w in platform.identity.host.workers if isinstance(w, BootstrapAdministrator)]
    await bootstrap.start()  # a restart, or a second replica
    admins = (
        await platform.http.get(
            "/v1/admin/staff", params={"role": "administrator"}, headers=platform.headers(admin=True)
        )
    ).json()["staff"]
    assert [a["username"] for a in admins] == [ADMIN_USER]


async def test_no_password_reaches_a_log(platform: Platform, caplog: pytest.LogCaptureFixture) -> None:
    # Ours at DEBUG, everything else at INFO as it runs: a database driver's DEBUG
    # log has every SQL parameter, and a password typed into the username field.
    caplog.set_level(logging.INFO)
    for ours in ("services", "gateway", "uvicorn"):
        caplog.set_level(logging.DEBUG, logger=ours)
    secret = "very-secret-password-987"
    await platform.make_staff("sre", username="sre.logged")
    await platform.http.post(
        "/v1/admin/staff",
        json={"username": "sre.logs", "role": "sre", "password": secret},
        headers=platform.headers(admin=True),
    )
    await platform.http.post(
        "/v1/staff/token", json={"username": "sre.logs", "password": secret}, headers=platform.headers()
    )
    await platform.http.post(
        "/v1/staff/token", json={"username": secret, "password": secret}, headers=platform.headers()
    )
    assert caplog.records and secret not in caplog.text and ADMIN_PASSWORD not in caplog.text
