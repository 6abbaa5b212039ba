"""WeChat OAuth on each city's official account: an OAuth code in, the openid of
the WeChat user behind it out (service_layer/channel_ports.py WeChatOAuth).

``HttpWeChatOAuth`` calls WeChat's ``sns/oauth2/access_token`` with the city's
official-account appid and secret. ``SandboxWeChatOAuth`` calls nothing: it makes
up openids for development and tests, and says so in every openid it makes.

Codes and openids identify a person on WeChat: they go into the request and
nowhere else — never into an exception message or a log line.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field

import httpx

from services.identity.service_layer.channel_ports import ProviderUnavailable
from services.runtime.errors import InvalidArgument, Kind, ProblemError

log = logging.getLogger(__name__)

ACCESS_TOKEN_URL = "https://api.weixin.qq.com/sns/oauth2/access_token"
#: WeChat's errcodes for a code it will not exchange (wrong, used, expired, missing).
CODE_REFUSED = frozenset({40029, 40163, 41008, 42003})


def code_refused() -> ProblemError:
    return ProblemError(
        "wechat_code_invalid",
        "WeChat did not accept the code (wrong, expired or already used); authorise again.",
        field="code",
        kind=Kind.UNAUTHENTICATED,
    )


def unknown_city() -> ProblemError:
    return InvalidArgument("wechat_city_unknown", "This city has no official account here.", field="city")


@dataclass(frozen=True)
class WeChatApp:
    appid: str
    secret: str


def parse_apps(text: str) -> dict[str, WeChatApp]:
    """``{"haikou": {"appid": "wx…", "secret": "…"}, …}`` (MINTONG_WECHAT_APPS)."""
    try:
        raw = json.loads(text)
        return {city: WeChatApp(str(app["appid"]), str(app["secret"])) for city, app in raw.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        # No value in the message: it holds secrets.
        raise ValueError('MINTONG_WECHAT_APPS is JSON: {"<city>": {"appid": "…", "secret": "…"}}') from None


class HttpWeChatOAuth:
    def __init__(
        self, apps: dict[str, WeChatApp], *, timeout: float = 5.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self.apps = apps
        self.timeout = timeout
        self._client = client

    def _http(self) -> httpx.AsyncClient:
        # Made on first use, inside the running event loop.
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def exchange(self, city: str, code: str) -> str:
        app = self.apps.get(city)
        if app is None:
            raise unknown_city()
        params = {"appid": app.appid, "secret": app.secret, "code": code, "grant_type": "authorization_code"}
        try:
            answer = await self._http().get(ACCESS_TOKEN_URL, params=params)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                "wechat_unavailable", "WeChat could not be reached; try again."
            ) from exc
        if answer.status_code != 200:
            raise ProviderUnavailable("wechat_unavailable", f"WeChat answered HTTP {answer.status_code}.")
        try:
            body = answer.json()
        except ValueError:
            raise ProviderUnavailable("wechat_unavailable", "WeChat answered something unreadable.") from None
        if not isinstance(body, dict):
            raise ProviderUnavailable("wechat_unavailable", "WeChat answered something unreadable.")
        errcode = body.get("errcode") or 0
        if errcode in CODE_REFUSED:
            raise code_refused()
        openid = body.get("openid")
        if errcode or not isinstance(openid, str) or not openid:
            # Busy (-1), or our appid/secret refused (40001, 40013, 40125): an operator's
            # problem, not the citizen's; the citizen is told to try again.
            log.error("WeChat OAuth for %s failed with errcode %s", city, errcode)
            raise ProviderUnavailable(
                "wechat_unavailable", "WeChat could not sign you in just now; try again."
            )
        return openid


@dataclass
class SandboxWeChatOAuth:
    """A stand-in for WeChat, never presented as real: its openids begin ``sandbox-``.

    A code ``<user>`` or ``<user>.<anything>`` stands for the sandbox WeChat user
    ``<user>``: the openid is derived from city and user, so ``alice.1`` and
    ``alice.2`` are the same person, as two real codes of one person are. Each code
    works once, as WeChat's do. ``unavailable`` makes the next calls fail as if
    WeChat were down; ``calls`` records (city, code) of every exchange.
    """

    calls: list[tuple[str, str]] = field(default_factory=list)
    unavailable: int = 0
    _used: set[tuple[str, str]] = field(default_factory=set)

    async def exchange(self, city: str, code: str) -> str:
        self.calls.append((city, code))
        if self.unavailable > 0:
            self.unavailable -= 1
            raise ProviderUnavailable("wechat_unavailable", "The WeChat sandbox is set to fail; try again.")
        if (city, code) in self._used:
            raise code_refused()
        self._used.add((city, code))
        user = code.split(".", 1)[0]
        return "sandbox-" + hashlib.sha256(f"{city}\n{user}".encode()).hexdigest()[:20]
