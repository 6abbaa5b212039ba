"""Per-request values that travel with a call across services in gRPC metadata."""

from __future__ import annotations

import contextvars

REQUEST_ID_KEY = "x-request-id"
CALLER_KEY = "x-mintong-caller"

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
#: Who is calling, as the gateway authenticated them, e.g. "admin", "anonymous".
caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="anonymous")


def outgoing_metadata() -> tuple[tuple[str, str], ...]:
    items = [(CALLER_KEY, caller.get())]
    if rid := request_id.get():
        items.append((REQUEST_ID_KEY, rid))
    return tuple(items)


def caller_role() -> str:
    """Callers are spelled "<role>:<subject>", e.g. "admin:token" or "anonymous"."""
    return caller.get().partition(":")[0]


def caller_subject() -> str:
    """Who the caller is within their role: a citizen id, a staff id."""
    return caller.get().partition(":")[2].partition("@")[0]


def caller_office() -> str:
    """The office a window clerk works at, spelled "clerk:<staff id>@<office id>"."""
    return caller.get().partition("@")[2]


def require_role(*roles: str) -> None:
    """Services re-check who may call, whatever the gateway already checked."""
    from services.runtime.errors import Kind, ProblemError

    if caller_role() not in roles:
        raise ProblemError(
            "forbidden", f"This operation needs one of the roles {', '.join(roles)}.", kind=Kind.FORBIDDEN
        )
