"""Staff of the bureau: their roles, the office a window clerk is bound to, and the
rules for usernames, passwords and how repeated failed sign-ins are slowed down."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass

# The roles are the runtime's, so every service and the gateway spell them alike.
from services.runtime.context import Role as StaffRole
from services.runtime.errors import InvalidArgument

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
_OFFICE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PASSWORD_MIN = 12
#: argon2 takes any length, but hashing megabytes on request is a denial of service.
PASSWORD_MAX = 1024


def normalise_username(raw: str) -> str:
    """One spelling per username, whatever the keyboard: NFKC, trimmed, lower case."""
    return unicodedata.normalize("NFKC", raw).strip().casefold()


def check_username(raw: str) -> str:
    username = normalise_username(raw)
    if not _USERNAME.match(username):
        raise InvalidArgument(
            "invalid_username",
            "A username has 3–64 characters: letters a–z, digits, '.', '_' or '-', starting "
            "with a letter or digit.",
            field="username",
        )
    return username


def check_password(password: str) -> None:
    """Length is what makes a password strong (NIST SP 800-63B); no composition rules."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidArgument(
            "weak_password",
            f"A staff password has {PASSWORD_MIN} to {PASSWORD_MAX} characters.",
            field="password",
        )


def check_office(role: StaffRole, office_id: str | None) -> str | None:
    """A window clerk serves at exactly one office. A reviewer may be bound to one:
    they review the pre-applications of its city (booking decides which). No other
    role is bound to an office."""
    office = (office_id or "").strip() or None
    if role is StaffRole.WINDOW_CLERK and office is None:
        raise InvalidArgument(
            "office_required", "A window clerk is bound to an office: name it.", field="office_id"
        )
    if role in (StaffRole.WINDOW_CLERK, StaffRole.REVIEWER):
        if office is not None and not _OFFICE.match(office):
            raise InvalidArgument("invalid_office", "Not an office id.", field="office_id")
        return office
    if office is not None:
        raise InvalidArgument(
            "office_not_allowed",
            "Only window clerks and reviewers are bound to an office.",
            field="office_id",
        )
    return None


@dataclass(frozen=True)
class StaffAccount:
    id: str
    username: str
    display_name: str
    role: StaffRole
    office_id: str | None
    active: bool

    def __post_init__(self) -> None:
        check_office(self.role, self.office_id)


@dataclass(frozen=True)
class SignInThrottle:
    """How failed staff sign-ins are slowed down (docs/decisions.md: "Staff sign-in is
    throttled by address, never locked by username").

    Failures are counted per username *and* client address, and per client address
    whatever the username, never per username alone: a stranger who knows a username
    slows down only their own tries, not its owner's from another address. Within a
    key's window, the first ``free_failures`` cost nothing; each one after them makes
    the next try wait twice as long as the one before (``first_wait``, then 2×, 4×, …,
    at most the window), counted from the latest failure. Failures older than the
    window are forgotten."""

    free_failures: int = 5
    free_failures_per_address: int = 20
    window: dt.timedelta = dt.timedelta(minutes=15)
    first_wait: dt.timedelta = dt.timedelta(seconds=1)

    def wait(self, failures: list[dt.datetime], now: dt.datetime, *, free: int) -> int | None:
        """Seconds until a sign-in may be tried again, or None when it may now.
        ``failures`` are the times of one key's failures within the window."""
        recent = [f for f in failures if f > now - self.window]
        if len(recent) < free:
            return None
        # min() before the power would overflow: 2**n grows past any window quickly.
        doublings = min(len(recent) - free, 32)
        wait = min(self.first_wait * 2**doublings, self.window)
        opens = max(recent) + wait
        return max(1, math.ceil((opens - now).total_seconds())) if opens > now else None
