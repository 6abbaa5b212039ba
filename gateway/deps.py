"""Typed dependencies of the routes: the channel, who is calling, the services."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from fastapi import Depends, Header, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer

from gateway.clients import Clients
from gateway.problems import Problem
from gateway.tokens import TokenChecker
from gateway.vacancy import EdgeVacancy
from mintong.identity.v1 import staff_pb2
from services.runtime import context
from services.runtime.access_tokens import STAFF_AUDIENCE
from services.runtime.context import Caller, Role
from services.runtime.proto_values import CHANNEL_PROTO


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


class KnownQueryRoute(APIRoute):
    """A route that refuses query parameters it does not take (422 naming the
    first), rather than ignore them: a misspelt filter would otherwise quietly match
    everything. The names are those the route and its dependencies take, collected
    once; the check comes before FastAPI reads the body and solves the dependencies
    (as an app-wide dependency it was a solve of its own on every request, decision
    82)."""

    #: Whether the request must name its channel (``X-Mintong-Channel``), checked
    #: here right after the query (:class:`ChannelRoute`).
    names_channel: ClassVar[bool] = False

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        names = frozenset(_query_names(self.dependant))
        names_channel = self.names_channel

        async def checked(request: Request) -> Response:
            if request.scope.get("query_string"):
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
            if names_channel:
                _named_channel(request)
            return await handler(request)

        return checked


class ChannelRoute(KnownQueryRoute):
    """A ``/v1`` route of the citizens' channels: the request names its channel in
    ``X-Mintong-Channel`` (``400 invalid_channel`` otherwise), checked by the route
    before FastAPI reads the body and solves the dependencies. As a dependency of
    every ``/v1`` router it was one more solve per request (FastAPI solves each
    dependency's parameters anew, about a tenth of a refused booking's CPU, decision
    96); the API document names the header on these routes (gateway/app.py)."""

    names_channel = True


ChannelName = Literal["app", "wechat", "web"]
CHANNELS: tuple[str, ...] = tuple(CHANNEL_PROTO)


#: X-Mintong-Channel as the API document describes it.
CHANNEL_DESCRIPTION = "The channel the citizen uses: app, wechat or web."


async def channel(
    x_mintong_channel: Annotated[
        str | None, Header(description=CHANNEL_DESCRIPTION, examples=["wechat"])
    ] = None,
) -> ChannelName:
    return checked_channel(x_mintong_channel)


def checked_channel(named: str | None) -> ChannelName:
    """The channel a request names, or ``400 invalid_channel``."""
    if named not in CHANNELS:
        raise Problem(
            400,
            "invalid_channel",
            "Every /v1 request names its channel in X-Mintong-Channel: app, wechat or web"
            + ("." if named is None else f", not {named!r}."),
            field="X-Mintong-Channel",
        )
    return named  # type: ignore[return-value]


def _named_channel(request: Request) -> ChannelName:
    """The request's channel, read where a dependency needs it: as a sub-dependency
    ``channel`` would be solved again at each use (FastAPI solves a cached
    dependency's own parameters every time), the header read and validated up to
    three times per booking (decision 82)."""
    return checked_channel(request.headers.get("x-mintong-channel"))


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
    return anonymous(request)


def anonymous(request: Request) -> Call:
    """A call for no one in particular (the public catalogue, a sign-in)."""
    return _call(request, context.ANONYMOUS)


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


class StaffToken(HTTPBearer):
    """The signed-in staff member, as the token says, refused (403) unless they have
    one of ``roles`` (any role when none is named): the gateway checks the token
    itself (signature, staff audience, expiry, session not revoked). Disabling an
    account or changing its role or office revokes its sessions (the revocation
    bucket).

    The bearer scheme is itself the dependency (the API document's ``StaffBearer``):
    as a scheme, a dependency on it and a role check, it was three solves per
    request where FastAPI solves each dependency anew (decision 97)."""

    def __init__(self, roles: tuple[StaffRoleName, ...] = ()) -> None:
        super().__init__(
            auto_error=False,
            scheme_name="StaffBearer",
            description="A staff token from POST /v1/staff/token.",
        )
        self.roles = roles

    async def __call__(self, request: Request) -> Staff:  # type: ignore[override]
        credentials = await super().__call__(request)
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
        return self.admit(
            Staff(
                claims.subject,
                claims.username,
                role,
                claims.office or None,
                credentials.credentials,
                _call(request, caller),
                claims.session_id,
            )
        )

    def admit(self, member: Staff) -> Staff:
        """The member, unless this dependency names roles and theirs is not one (403)."""
        if self.roles and member.role not in self.roles:
            raise Problem(
                403,
                "forbidden",
                f"This needs one of the staff roles: {', '.join(self.roles)}.",
                field="Authorization",
            )
        return member


def staff(*roles: StaffRoleName) -> StaffToken:
    """A dependency: the signed-in staff member, refused (403) unless they have one
    of ``roles`` (any role when none is named)."""
    return StaffToken(roles)


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
    #: The channel the token was issued for, which is the request's.
    channel: ChannelName
    #: The session the token belongs to (its sign-out revokes it).
    session_id: str = ""


class CitizenToken(HTTPBearer):
    """The signed-in citizen: the gateway checks the token itself (signature,
    audience = this channel, expiry, session not revoked), with no call.

    The bearer scheme is itself the dependency (the API document's ``HTTPBearer``):
    a dependency on the scheme was a second solve on every signed-in request
    (decision 97)."""

    def __init__(self) -> None:
        super().__init__(
            auto_error=False,
            scheme_name="HTTPBearer",
            description="A citizen's access token from POST /v1/auth/token.",
        )

    async def __call__(self, request: Request) -> Citizen:  # type: ignore[override]
        credentials = await super().__call__(request)
        if credentials is None:
            raise Problem(
                401,
                "unauthenticated",
                "Sign in first.",
                field="Authorization",
                headers={"WWW-Authenticate": "Bearer"},
            )
        channel = _named_channel(request)
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
            channel,
            claims.session_id,
        )


citizen = CitizenToken()


def signed_out(request: Request, session_id: str) -> None:
    """This process refuses the session's tokens at once: the revocation bucket
    tells the other processes (and this one again) a moment later."""
    _checker(request).revoked.add(session_id)


def issued(request: Request, access_token: str) -> str:
    """An access token identity has just issued, handed on to the caller: this
    process takes it as verified (``TokenKeys.issued``, decision 118)."""
    _checker(request).keys.issued(access_token)
    return access_token


def _checker(request: Request) -> TokenChecker:
    checker: TokenChecker = request.app.state.tokens
    return checker


async def service_call(request: Request) -> Call:
    """The gateway acting for an outside system it has authenticated (a provider)."""
    return _call(request, GATEWAY)


def edge_of(request: Request) -> EdgeVacancy:
    """This process's vacancy at the edge (decision 65). Read by the three routes
    that use it rather than a dependency: FastAPI solves each dependency anew per
    request, a tenth of a refused booking's CPU for this read of ``app.state``
    (decision 82)."""
    found: EdgeVacancy = request.app.state.edge
    return found


def services_of(request: Request) -> Clients:
    """The clients of the services, read by the routes that come by the thousand (the
    slot list, a booking) rather than solved as a dependency (decision 109)."""
    found: Clients = request.app.state.clients
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
AnyStaff = Annotated[Staff, Depends(staff())]
Administrator = Annotated[Staff, Depends(staff("administrator"))]
Operator = Annotated[Staff, Depends(staff("administrator", "sre"))]
Services = Annotated[Clients, Depends(clients)]
