"""Errors a service's domain raises so that every caller gets a precise answer.

Pure Python on purpose: domain code may import this module; the gRPC server
(``grpc_server.CallContext``) turns a :class:`ProblemError` into a status with a
``mintong.common.v1.Problem`` detail, and the gateway turns that into
``application/problem+json``.
"""

from __future__ import annotations

import enum

#: Words a title spells in capitals, whatever the code's case.
_ACRONYMS = {"id": "ID", "qr": "QR", "otp": "OTP", "sms": "SMS", "url": "URL", "json": "JSON", "utf": "UTF"}


def title_of(code: str) -> str:
    """A readable title for a code with no title of its own: ``id_number_required``
    becomes "ID number required"."""
    words = [_ACRONYMS.get(w, w) for w in code.split("_")]
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


class Kind(enum.Enum):
    """What went wrong, in words both gRPC and HTTP can map."""

    INVALID = 400  # the input itself is wrong
    UNAUTHENTICATED = 401
    FORBIDDEN = 403
    NOT_FOUND = 404
    CONFLICT = 409  # the current state forbids it
    UNPROCESSABLE = 422  # well-formed, but a rule refuses it
    TOO_MANY = 429
    UNAVAILABLE = 503  # another service this one asks could not answer: try again

    @property
    def http_status(self) -> int:
        return self.value


class ProblemError(Exception):
    kind: Kind = Kind.INVALID

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        title: str | None = None,
        kind: Kind | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
        self.title = title or title_of(code)
        if kind is not None:
            self.kind = kind
        #: For TOO_MANY: seconds before trying again.
        self.retry_after: int | None = None


class InvalidArgument(ProblemError):
    kind = Kind.INVALID


class NotFound(ProblemError):
    kind = Kind.NOT_FOUND

    def __init__(self, what: str, key: str, *, field: str | None = None, detail: str | None = None) -> None:
        # The key in typographic quotes, whole: never "No slot '284 for X'.".
        super().__init__(f"{what}_not_found", detail or f"No {what.replace('_', ' ')} “{key}”.", field=field)


class Conflict(ProblemError):
    kind = Kind.CONFLICT
