"""Typed dependencies of the routes: the channel, who is calling, the services."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.clients import Clients
from gateway.problems import Problem
from mintong.common.v1 import common_pb2
from mintong.identity.v1 import identity_pb2
from services.runtime import context

ChannelName = Literal["app", "wechat", "web"]
CHANNELS: tuple[str, ...] = ("app", "wechat", "web")


async def channel(
    x_mintong_channel: Annotated[
        str | None,
        Header(description="The channel the citizen uses: app, wechat or web.", examples=["wechat"]),
    ] = None,
) -> ChannelName:
    if x_mintong_channel not in CHANNELS:
        raise Problem(
            400,
            "invalid_channel",
            "Every /v1 request names its channel in X-Mintong-Channel: app, wechat or web"
            + ("." if x_mintong_channel is None else f", not {x_mintong_channel!r}."),
            field="X-Mintong-Channel",
        )
    return x_mintong_channel  # type: ignore[return-value]


@dataclass(frozen=True)
class Call:
    """What travels with every gRPC call: request id and authenticated caller."""

    request_id: str
    caller: str
    timeout: float

    @property
    def options(self) -> dict[str, Any]:
        """Keyword arguments for a stub call."""
        return {
            "metadata": ((context.REQUEST_ID_KEY, self.request_id), (context.CALLER_KEY, self.caller)),
            "timeout": self.timeout,
        }


def _call(request: Request, caller: str) -> Call:
    return Call(
        getattr(request.state, "request_id", "") or str(uuid.uuid4()),
        caller,
        request.app.state.grpc_timeout,
    )


async def anonymous_call(request: Request) -> Call:
    return _call(request, "anonymous")


_bearer = HTTPBearer(auto_error=False, description="The administrator token (MINTONG_ADMIN_TOKEN).")


async def admin_call(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Call:
    expected: str = request.app.state.admin_token
    if credentials is None:
        raise Problem(
            401,
            "unauthenticated",
            "Administrator routes need a bearer token.",
            field="Authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise Problem(403, "forbidden", "This token may not use administrator routes.", field="Authorization")
    return _call(request, "admin:token")


CHANNEL_PROTO = {
    "app": common_pb2.CHANNEL_APP,
    "wechat": common_pb2.CHANNEL_WECHAT,
    "web": common_pb2.CHANNEL_WEB,
}


@dataclass(frozen=True)
class Citizen:
    id: str
    access_token: str
    call: Call
    #: "otp", or "face" while a face match on this session is recent: the routes of
    #: actions that need it (online ID card replacement) check it.
    assurance_level: str = "otp"


async def citizen(
    request: Request,
    channel: Annotated[ChannelName, Depends(channel)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Citizen:
    """The signed-in citizen: identity checks the token (signature, audience =
    this channel, expiry, session not signed out) on every request."""
    if credentials is None:
        raise Problem(
            401,
            "unauthenticated",
            "Sign in first.",
            field="Authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    answer = await request.app.state.clients.identity.Authenticate(
        identity_pb2.AuthenticateRequest(
            access_token=credentials.credentials, channel=CHANNEL_PROTO[channel]
        ),
        **_call(request, "service:gateway").options,
    )
    return Citizen(
        answer.citizen_id,
        credentials.credentials,
        _call(request, f"citizen:{answer.citizen_id}"),
        answer.assurance_level or "otp",
    )


async def service_call(request: Request) -> Call:
    """The gateway acting for an outside system it has authenticated (a provider)."""
    return _call(request, "service:gateway")


def clients(request: Request) -> Clients:
    clients: Clients = request.app.state.clients
    return clients


Channel = Annotated[ChannelName, Depends(channel)]
AnonymousCall = Annotated[Call, Depends(anonymous_call)]
AdminCall = Annotated[Call, Depends(admin_call)]
ServiceCall = Annotated[Call, Depends(service_call)]
SignedIn = Annotated[Citizen, Depends(citizen)]
Services = Annotated[Clients, Depends(clients)]
