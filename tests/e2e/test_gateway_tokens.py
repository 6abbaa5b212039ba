"""Access tokens checked by the gateway itself (identity's public keys, no call per
request) and revoked at once for every gateway process: a signed-out session is
refused by a second gateway as soon as the revocation bucket tells it, and by a
gateway started after the sign-out from its first request (a "try again" until it has
read the revocations, never a pass); tokens with an unknown
key id, of a retired key or altered are refused; a rotation keeps the old key's
tokens working until they expire; a refresh token used twice ends its session."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from gateway.app import create_app
from gateway.config import GatewaySettings
from services.runtime.access_tokens import key_id
from tests.e2e.conftest import Platform
from tests.e2e.test_identity import bearer, sign_in


@contextlib.asynccontextmanager
async def gateway(settings: GatewaySettings, clock: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """Another gateway process's worth: its own app, key cache and bucket watch."""
    app = create_app(settings, clock=clock)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", proxy_headers=False))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=10
        ) as http:
            yield http, app
    finally:
        server.should_exit = True
        await task
        sock.close()


def session_of(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["sid"])


async def me(http: httpx.AsyncClient, platform: Platform, token: str) -> httpx.Response:
    return await http.get("/v1/me", headers=bearer(platform, token, "app"))


async def test_a_signed_out_token_is_refused_by_every_gateway_and_one_started_after(
    platform: Platform, clock: Any
) -> None:
    token = (await sign_in(platform, "app"))["access_token"]
    async with gateway(platform.settings, clock) as (second, second_app):
        assert (await me(second, platform, token)).status_code == 200  # no call to identity needed
        assert (
            await platform.http.post("/v1/auth/logout", headers=bearer(platform, token))
        ).status_code == 204
        # The gateway that signed it out refuses it at once ...
        first = await me(platform.http, platform, token)
        assert (first.status_code, first.json()["code"]) == (401, "session_ended")
        # ... the other when the bucket has told it (a moment: identity's outbox → NATS).
        await asyncio.wait_for(second_app.state.tokens.revoked.wait_for(session_of(token)), 10)
        refused = await me(second, platform, token)
        assert (refused.status_code, refused.json()["code"]) == (401, "session_ended")
    # A gateway started after the sign-out reads the bucket before it checks a token:
    # until it has, it says to try again (503 with Retry-After; on a busy machine the
    # read can take longer than its half-second wait), never that the token is good.
    async with gateway(platform.settings, clock) as (late, _):
        for _ in range(50):
            refused = await me(late, platform, token)
            if refused.json().get("code") != "sessions_unavailable":
                break
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
            await asyncio.sleep(0.1)
        assert (refused.status_code, refused.json()["code"]) == (401, "session_ended")


async def test_a_disabled_staff_member_is_refused_by_another_gateway(platform: Platform, clock: Any) -> None:
    clerk = await platform.make_staff("reviewer")
    token = clerk["Authorization"].removeprefix("Bearer ")
    async with gateway(platform.settings, clock) as (second, second_app):
        assert (await second.get("/v1/staff/me", headers=clerk)).status_code == 200
        staff_id = (await second.get("/v1/staff/me", headers=clerk)).json()["staff_id"]
        off = await platform.http.put(
            f"/v1/admin/staff/{staff_id}/active", json={"active": False}, headers=platform.headers(admin=True)
        )
        assert off.status_code == 200, off.text
        await asyncio.wait_for(second_app.state.tokens.revoked.wait_for(session_of(token)), 10)
        refused = await second.get("/v1/staff/me", headers=clerk)
        assert (refused.status_code, refused.json()["code"]) == (401, "session_ended")


def forged(claims: dict[str, Any], key: Ed25519PrivateKey, kid: str | None = None) -> str:
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid or key_id(key.public_key())})


