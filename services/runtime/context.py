"""Per-request values that travel with a call across services in gRPC metadata: the
request id, and who is calling (a :class:`Caller`, parsed once from the metadata)."""

from __future__ import annotations

import contextvars
import enum
from dataclasses import dataclass

from services.runtime.errors import Kind, ProblemError

REQUEST_ID_KEY = "x-request-id"
CALLER_KEY = "x-mintong-caller"


class CallerKind(enum.Enum):
    CITIZEN = "citizen"
    STAFF = "staff"
    #: Another process acting on its own account (identity sending a code, the gateway).
    SERVICE = "service"
    #: An operator at a service's command line, audited under their login.
    OPERATOR = "cli"
    ANONYMOUS = "anonymous"


class Role(enum.Enum):
    """A staff member's role, spelled as the HTTP API and the protos spell it."""

    WINDOW_CLERK = "window_clerk"
    REVIEWER = "reviewer"
    ADMINISTRATOR = "administrator"
    SRE = "sre"


#: The one place roles have another spelling: the word x-mintong-caller carries
#: (``clerk:<staff id>@<office id>``, ``admin:<staff id>``), as audit logs have recorded
#: it. Both spellings are read, so a later release may send the API's spelling.
_WIRE_ROLES = {
    Role.WINDOW_CLERK: "clerk",
    Role.REVIEWER: "reviewer",
    Role.ADMINISTRATOR: "admin",
    Role.SRE: "sre",
}
_ROLE_OF_WORD = {**{r.value: r for r in Role}, **{word: r for r, word in _WIRE_ROLES.items()}}
_KIND_OF_WORD = {k.value: k for k in CallerKind if k is not CallerKind.STAFF}


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the gateway authenticated them. In metadata it is spelled
    ``<kind or role>:<subject>``: ``citizen:<id>``, ``admin:<staff id>``,
    ``clerk:<staff id>@<office id>``, ``service:<name>``, ``cli:<login>`` or ``anonymous``."""

    kind: CallerKind = CallerKind.ANONYMOUS
    #: A citizen id, a staff id, a service's name or an operator's login.
    subject: str = ""
    role: Role | None = None  # staff only
    office: str = ""  # window clerks only

    @classmethod
    def parse(cls, header: str) -> Caller:
        """Anything not well formed (an unknown word, no subject) is anonymous."""
        word, _, rest = header.partition(":")
        if not rest:
            return ANONYMOUS
        if (role := _ROLE_OF_WORD.get(word)) is not None:
            subject, _, office = rest.partition("@")
            return cls(CallerKind.STAFF, subject, role, office) if subject else ANONYMOUS
        kind = _KIND_OF_WORD.get(word, CallerKind.ANONYMOUS)
        return ANONYMOUS if kind is CallerKind.ANONYMOUS else cls(kind, rest)

    @classmethod
    def citizen(cls, citizen_id: str) -> Caller:
        return cls(CallerKind.CITIZEN, citizen_id)

    @classmethod
    def staff(cls, role: Role, staff_id: str, office: str = "") -> Caller:
        return cls(CallerKind.STAFF, staff_id, role, office)

    @classmethod
    def service(cls, name: str) -> Caller:
        return cls(CallerKind.SERVICE, name)

    @classmethod
    def operator(cls, login: str) -> Caller:
        return cls(CallerKind.OPERATOR, login)

    def __str__(self) -> str:
        """The metadata spelling; also the actor audit logs record."""
        if self.kind is CallerKind.ANONYMOUS:
            return "anonymous"
        if self.role is not None:
            return f"{_WIRE_ROLES[self.role]}:{self.subject}" + (f"@{self.office}" if self.office else "")
        return f"{self.kind.value}:{self.subject}"

    def is_one_of(self, *allowed: Role | CallerKind) -> bool:
        """A kind admits every caller of that kind; a role, staff with that role."""
        return self.kind in allowed or (self.role is not None and self.role in allowed)


ANONYMOUS = Caller()

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
caller: contextvars.ContextVar[Caller] = contextvars.ContextVar("caller", default=ANONYMOUS)


def outgoing_metadata() -> tuple[tuple[str, str], ...]:
    items = [(CALLER_KEY, str(caller.get()))]
    if rid := request_id.get():
        items.append((REQUEST_ID_KEY, rid))
    return tuple(items)


def require_role(*allowed: Role | CallerKind) -> Caller:
    """Services re-check who may call, whatever the gateway already checked; the
    caller, when allowed."""
    me = caller.get()
    if not me.is_one_of(*allowed):
        raise ProblemError(
            "forbidden",
            f"This operation needs one of: {', '.join(a.value for a in allowed)}.",
            kind=Kind.FORBIDDEN,
        )
    return me
