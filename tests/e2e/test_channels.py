"""One citizen on every channel, through the gateway: a WeChat openid and an APP
device bound after a real-name sign-in lead back, in one step, to the same citizen;
face verification raises a session's assurance, and declining it names the way round."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from mintong.common.v1 import common_pb2
from mintong.identity.v1 import identity_pb2, identity_pb2_grpc
from services.identity.adapters import orm
from services.runtime import audit
from tests.e2e.conftest import Platform
from tests.e2e.test_identity import WANG, ZHANG, bearer, code_for, load_register

PHONES = {ZHANG: ("张伟", "+8613800138001"), WANG: ("王强", "+8613900139001")}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def otp_sign_in(platform: Platform, channel: str, who: str = ZHANG, already: int = 0) -> dict[str, Any]:
    """A real-name sign-in; ``already`` codes went to that phone before."""
    name, phone = PHONES[who]
    if already:
        platform.identity.auth.clock.now += dt.timedelta(seconds=61)  # the resend wait
    asked = await platform.http.post(
        "/v1/auth/otp", json={"id_number": who, "name": name}, headers=platform.headers(channel)
    )
    assert asked.status_code == 202, asked.text
    code = await code_for(platform, phone, already)
    answer = await platform.http.post(
        "/v1/auth/token",
        json={"id_number": who, "name": name, "code": code},
        headers=platform.headers(channel),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def bind_wechat(platform: Platform, token: str, code: str, city: str = "haikou") -> Any:
    return await platform.http.post(
        "/v1/me/bindings/wechat", json={"city": city, "code": code}, headers=bearer(platform, token, "wechat")
    )


async def wechat_sign_in(platform: Platform, code: str, channel: str = "wechat", city: str = "haikou") -> Any:
    return await platform.http.post(
        "/v1/auth/wechat", json={"city": city, "code": code}, headers=platform.headers(channel)
    )


async def test_a_bound_wechat_user_signs_in_in_one_step_as_the_same_citizen(platform: Platform) -> None:
    await load_register(platform)
    on_web = await otp_sign_in(platform, "web")
    on_wechat = await otp_sign_in(platform, "wechat", already=1)

    unbound = await wechat_sign_in(platform, "zhang.0")
    assert (unbound.status_code, unbound.json()["code"], unbound.json()["field"]) == (
        401,
        "not_bound",
        "code",
    )

    bound = await bind_wechat(platform, on_wechat["access_token"], "zhang.1")
    assert bound.status_code == 201, bound.text
    assert (bound.json()["kind"], bound.json()["city"], bound.json()["last_used_at"]) == (
        "wechat",
        "haikou",
        None,
    )
    again = await bind_wechat(platform, on_wechat["access_token"], "zhang.2")  # the same WeChat user
    assert (again.status_code, again.json()["id"]) == (200, bound.json()["id"])

    one_step = await wechat_sign_in(platform, "zhang.3")
    assert one_step.status_code == 200, one_step.text
    tokens = one_step.json()
    assert tokens["citizen_id"] == on_web["citizen_id"] == on_wechat["citizen_id"]
    assert set(tokens) >= {"access_token", "refresh_token", "expires_in"}
    me = await platform.http.get("/v1/me", headers=bearer(platform, tokens["access_token"], "wechat"))
    assert (me.status_code, me.json()["citizen_id"]) == (200, on_web["citizen_id"])
    # The token is for WeChat only, like any other token issued there.
    other = await platform.http.get("/v1/me", headers=bearer(platform, tokens["access_token"], "app"))
    assert other.status_code == 401

    reused = await wechat_sign_in(platform, "zhang.3")  # WeChat's codes work once
    assert (reused.status_code, reused.json()["code"]) == (401, "wechat_code_invalid")
    other_city = await wechat_sign_in(platform, "zhang.4", city="zhengzhou")  # another official account
    assert other_city.status_code == 401

    listed = await platform.http.get(
        "/v1/me/bindings", headers=bearer(platform, on_web["access_token"], "web")
    )
    assert [b["id"] for b in listed.json()["bindings"]] == [bound.json()["id"]]
    assert listed.json()["bindings"][0]["last_used_at"] is not None

    # Nothing in the table says who the WeChat user is.
    async with platform.identity.db.read() as conn:
        rows = (await conn.execute(select(orm.bindings))).all()
    assert rows and all("sandbox-" not in str(tuple(row)) for row in rows)  # sandbox openids begin so


async def test_a_wechat_binding_signs_in_on_the_wechat_channel_only(platform: Platform) -> None:
    await load_register(platform)
    on_web = await otp_sign_in(platform, "web")
    from_web = await platform.http.post(
        "/v1/me/bindings/wechat",
        json={"city": "haikou", "code": "zhang.1"},
        headers=bearer(platform, on_web["access_token"], "web"),
    )
    assert (from_web.status_code, from_web.json()["code"]) == (403, "wrong_channel")

    on_wechat = await otp_sign_in(platform, "wechat", already=1)
    assert (await bind_wechat(platform, on_wechat["access_token"], "zhang.2")).status_code == 201
    on_app = await wechat_sign_in(platform, "zhang.3", channel="app")
    assert (on_app.status_code, on_app.json()["code"], on_app.json()["field"]) == (
        403,
        "wrong_channel",
        "X-Mintong-Channel",
    )


async def test_an_openid_bound_to_another_citizen_is_a_409_and_bindings_are_private(
    platform: Platform,
) -> None:
    await load_register(platform)
    zhang = await otp_sign_in(platform, "wechat", ZHANG)
    wang = await otp_sign_in(platform, "wechat", WANG)
    mine = await bind_wechat(platform, zhang["access_token"], "shared-phone.1")
    assert mine.status_code == 201

    taken = await bind_wechat(platform, wang["access_token"], "shared-phone.2")
    assert (taken.status_code, taken.json()["code"], taken.json()["field"]) == (409, "already_bound", "code")

    theirs = await platform.http.get(
        "/v1/me/bindings", headers=bearer(platform, wang["access_token"], "wechat")
    )
    assert theirs.json()["bindings"] == []
    removed = await platform.http.delete(
        f"/v1/me/bindings/{mine.json()['id']}", headers=bearer(platform, wang["access_token"], "wechat")
    )
    assert (removed.status_code, removed.json()["code"]) == (404, "binding_not_found")
    assert (await wechat_sign_in(platform, "shared-phone.3")).json()["citizen_id"] == zhang["citizen_id"]


async def test_removing_a_binding_stops_one_step_sign_in_and_ends_its_sessions(platform: Platform) -> None:
    await load_register(platform)
    on_wechat = await otp_sign_in(platform, "wechat")
    bound = await bind_wechat(platform, on_wechat["access_token"], "zhang.1")
    through_it = (await wechat_sign_in(platform, "zhang.2")).json()["access_token"]

    removed = await platform.http.delete(
        f"/v1/me/bindings/{bound.json()['id']}", headers=bearer(platform, on_wechat["access_token"], "wechat")
    )
    assert removed.status_code == 204
    after = await wechat_sign_in(platform, "zhang.3")
    assert (after.status_code, after.json()["code"]) == (401, "not_bound")
    await platform.revocation_seen(through_it)  # identity's outbox → NATS → the gateway
    ended = await platform.http.get("/v1/me", headers=bearer(platform, through_it, "wechat"))
    assert (ended.status_code, ended.json()["code"]) == (401, "session_ended")
    # The session that signed in with a code is not the binding's: it goes on.
    assert (
        await platform.http.get("/v1/me", headers=bearer(platform, on_wechat["access_token"], "wechat"))
    ).status_code == 200

    async with platform.identity.db.read() as conn:
        actions = [r.action for r in (await conn.execute(select(orm.audit).order_by(orm.audit.c.seq))).all()]
        assert (await audit.verify(conn, orm.audit)).ok
    assert actions.count("binding.add") == 1 and actions.count("binding.remove") == 1


async def test_wechat_being_down_is_a_503_naming_the_provider(platform: Platform) -> None:
    platform.identity.wechat.unavailable = 1
    answer = await wechat_sign_in(platform, "zhang.1")
    assert (answer.status_code, answer.json()["code"]) == (503, "wechat_unavailable")
    assert answer.headers["content-type"] == "application/problem+json"
    assert int(answer.headers["retry-after"]) > 0


async def device_sign_in(
    platform: Platform, device: str, key: Ed25519PrivateKey, channel: str = "app"
) -> Any:
    challenge = await platform.http.post(
        "/v1/auth/device/challenge", json={"device_id": device}, headers=platform.headers(channel)
    )
    assert challenge.status_code == 200, challenge.text
    nonce = challenge.json()["nonce"]
    signature = key.sign(f"mintong-device-signin/v1\n{nonce}\n{device}".encode())
    return nonce, signature


async def test_a_bound_device_signs_in_with_a_signed_nonce_used_once(platform: Platform) -> None:
    await load_register(platform)
    on_app = await otp_sign_in(platform, "app")
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    device = "ios-7f3a2b1c-4d5e"
    bound = await platform.http.post(
        "/v1/me/bindings/app",
        json={"device_id": device, "public_key": b64(public), "label": "张伟的 iPhone"},
        headers=bearer(platform, on_app["access_token"], "app"),
    )
    assert bound.status_code == 201, bound.text
    assert (bound.json()["kind"], bound.json()["label"]) == ("app", "张伟的 iPhone")

    nonce, signature = await device_sign_in(platform, device, key)
    proof = {"device_id": device, "nonce": nonce, "signature": b64(signature)}
    signed_in = await platform.http.post("/v1/auth/device", json=proof, headers=platform.headers("app"))
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["citizen_id"] == on_app["citizen_id"]
    me = await platform.http.get("/v1/me", headers=bearer(platform, signed_in.json()["access_token"], "app"))
    assert me.status_code == 200

    replayed = await platform.http.post("/v1/auth/device", json=proof, headers=platform.headers("app"))
    assert (replayed.status_code, replayed.json()["code"]) == (401, "device_signin_invalid")

    nonce, _ = await device_sign_in(platform, device, key)
    forged = Ed25519PrivateKey.generate().sign(f"mintong-device-signin/v1\n{nonce}\n{device}".encode())
    wrong = await platform.http.post(
        "/v1/auth/device",
        json={"device_id": device, "nonce": nonce, "signature": b64(forged)},
        headers=platform.headers("app"),
    )
    assert (wrong.status_code, wrong.json()["code"]) == (401, "device_signin_invalid")
    # The nonce died with the wrong try: the right signature comes too late.
    late = await platform.http.post(
        "/v1/auth/device",
        json={
            "device_id": device,
            "nonce": nonce,
            "signature": b64(key.sign(f"mintong-device-signin/v1\n{nonce}\n{device}".encode())),
        },
        headers=platform.headers("app"),
    )
    assert late.status_code == 401

    nonce, signature = await device_sign_in(platform, device, key)
    platform.identity.auth.clock.now += dt.timedelta(seconds=61)
    expired = await platform.http.post(
        "/v1/auth/device",
        json={"device_id": device, "nonce": nonce, "signature": b64(signature)},
        headers=platform.headers("app"),
    )
    assert expired.status_code == 401

    nonce, signature = await device_sign_in(platform, device, key)
    other_device = await platform.http.post(
        "/v1/auth/device",
        json={"device_id": "android-0000-1111", "nonce": nonce, "signature": b64(signature)},
        headers=platform.headers("app"),
    )
    assert other_device.status_code == 401

    on_wechat = await platform.http.post(
        "/v1/auth/device/challenge", json={"device_id": device}, headers=platform.headers("wechat")
    )
    assert (on_wechat.status_code, on_wechat.json()["code"]) == (403, "wrong_channel")


async def test_device_binding_refuses_bad_keys_and_other_channels(platform: Platform) -> None:
    await load_register(platform)
    on_app = await otp_sign_in(platform, "app")
    headers = bearer(platform, on_app["access_token"], "app")
    short = await platform.http.post(
        "/v1/me/bindings/app",
        json={"device_id": "ios-12345678", "public_key": b64(b"x" * 31)},
        headers=headers,
    )
    assert (short.status_code, short.json()["code"], short.json()["field"]) == (
        400,
        "invalid_public_key",
        "public_key",
    )
    bad = await platform.http.post(
        "/v1/me/bindings/app", json={"device_id": "ios-12345678", "public_key": "a"}, headers=headers
    )
    assert (bad.status_code, bad.json()["field"]) == (400, "public_key")
    on_web = await otp_sign_in(platform, "web", already=1)
    key = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    from_web = await platform.http.post(
        "/v1/me/bindings/app",
        json={"device_id": "ios-12345678", "public_key": b64(key)},
        headers=bearer(platform, on_web["access_token"], "web"),
    )
    assert (from_web.status_code, from_web.json()["code"]) == (403, "wrong_channel")


async def authenticate(
    platform: Platform, token: str, channel: common_pb2.Channel
) -> identity_pb2.AuthenticateResponse:
    """What another service (cards) learns of a session from identity."""
    async with grpc.aio.insecure_channel(platform.settings.identity_grpc_target or "") as conn:
        stub = identity_pb2_grpc.IdentityServiceStub(conn)
        return await stub.Authenticate(identity_pb2.AuthenticateRequest(access_token=token, channel=channel))


async def test_a_face_match_raises_the_sessions_assurance_for_a_while(platform: Platform) -> None:
    await load_register(platform)
    tokens = await otp_sign_in(platform, "wechat")
    token = tokens["access_token"]
    before = await authenticate(platform, token, common_pb2.CHANNEL_WECHAT)
    assert (before.assurance_level, before.HasField("assurance_expires_at")) == ("otp", False)

    verified = await platform.http.post(
        "/v1/me/face-verification",
        json={"liveness_token": "live-1"},
        headers=bearer(platform, token, "wechat"),
    )
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert (body["result"], body["assurance_level"], body["failures_left"]) == ("match", "face", 3)
    [asked] = platform.identity.face_verifier.requests
    assert (asked.id_number, asked.name, asked.liveness_token) == (ZHANG, "张伟", "live-1")

    after = await authenticate(platform, token, common_pb2.CHANNEL_WECHAT)
    assert after.assurance_level == "face"
    assert after.assurance_expires_at.ToDatetime(dt.UTC) == dt.datetime.fromisoformat(
        body["assurance_expires_at"]
    )

    # The level belongs to the session: a refreshed token keeps it until it lapses.
    platform.identity.auth.clock.now += dt.timedelta(minutes=9)
    refreshed = await platform.http.post(
        "/v1/auth/refresh",
        json={"refresh_token": tokens["refresh_token"]},
        headers=platform.headers("wechat"),
    )
    token = refreshed.json()["access_token"]
    assert (await authenticate(platform, token, common_pb2.CHANNEL_WECHAT)).assurance_level == "face"
    platform.identity.auth.clock.now += dt.timedelta(minutes=7)
    lapsed = await authenticate(platform, token, common_pb2.CHANNEL_WECHAT)
    assert lapsed.assurance_level == "otp"


async def test_face_no_match_provider_errors_and_too_many_failures_are_answered(platform: Platform) -> None:
    await load_register(platform)
    tokens = await otp_sign_in(platform, "app")
    headers = bearer(platform, tokens["access_token"], "app")
    face = platform.identity.face_verifier
    face.script("no_match", "provider_error", "no_match", "no_match")

    async def attempt() -> Any:
        return await platform.http.post(
            "/v1/me/face-verification", json={"liveness_token": "t"}, headers=headers
        )

    first = await attempt()
    assert first.status_code == 200, first.text
    assert (first.json()["result"], first.json()["assurance_level"], first.json()["failures_left"]) == (
        "no_match",
        "otp",
        2,
    )
    down = await attempt()
    assert (down.status_code, down.json()["code"]) == (503, "face_provider_unavailable")
    assert down.headers["content-type"] == "application/problem+json" and "retry-after" in down.headers
    assert [(await attempt()).json()["failures_left"] for _ in range(2)] == [1, 0]  # errors did not count
    refused = await attempt()
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert len(face.requests) == 4  # the provider was not asked again

    platform.identity.auth.clock.now += dt.timedelta(days=1, seconds=1)
    refreshed = await platform.http.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, headers=platform.headers("app")
    )
    headers = bearer(platform, refreshed.json()["access_token"], "app")
    assert (await attempt()).json()["result"] == "match"

    empty = await platform.http.post(
        "/v1/me/face-verification", json={"liveness_token": " "}, headers=headers
    )
    assert (empty.status_code, empty.json()["field"]) == (400, "liveness_token")

    async with platform.identity.db.read() as conn:
        results = [
            r.detail
            for r in (await conn.execute(select(orm.audit).where(orm.audit.c.action == "face.verify"))).all()
        ]
    assert len(results) == 5 and all(ZHANG not in d for d in results)


async def test_declining_face_recognition_names_the_window_appointment(platform: Platform) -> None:
    await load_register(platform)
    token = (await otp_sign_in(platform, "wechat", WANG))["access_token"]
    declined = await platform.http.post(
        "/v1/me/face-verification/decline", headers=bearer(platform, token, "wechat")
    )
    assert declined.status_code == 200, declined.text
    alternative = declined.json()["alternative"]
    assert (alternative["kind"], alternative["business"], alternative["city"]) == (
        "window_appointment",
        "ID_CARD_RENEWAL",
        "haikou",
    )
    unsigned = await platform.http.post(
        "/v1/me/face-verification/decline", headers=platform.headers("wechat")
    )
    assert unsigned.status_code == 401