async def test_unknown_key_ids_altered_expired_and_foreign_tokens_are_refused(
    platform: Platform, clock: Any
) -> None:
    tokens = await sign_in(platform, "web")
    token = tokens["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    header = jwt.get_unverified_header(token)
    stranger = Ed25519PrivateKey.generate()
    _, payload, signature = token.split(".")
    raised = {**claims, "sub": "someone-else"}
    altered = base64.urlsafe_b64encode(json.dumps(raised).encode()).rstrip(b"=").decode()
    hs256 = jwt.encode(
        claims, "a-shared-secret-of-32-characters!", algorithm="HS256", headers={"kid": header["kid"]}
    )
    for bad in (
        forged(claims, stranger),  # a key id identity never had
        forged(claims, stranger, kid=header["kid"]),  # our key id, another key
        f"{token.split('.')[0]}.{altered}.{signature}",
        f"{token.split('.')[0]}.{payload}.c2lnbmF0dXJl",
        hs256,  # the algorithm swapped
        forged({**claims, "aud": "app"}, stranger, kid=header["kid"]),
    ):
        refused = await platform.http.get("/v1/me", headers=bearer(platform, bad, "web"))
        assert (refused.status_code, refused.json()["code"]) == (401, "token_invalid"), bad
    other_channel = await platform.http.get("/v1/me", headers=bearer(platform, token, "wechat"))
    assert (other_channel.status_code, other_channel.json()["code"]) == (401, "token_invalid")
    clock.now += dt.timedelta(minutes=10)
    try:
        expired = await platform.http.get("/v1/me", headers=bearer(platform, token, "web"))
        assert (expired.status_code, expired.json()["detail"]) == (401, "The token has expired; refresh it.")
    finally:
        clock.now -= dt.timedelta(minutes=10)


async def test_a_rotation_keeps_the_old_keys_tokens_until_they_expire_and_not_after_its_retirement(
    platform: Platform, clock: Any, make_settings: Callable[..., Any], tmp_path: Any
) -> None:
    from services.identity import bootstrap as identity
    from services.identity.config import IdentitySettings

    old_token = (await sign_in(platform, "app"))["access_token"]
    old_key = platform.settings.data_dir / "token-signing-key.pem"  # dev mode's, made by identity
    new_key = tmp_path / f"{uuid.uuid4().hex}.pem"
    new_key.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )

    async def identity_with(keys: str) -> Any:
        made = identity.build(
            make_settings(
                IdentitySettings,
                token_signing_keys=keys,
                notify_grpc_target=platform.settings.notify_grpc_target,
                booking_grpc_target=platform.settings.booking_grpc_target,
            ),
            clock=clock,
        )
        await made.host.start(port=0)
        return made

    rotated = await identity_with(f"{new_key},{old_key}")  # the new key signs, the old one is kept
    retired = await identity_with(str(new_key))  # the old key dropped
    try:
        async with gateway(
            platform.settings.model_copy(update={"identity_grpc_target": f"127.0.0.1:{rotated.host.port}"}),
            clock,
        ) as (after_rotation, _):
            assert (await me(after_rotation, platform, old_token)).status_code == 200
            clock.now += dt.timedelta(minutes=10)  # the old token's lifetime is over
            try:
                expired = await me(after_rotation, platform, old_token)
                assert (expired.status_code, expired.json()["code"]) == (401, "token_invalid")
            finally:
                clock.now -= dt.timedelta(minutes=10)
        async with gateway(
            platform.settings.model_copy(update={"identity_grpc_target": f"127.0.0.1:{retired.host.port}"}),
            clock,
        ) as (after_retirement, _):
            refused = await me(after_retirement, platform, old_token)
            assert (refused.status_code, refused.json()["code"]) == (401, "token_invalid")
    finally:
        await rotated.host.stop()
        await retired.host.stop()


async def test_a_refresh_token_used_twice_ends_the_session_everywhere(platform: Platform) -> None:
    tokens = await sign_in(platform, "app")
    refreshed = await platform.http.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, headers=platform.headers("app")
    )
    assert refreshed.status_code == 200, refreshed.text
    # The spent refresh token again: copied, by a thief or from its owner. Neither copy
    # may go on: the session ends, and with it the tokens refreshed from it.
    reused = await platform.http.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, headers=platform.headers("app")
    )
    assert (reused.status_code, reused.json()["code"]) == (401, "session_invalid")
    await platform.revocation_seen(refreshed.json()["access_token"])
    refused = await me(platform.http, platform, refreshed.json()["access_token"])
    assert (refused.status_code, refused.json()["code"]) == (401, "session_ended")
    again = await platform.http.post(
        "/v1/auth/refresh",
        json={"refresh_token": refreshed.json()["refresh_token"]},
        headers=platform.headers("app"),
    )
    assert (again.status_code, again.json()["code"]) == (401, "session_invalid")
