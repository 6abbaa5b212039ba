"""Typed dependencies of the routes: the channel, who is calling, the services."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.clients import Clients
from gateway.problems import Problem
from mintong.identity.v1 import identity_pb2, staff_pb2
from services.runtime import context
from services.runtime.context import Caller, Role
from services.runtime.proto_values import CHANNEL_PROTO

_QUERY_NAMES: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def known_query(request: Request) -> None:
    """Refuse query parameters the route does not take (422 naming the first), rather
    than ignore them: a misspelt filter would otherwise quietly match everything."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not request.query_params:
        return
    names = _QUERY_NAMES.get(id(route))
    if names is None:
        names = frozenset(_query_names(dependant))
        _QUERY_NAMES[id(route)] = names
    unknown = sorted(set(request.query_params) - names)
    if unknown:
        raise Problem(
            422,
            "unknown_parameter",
            f"This route takes no query parameter “{unknown[0]}”"
            + (f"; it takes {', '.join(sorted(names))}." if names else "; it takes none."),
            field=unknown[0],
            title="Unknown query parameter",
        )


ChannelName = Literal["app", "wechat", "web"]
CHANNELS: tuple[str, ...] = tuple(CHANNEL_PROTO)


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
    caller: Caller
    timeout: float

    @property
    def options(self) -> dict[str, Any]:
        """Keyword arguments for a stub call."""
        return {
            "metadata": ((context.REQUEST_ID_KEY, self.request_id), (context.CALLER_KEY, str(self.caller))),
            "timeout": self.timeout,
        }


def _call(request: Request, caller: Caller) -> Call:
    return Call(
        getattr(request.state, "request_id", "") or str(uuid.uuid4()),
        caller,
        request.app.state.grpc_timeout,
    )


#: The gateway itself, asking identity who a token belongs to, or for a provider.
GATEWAY = Caller.service("gateway")


async def anonymous_call(request: Request) -> Call:
    return _call(request, context.ANONYMOUS)


_bearer = HTTPBearer(auto_error=False, description="A citizen's access token from POST /v1/auth/token.")
_staff_bearer = HTTPBearer(
    auto_error=False, scheme_name="StaffBearer", description="A staff token from POST /v1/staff/token."
)

#: The values of services.runtime.context.Role, as the HTTP API's schemas spell them.
StaffRoleName = Literal["window_clerk", "reviewer", "administrator", "sre"]
#: A staff role; services see the caller as a Caller with the role (Caller.staff), and
#: check it with require_role (services.runtime.context).
STAFF_ROLES: dict[staff_pb2.StaffRole, StaffRoleName] = {
    staff_pb2.STAFF_ROLE_WINDOW_CLERK: "window_clerk",
    staff_pb2.STAFF_ROLE_REVIEWER: "reviewer",
    staff_pb2.STAFF_ROLE_ADMINISTRATOR: "administrator",
    staff_pb2.STAFF_ROLE_SRE: "sre",
}


@dataclass(frozen=True)
class Staff:
    id: str
    username: str
    role: StaffRoleName
    office_id: str | None  # window clerks; reviewers (their city is its city)
    access_token: str
    call: Call


async def signed_in_staff(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_staff_bearer)]
) -> Staff:
    """The signed-in staff member: identity checks the token (signature, staff
    audience, expiry, session open, account active) on every request and answers
    with the role and office the account has now."""
    if credentials is None:
        raise Problem(
            401,
            "unauthenticated",
            "Staff routes need a staff token: sign in at /v1/staff/token.",
            field="Authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    answer = await request.app.state.clients.staff.Authenticate(
        staff_pb2.StaffServiceAuthenticateRequest(access_token=credentials.credentials),
        **_call(request, GATEWAY).options,
    )
    role = STAFF_ROLES[answer.role]
    caller = Caller.staff(Role(role), answer.staff_id, answer.office_id)
    return Staff(
        answer.staff_id,
        answer.username,
        role,
        answer.office_id or None,
        credentials.credentials,
        _call(request, caller),
    )


def staff(*roles: StaffRoleName) -> Callable[..., Awaitable[Staff]]:
    """A dependency: the signed-in staff member, refused (403) unless they have one
    of ``roles`` (any role when none is named)."""

    async def dependency(member: Annotated[Staff, Depends(signed_in_staff)]) -> Staff:
        if roles and member.role not in roles:
            raise Problem(
                403,
                "forbidden",
                f"This needs one of the staff roles: {', '.join(roles)}.",
                field="Authorization",
            )
        return member

    return dependency


def require_office(member: Staff, office_id: str) -> None:
    """A window clerk acts only for their own office; other roles are bound to none."""
    if member.role == "window_clerk" and member.office_id != office_id:
        raise Problem(
            403, "wrong_office", "A window clerk acts only for their own office.", field="office_id"
        )


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
        **_call(request, GATEWAY).options,
    )
    return Citizen(
        answer.citizen_id,
        credentials.credentials,
        _call(request, Caller.citizen(answer.citizen_id)),
        answer.assurance_level or "otp",
    )


async def service_call(request: Request) -> Call:
    """The gateway acting for an outside system it has authenticated (a provider)."""
    return _call(request, GATEWAY)


def clients(request: Request) -> Clients:
    clients: Clients = request.app.state.clients
    return clients


Channel = Annotated[ChannelName, Depends(channel)]
AnonymousCall = Annotated[Call, Depends(anonymous_call)]
ServiceCall = Annotated[Call, Depends(service_call)]
SignedIn = Annotated[Citizen, Depends(citizen)]
AnyStaff = Annotated[Staff, Depends(staff())]
Administrator = Annotated[Staff, Depends(staff("administrator"))]
Operator = Annotated[Staff, Depends(staff("administrator", "sre"))]
Services = Annotated[Clients, Depends(clients)]
