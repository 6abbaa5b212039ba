"""Real-name sign-in through the gateway as a citizen meets it: the register
imported by an administrator, a one-time code by SMS (read back from the notify
sandbox), tokens per channel, and nothing that tells who is on the register."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import re
from typing import Any

import httpx
import pytest

from services.identity.domain.id_number import check_character
from tests.e2e.conftest import Platform
from tests.integration.test_notify import eventually

HEADER = (
    "id_number,name,phone,city,household_address,photo_captured_on,fingerprint_on_file,"
    "card_issued_on,card_expires_on,card_status"
)


def number(prefix17: str) -> str:
    return prefix17 + check_character(prefix17)


ZHANG = number("41010519850312123")
OWNER = {"id_number": ZHANG, "name": "张伟"}
WANG = number("46010619780921111")
CSV = "\n".join(
    [
        HEADER,
        f"{ZHANG},张伟,13800138001,zhengzhou,河南省郑州市金水区,2022-05-10,true,2022-05-20,2042-05-20,valid",
        f"{WANG},王强,13900139001,haikou,海南省海口市龙华区,2021-12-01,yes,2021-12-18,2041-12-18,reported_lost",
        f"{ZHANG[:-1]}0,坏行,13800138009,zhengzhou,,,,,,valid",
        f"{number('41010519850312124')},没电话,12345,zhengzhou,,,,,,valid",
        f"{number('41010519850312125')},错状态,13800138010,zhengzhou,,,,,,lost_forever",
    ]
)


async def import_file(platform: Platform, content: bytes, media: str = "text/csv") -> dict[str, Any]:
    """Import a register file as an administrator does: 202 with the job's Location,
    then its status asked for until the job is over."""
    headers = {**platform.headers(admin=True), "Content-Type": media}
    started = await platform.http.post("/v1/admin/residents/import", content=content, headers=headers)
    assert started.status_code == 202, started.text
    where = started.headers["location"]
    assert where == f"/v1/admin/residents/imports/{started.json()['import_id']}"

    async def finished() -> dict[str, Any] | None:
        # A status read that times out (504, or no answer in the client's 10 s) is
        # asked again, as an administrator's client would: seen twice in full runs
        # on PostgreSQL, not yet explained (closing note of session 4).
        try:
            answer = await platform.http.get(where, headers=platform.headers(admin=True))
        except httpx.ReadTimeout:
            return None
        if answer.status_code in (503, 504):
            return None
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        return job if job["state"] in ("done", "failed") else None

    return await eventually(finished)


async def load_register(platform: Platform) -> dict[str, Any]:
    return await import_file(platform, CSV.encode())


async def code_for(platform: Platform, phone: str, already: int = 0) -> str:
    async def arrived() -> list[dict[str, Any]] | None:
        found = (
            await platform.http.get(
                "/v1/sandbox/messages", params={"to": phone}, headers=platform.headers(admin=True)
            )
        ).json()["messages"]
        return found if len(found) > already else None

    body = (await eventually(arrived))[-1]["body"]
    return re.search(r"(?<!\d)\d{6}(?!\d)", body).group(0)  # type: ignore[union-attr]


async def sign_in(platform: Platform, channel: str = "app") -> dict[str, Any]:
    await load_register(platform)
    asked = await platform.http.post(
        "/v1/auth/otp", json={"id_number": ZHANG, "name": "张伟"}, headers=platform.headers(channel)
    )
    assert asked.status_code == 202, asked.text
    code = await code_for(platform, "+8613800138001")
    answer = await platform.http.post(
        "/v1/auth/token",
        json={"id_number": ZHANG, "name": "张伟", "code": code},
        headers=platform.headers(channel),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def bearer(platform: Platform, token: str, channel: str = "app") -> dict[str, str]:
    return {**platform.headers(channel), "Authorization": f"Bearer {token}"}


async def test_import_reports_bad_rows_by_line_and_is_idempotent(platform: Platform) -> None:
    first = await load_register(platform)
    assert (first["state"], first["rows_done"], first["imported"], first["updated"]) == ("done", 5, 2, 0)
    assert first["rows_per_second"] > 0 and first["finished_at"] >= first["started_at"]
    assert [(p["line"], p["field"]) for p in first["rejections"]] == [
        (4, "id_number"),
        (5, "phone"),
        (6, "card_status"),
    ]
    assert first["rejected"] == 3
    assert all(ZHANG[:10] not in p["reason"] for p in first["rejections"])  # no personal data echoed
    again = await load_register(platform)
    assert (again["imported"], again["updated"], again["unchanged"]) == (0, 0, 2)

    # JSON lines; a changed phone is an update; NUL in a name is refused by line.
    as_json = "\n".join(
        [
            json.dumps({"id_number": ZHANG, "name": "张伟", "phone": "13800138002", "city": "zhengzhou"}),
            json.dumps({"id_number": WANG, "name": "王\u0000强", "phone": "13900139001", "city": "haikou"}),
        ]
    )
    answer = await import_file(platform, as_json.encode(), "application/x-ndjson")
    assert (answer["imported"], answer["updated"], answer["rejected"]) == (0, 1, 1), answer
    assert [(p["line"], p["field"]) for p in answer["rejections"]] == [(2, "name")]

    admin = platform.headers(admin=True)
    refused = await platform.http.post(
        "/v1/admin/residents/import", content=b"name\n", headers={**admin, "Content-Type": "text/csv"}
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "missing_columns"), refused.text
    refused = await platform.http.post(
        "/v1/admin/residents/import", content=b"[]", headers={**admin, "Content-Type": "application/json"}
    )
    assert (refused.status_code, refused.json()["field"]) == (415, "Content-Type"), refused.text
    unknown = await platform.http.get("/v1/admin/residents/imports/no-such-import", headers=admin)
    assert unknown.status_code == 404, unknown.text
    refused = await platform.http.post("/v1/admin/residents/import", content=b"x", headers=platform.headers())
    assert refused.status_code == 401


async def test_a_citizen_signs_in_and_sees_themselves_masked(platform: Platform) -> None:
    tokens = await sign_in(platform)
    me = await platform.http.get("/v1/me", headers=bearer(platform, tokens["access_token"]))
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["id_number"] == f"{ZHANG[:6]}********{ZHANG[-4:]}"
    assert body["phone"] == "138****8001"
    assert (body["gender"], body["birth_date"], body["city"]) == ("male", "1985-03-12", "zhengzhou")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 600


async def test_the_answer_to_a_code_request_never_tells_a_match(platform: Platform) -> None:
    await load_register(platform)
    answers = []
    for who in (
        {"id_number": ZHANG, "name": "张伟"},
        {"id_number": ZHANG, "name": "李四"},
        {"id_number": number("11010519491231002"), "name": "无人"},
    ):
        answer = await platform.http.post("/v1/auth/otp", json=who, headers=platform.headers())
        answers.append((answer.status_code, answer.json()))
        platform.identity.auth.clock.now += dt.timedelta(seconds=61)
    assert (
        answers[0]
        == answers[1]
        == answers[2]
        == (202, {"status": "sent_if_matched", "resend_after_seconds": 60})
    )
    sent = await platform.http.get("/v1/sandbox/messages", headers=platform.headers(admin=True))
    assert len(sent.json()["messages"]) == 1  # only the real match got a code


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "id_number_required"),
        ("11010519491231002", "id_number_length"),
        ("110105194912310021", "id_number_check_digit"),
        ("110105190002290010", "id_number_birth_date"),
        ("11010519491231-02X", "id_number_characters"),
    ],
)
async def test_a_malformed_id_number_is_a_400_naming_the_field(
    platform: Platform, raw: str, code: str
) -> None:
    answer = await platform.http.post(
        "/v1/auth/otp", json={"id_number": raw, "name": "x"}, headers=platform.headers()
    )
    assert answer.status_code == 400, answer.text
    assert (answer.json()["code"], answer.json()["field"]) == (code, "id_number")


async def test_codes_expire_die_after_five_wrong_tries_and_are_single_use(platform: Platform) -> None:
    await load_register(platform)
    clock = platform.identity.auth.clock
    headers = platform.headers()
    await platform.http.post("/v1/auth/otp", json={"id_number": ZHANG, "name": "张伟"}, headers=headers)
    code = await code_for(platform, "+8613800138001")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        bad = await platform.http.post(
            "/v1/auth/token", json={"id_number": ZHANG, "name": "张伟", "code": wrong}, headers=headers
        )
        assert (bad.status_code, bad.json()["code"]) == (401, "code_invalid")
    dead = await platform.http.post(
        "/v1/auth/token", json={"id_number": ZHANG, "name": "张伟", "code": code}, headers=headers
    )
    assert dead.status_code == 401  # the right code after five wrong ones: too late

    too_soon = await platform.http.post(
        "/v1/auth/otp", json={"id_number": ZHANG, "name": "张伟"}, headers=headers
    )
    assert too_soon.status_code == 429 and int(too_soon.headers["retry-after"]) <= 60

    clock.now += dt.timedelta(seconds=61)
    await platform.http.post("/v1/auth/otp", json={"id_number": ZHANG, "name": "张伟"}, headers=headers)
    code = await code_for(platform, "+8613800138001", already=1)
    clock.now += dt.timedelta(minutes=5, seconds=1)
    expired = await platform.http.post(
        "/v1/auth/token", json={"id_number": ZHANG, "name": "张伟", "code": code}, headers=headers
    )
    assert expired.status_code == 401

    clock.now += dt.timedelta(seconds=61)
    await platform.http.post("/v1/auth/otp", json={"id_number": ZHANG, "name": "张伟"}, headers=headers)
    code = await code_for(platform, "+8613800138001", already=2)
    ok = await platform.http.post(
        "/v1/auth/token", json={"id_number": ZHANG, "name": "张伟", "code": code}, headers=headers
    )
    assert ok.status_code == 200
    reused = await platform.http.post(
        "/v1/auth/token", json={"id_number": ZHANG, "name": "张伟", "code": code}, headers=headers
    )
    assert reused.status_code == 401


async def test_tokens_are_refused_when_tampered_foreign_expired_or_signed_out(platform: Platform) -> None:
    tokens = await sign_in(platform, "app")
    access = tokens["access_token"]
    assert (await platform.http.get("/v1/me", headers=bearer(platform, access, "app"))).status_code == 200

    header, payload, _ = access.split(".")
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    for forged in (f"{none_header}.{payload}.", f"{header}.{payload}.c2lnbmF0dXJl", "not-a-token"):
        answer = await platform.http.get("/v1/me", headers=bearer(platform, forged))
        assert (answer.status_code, answer.json()["code"]) == (401, "token_invalid")
    wrong_channel = await platform.http.get("/v1/me", headers=bearer(platform, access, "wechat"))
    assert wrong_channel.status_code == 401

    refreshed = await platform.http.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, headers=platform.headers("app")
    )
    assert refreshed.status_code == 200

    platform.identity.auth.clock.now += dt.timedelta(minutes=11)
    expired = await platform.http.get("/v1/me", headers=bearer(platform, refreshed.json()["access_token"]))
    assert expired.status_code == 401
    platform.identity.auth.clock.now -= dt.timedelta(minutes=11)

    fresh = refreshed.json()["access_token"]
    assert (await platform.http.post("/v1/auth/logout", headers=bearer(platform, fresh))).status_code == 204
    after = await platform.http.get("/v1/me", headers=bearer(platform, fresh))
    assert (after.status_code, after.json()["code"]) == (401, "session_ended")
    stale = await platform.http.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, headers=platform.headers("app")
    )
    assert stale.status_code == 401  # a refresh token works once (a reuse ends the session: see
    # tests/e2e/test_gateway_tokens.py)


async def test_a_citizen_reads_only_their_own_inbox(platform: Platform) -> None:

    tokens = await sign_in(platform)
    mine = tokens["citizen_id"]
    for citizen in (mine, "someone-else"):
        await platform.notify.notifier.send(
            citizen_id=citizen,
            template="card_delivered",
            variables={"application_id": "A1"},
            city_code="zhengzhou",
            source_key=f"inbox-{citizen}",
        )
    inbox = await platform.http.get("/v1/me/messages", headers=bearer(platform, tokens["access_token"]))
    assert inbox.status_code == 200, inbox.text
    assert [m["template"] for m in inbox.json()["messages"]] == ["card_delivered"]
    assert "A1" in inbox.json()["messages"][0]["body"]


async def test_one_code_opens_one_session_even_when_sent_twice_at_once(platform: Platform) -> None:
    await load_register(platform)
    await platform.http.post(
        "/v1/auth/otp", json={"id_number": ZHANG, "name": "张伟"}, headers=platform.headers()
    )
    code = await code_for(platform, "+8613800138001")
    attempt = {"id_number": ZHANG, "name": "张伟", "code": code}
    answers = await asyncio.gather(
        *(platform.http.post("/v1/auth/token", json=attempt, headers=platform.headers()) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [200, 401, 401, 401]


async def test_a_stranger_asking_with_a_wrong_name_does_not_cancel_the_owners_code(
    platform: Platform,
) -> None:
    await load_register(platform)
    clock = platform.identity.auth.clock
    await platform.http.post(
        "/v1/auth/otp", json={"id_number": ZHANG, "name": "张伟"}, headers=platform.headers()
    )
    code = await code_for(platform, "+8613800138001")
    clock.now += dt.timedelta(seconds=61)
    stranger = await platform.http.post(
        "/v1/auth/otp", json={"id_number": ZHANG, "name": "冒名"}, headers=platform.headers()
    )
    assert stranger.status_code == 202
    ok = await platform.http.post(
        "/v1/auth/token", json={"id_number": ZHANG, "name": "张伟", "code": code}, headers=platform.headers()
    )
    assert ok.status_code == 200, ok.text
