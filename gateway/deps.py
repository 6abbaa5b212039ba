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
from gateway.tokens import TokenChecker
from gateway.vacancy import EdgeVacancy
from mintong.identity.v1 import identity_pb2, staff_pb2
from services.runtime import context
from services.runtime.access_tokens import STAFF_AUDIENCE
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

STAFF_ROLE_NAMES = frozenset(STAFF_ROLES.values())


@dataclass(frozen=True)
class Staff:
    id: str
    username: str
    role: StaffRoleName
    office_id: str | None  # window clerks; reviewers (their city is its city)
    access_token: str
    call: Call
    #: The session the token belongs to (its sign-out revokes it).
    session_id: str = ""


async def signed_in_staff(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_staff_bearer)]
) -> Staff:
    """The signed-in staff member, as the token says: the gateway checks it itself
    (signature, staff audience, expiry, session not revoked). Disabling an account or
    changing its role or office revokes its sessions (the revocation bucket)."""
    if credentials is None:
        raise Problem(
            401,
            "unauthenticated",
            "Staff routes need a staff token: sign in at /v1/staff/token.",
            field="Authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    claims = await _checker(request).claims(
        credentials.credentials,
        audience=STAFF_AUDIENCE,
        wrong_audience="This is not a staff token.",
        expired="The staff token has expired; sign in again.",
    )
    if claims.role not in STAFF_ROLE_NAMES:
        raise Problem(401, "token_invalid", "The token is not valid.", field="Authorization")
    role: StaffRoleName = claims.role
    caller = Caller.staff(Role(role), claims.subject, claims.office)
    return Staff(
        claims.subject,
        claims.username,
        role,
        claims.office or None,
        credentials.credentials,
        _call(request, caller),
        claims.session_id,
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
    #: The session the token belongs to (its sign-out revokes it).
    session_id: str = ""


async def citizen(
    request: Request,
    channel: Annotated[ChannelName, Depends(channel)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Citizen:
    """The signed-in citizen: the gateway checks the token itself (signature,
    audience = this channel, expiry, session not revoked), with no call."""
    if credentials is None:
        raise Problem(
            401,
            "unauthenticated",
            "Sign in first.",
            field="Authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    claims = await _checker(request).claims(
        credentials.credentials,
        audience=channel,
        wrong_audience="This token was issued for another channel.",
        expired="The token has expired; refresh it.",
    )
    return Citizen(
        claims.subject,
        credentials.credentials,
        _call(request, Caller.citizen(claims.subject)),
        claims.session_id,
    )


async def assurance_level(
    request: Request,
    citizen: Annotated[Citizen, Depends(citizen)],
    channel: Annotated[ChannelName, Depends(channel)],
) -> str:
    """The signed-in citizen's session's assurance level now ("otp", or "face" while a face
    match is recent). Not in the token (a face match raises it mid-session), so
    identity is asked: only the routes that need it pay the call."""
    answer = await request.app.state.clients.identity.Authenticate(
        identity_pb2.AuthenticateRequest(access_token=citizen.access_token, channel=CHANNEL_PROTO[channel]),
        **_call(request, GATEWAY).options,
    )
    return answer.assurance_level or "otp"


def signed_out(request: Request, session_id: str) -> None:
    """This process refuses the session's tokens at once: the revocation bucket
    tells the other processes (and this one again) a moment later."""
    _checker(request).revoked.add(session_id)


def _checker(request: Request) -> TokenChecker:
    checker: TokenChecker = request.app.state.tokens
    return checker


async def service_call(request: Request) -> Call:
    """The gateway acting for an outside system it has authenticated (a provider)."""
    return _call(request, GATEWAY)


async def edge(request: Request) -> EdgeVacancy:
    # async like clients below: a plain ``def`` dependency runs in FastAPI's thread pool.
    found: EdgeVacancy = request.app.state.edge
    return found


async def clients(request: Request) -> Clients:
    # async, though it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    # thread pool, a thread hand-off per request that was a tenth of the gateway's
    # CPU in the uncontended-booking profile.
    clients: Clients = request.app.state.clients
    return clients


Channel = Annotated[ChannelName, Depends(channel)]
AnonymousCall = Annotated[Call, Depends(anonymous_call)]
ServiceCall = Annotated[Call, Depends(service_call)]
SignedIn = Annotated[Citizen, Depends(citizen)]
Assurance = Annotated[str, Depends(assurance_level)]
AnyStaff = Annotated[Staff, Depends(staff())]
Administrator = Annotated[Staff, Depends(staff("administrator"))]
Operator = Annotated[Staff, Depends(staff("administrator", "sre"))]
Services = Annotated[Clients, Depends(clients)]
Edge = Annotated[EdgeVacancy, Depends(edge)]
