"""The adapters and rules of channel binding and face verification, without a
database: WeChat's OAuth answers (real adapter against a mock transport, and the
sandbox), device signatures, the face sandbox, and the settings that guard them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import SecretStr

from services.identity.adapters.device_keys import Ed25519Keys
from services.identity.adapters.face import SandboxFaceVerifier
from services.identity.adapters.wechat import (
    ACCESS_TOKEN_URL,
    HttpWeChatOAuth,
    SandboxWeChatOAuth,
    WeChatApp,
    parse_apps,
)
from services.identity.config import IdentitySettings
from services.identity.domain import channels
from services.identity.service_layer.channel_ports import ProviderUnavailable
from services.runtime.errors import ProblemError

APPS = {"haikou": WeChatApp("wx-haikou", "s3cret-haikou")}


def wechat(handler: httpx.MockTransport) -> HttpWeChatOAuth:
    return HttpWeChatOAuth(APPS, client=httpx.AsyncClient(transport=handler))


async def test_wechat_gives_the_openid_of_the_code_with_the_citys_account() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": "AT", "openid": "oABC123", "scope": "snsapi_base"})

    assert await wechat(httpx.MockTransport(answer)).exchange("haikou", "CODE1") == "oABC123"
    [request] = seen
    assert str(request.url).startswith(ACCESS_TOKEN_URL)
    assert dict(request.url.params) == {
        "appid": "wx-haikou",
        "secret": "s3cret-haikou",
        "code": "CODE1",
        "grant_type": "authorization_code",
    }


@pytest.mark.parametrize("errcode", [40029, 40163, 41008, 42003])
async def test_a_code_wechat_refuses_is_the_citizens_problem(errcode: int) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(200, json={"errcode": errcode, "errmsg": "x"}))
    with pytest.raises(ProblemError) as refused:
        await wechat(transport).exchange("haikou", "CODE1")
    assert (refused.value.code, refused.value.field) == ("wechat_code_invalid", "code")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"errcode": -1, "errmsg": "system busy"}),
        httpx.Response(200, json={"errcode": 40013, "errmsg": "invalid appid"}),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, text="<html>"),
        httpx.Response(200, json=["not", "an", "object"]),
    ],
)
async def test_wechat_failing_is_retryable_and_names_no_secret(response: httpx.Response) -> None:
    with pytest.raises(ProviderUnavailable) as failed:
        await wechat(httpx.MockTransport(lambda _: response)).exchange("haikou", "CODE1")
    assert "s3cret" not in str(failed.value) and "CODE1" not in str(failed.value)


async def test_wechat_unreachable_is_retryable() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ProviderUnavailable):
        await wechat(httpx.MockTransport(down)).exchange("haikou", "CODE1")


async def test_a_city_without_an_account_is_refused_before_any_call() -> None:
    with pytest.raises(ProblemError) as refused:
        await wechat(httpx.MockTransport(lambda _: pytest.fail("no call"))).exchange("sanya", "CODE1")
    assert (refused.value.code, refused.value.field) == ("wechat_city_unknown", "city")


def test_the_apps_setting_is_read_and_a_bad_one_is_refused_without_echo() -> None:
    apps = parse_apps(json.dumps({"haikou": {"appid": "wx1", "secret": "s1"}}))
    assert apps == {"haikou": WeChatApp("wx1", "s1")}
    with pytest.raises(ValueError) as bad:
        parse_apps('{"haikou": {"appid": "wx1", "secret-typo": "topsecret"}}')
    assert "topsecret" not in str(bad.value)


def test_http_wechat_needs_its_apps() -> None:
    with pytest.raises(ValueError, match="MINTONG_WECHAT_APPS"):
        IdentitySettings(wechat_oauth="http")
    assert IdentitySettings(wechat_oauth="http", wechat_apps=SecretStr("{}")).wechat_oauth == "http"


async def test_the_wechat_sandbox_is_one_user_per_code_prefix_and_each_code_works_once() -> None:
    sandbox = SandboxWeChatOAuth()
    first = await sandbox.exchange("haikou", "alice.1")
    assert first.startswith("sandbox-")
    assert await sandbox.exchange("haikou", "alice.2") == first
    assert await sandbox.exchange("zhengzhou", "alice.3") != first  # another official account
    assert await sandbox.exchange("haikou", "bob") != first
    with pytest.raises(ProblemError):
        await sandbox.exchange("haikou", "alice.1")
    sandbox.unavailable = 1
    with pytest.raises(ProviderUnavailable):
        await sandbox.exchange("haikou", "alice.9")
    assert len(sandbox.calls) == 6


def test_a_device_signature_verifies_only_for_its_key_and_message() -> None:
    keys = Ed25519Keys()
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    keys.check_public_key(public)
    message = channels.device_message("nonce-1", "ios-12345678")
    assert message == b"mintong-device-signin/v1\nnonce-1\nios-12345678"
    signature = private.sign(message)
    assert keys.verify(public, signature, message)
    assert not keys.verify(public, signature, channels.device_message("nonce-2", "ios-12345678"))
    assert not keys.verify(public, signature[:-1], message)
    assert not keys.verify(b"short", signature, message)
    for bad in (b"", b"x" * 31, b"x" * 33):
        with pytest.raises(ProblemError) as refused:
            keys.check_public_key(bad)
        assert refused.value.field == "public_key"


@pytest.mark.parametrize("raw", ["short", "x" * 129, "has space-123", "ünïcode-1234", ""])
def test_a_malformed_device_id_is_refused(raw: str) -> None:
    with pytest.raises(ProblemError) as refused:
        channels.device_id(raw)
    assert refused.value.field == "device_id"


async def test_the_face_sandbox_follows_its_script_then_the_token() -> None:
    face = SandboxFaceVerifier()
    face.script("no_match")
    assert not (await face.compare(id_number="X", name="n", liveness_token="ok")).matched
    assert (await face.compare(id_number="X", name="n", liveness_token="ok")).matched
    assert not (await face.compare(id_number="X", name="n", liveness_token="no-match-1")).matched
    with pytest.raises(ProviderUnavailable):
        await face.compare(id_number="X", name="n", liveness_token="provider-error")
    outcome = await face.compare(id_number="X", name="n", liveness_token="ok")
    assert outcome.provider_ref.startswith("sandbox-") and len(face.requests) == 5


def test_declining_face_points_to_the_window_business_of_the_catalogue() -> None:
    alternative = channels.window_alternative("haikou")
    assert (alternative.kind, alternative.business_code, alternative.city_code) == (
        "window_appointment",
        "ID_CARD_RENEWAL",
        "haikou",
    )


def test_every_demo_city_offers_the_window_business_declining_face_points_to() -> None:
    catalogue = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "deploy/demo/catalogue.yaml").read_text()
    )
    for city in catalogue["cities"]:
        offered = {b["code"]: b for b in city["businesses"]}
        business = offered[channels.WINDOW_REPLACEMENT_BUSINESS]
        assert business["handling"] in ("window", "online_or_window"), city["code"]
