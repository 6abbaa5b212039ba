"""Production never runs on a sandbox unannounced (issue 9, item 10).

With MINTONG_ENV=prod every service's settings refuse a sandbox provider that
MINTONG_ALLOW_SANDBOX does not name; the gateway serves no sandbox route there;
the face provider "off" refuses every comparison. The loud start and the notify
side (no sandbox listing in prod, channels set "off" left out of routes) are in
tests/integration/test_sandboxes.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from gateway.app import create_app
from gateway.config import GatewaySettings
from services.identity.adapters.face import FaceVerificationOff
from services.identity.config import IdentitySettings
from services.notify.config import NotifySettings
from services.runtime.errors import Kind, ProblemError
from services.runtime.pii import PiiCipher

KEYS = {"pii_keys": PiiCipher.generate_key(), "pii_lookup_key": PiiCipher.generate_key()}
# Settings from keyword arguments, as pydantic parses them from the environment.
IDENTITY_PROD: dict[str, Any] = {"env": "prod", "token_signing_keys": "unused-in-this-test", **KEYS}
NOTIFY_PROD: dict[str, Any] = {"env": "prod", **KEYS}
REAL_SMS: dict[str, Any] = {
    "notify_sms_provider": "http",
    "notify_sms_url": "https://sms.example.test/v1/messages",
    "notify_sms_key_id": "k1",
    "notify_sms_secret": "s" * 32,
}


def test_development_runs_on_sandboxes_by_default() -> None:
    assert IdentitySettings().sandboxes() == {"face", "wechat_oauth"}
    assert NotifySettings().sandboxes() == {"sms", "wechat", "app_push"}


def test_production_refuses_every_sandbox_it_is_not_told_about() -> None:
    with pytest.raises(ValidationError, match="sandbox provider\\(s\\) face, wechat_oauth"):
        IdentitySettings(**IDENTITY_PROD)
    with pytest.raises(ValidationError, match="sandbox provider\\(s\\) app_push, sms, wechat"):
        NotifySettings(**NOTIFY_PROD)
    # Allowing one is not allowing the others.
    with pytest.raises(ValidationError, match="sandbox provider\\(s\\) wechat_oauth"):
        IdentitySettings(**IDENTITY_PROD, allow_sandbox=frozenset({"face"}))


def test_production_starts_on_real_or_switched_off_providers() -> None:
    identity = IdentitySettings(
        **IDENTITY_PROD,
        wechat_oauth="http",
        wechat_apps=SecretStr('{"haikou": {"appid": "wx1", "secret": "s"}}'),
        face_provider="off",
    )
    assert identity.sandboxes() == frozenset()
    notify = NotifySettings(
        **NOTIFY_PROD,
        **REAL_SMS,
        notify_wechat_provider="off",
        notify_app_push_provider="off",
    )
    assert notify.sandboxes() == frozenset()


def test_the_override_names_each_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINTONG_ALLOW_SANDBOX", " face , wechat_oauth,sms")
    identity = IdentitySettings(**IDENTITY_PROD)
    assert identity.allow_sandbox == {"face", "wechat_oauth", "sms"}
    assert identity.sandboxes() == {"face", "wechat_oauth"}
    monkeypatch.setenv("MINTONG_ALLOW_SANDBOX", "face,smss")
    with pytest.raises(ValidationError, match="smss: no such sandbox"):
        IdentitySettings()


async def test_the_gateway_serves_no_sandbox_route_in_production() -> None:
    dev = create_app(GatewaySettings(receipt_secret=SecretStr("r" * 32)))
    assert "/v1/sandbox/messages" in dev.openapi()["paths"]
    prod = create_app(GatewaySettings(env="prod", receipt_secret=SecretStr("r" * 32)))
    assert not [path for path in prod.openapi()["paths"] if "sandbox" in path]
    # Unknown to the router: 404 before any dependency (channel, staff token) is asked.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=prod), base_url="http://gw") as client:
        answer = await client.get("/v1/sandbox/messages", headers={"X-Mintong-Channel": "web"})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_face_verification_off_compares_nothing() -> None:
    with pytest.raises(ProblemError) as refused:
        await FaceVerificationOff().compare(id_number="x", name="y", liveness_token="anything")
    assert refused.value.code == "face_verification_off"
    assert refused.value.kind is Kind.NOT_FOUND
