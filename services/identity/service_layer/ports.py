"""The ports identity's use cases run on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import astuple, dataclass
from typing import Protocol

from services.identity.domain.model import Resident


@dataclass(frozen=True)
class Challenge:
    id: str
    citizen_id: str | None
    code_hash: str
    expires_at: dt.datetime
    attempts: int
    used_at: dt.datetime | None


@dataclass(frozen=True)
class Session:
    id: str
    citizen_id: str
    channel: str
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True)
class Pruned:
    rate_events: int = 0
    challenges: int = 0
    sessions: int = 0
    staff_sessions: int = 0
    device_challenges: int = 0
    face_attempts: int = 0
    #: Links from a session to the binding that opened it, once the session is gone.
    binding_sessions: int = 0

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    @property
    def largest(self) -> int:
        return max(astuple(self))


class Store(Protocol):
    async def resident_by_lookup(self, id_lookup: str) -> Resident | None: ...
    async def resident(self, citizen_id: str) -> Resident | None: ...
    async def residents(self, citizen_ids: list[str]) -> list[Resident]:
        """Those of ``citizen_ids`` on the register, in one query."""
        ...

    async def save_resident(self, resident: Resident, id_lookup: str, now: dt.datetime) -> bool:
        """Insert or update by ID number; True when it was new."""
        ...

    async def count_rate(self, key: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
        """How many events under ``key`` since then, and the latest one's time."""
        ...

    async def add_rate(self, key: str, at: dt.datetime) -> None: ...
    async def add_challenge(self, id_lookup: str, challenge: Challenge, at: dt.datetime) -> None: ...
    async def latest_challenge(self, id_lookup: str) -> Challenge | None:
        """The newest challenge for a matched resident: requests that did not match
        (a stranger trying someone's ID number) do not displace the owner's code."""
        ...

    async def count_attempt(self, challenge_id: str, below: int) -> bool:
        """One more wrong try, if fewer than ``below`` were made; False if none was left."""
        ...

    async def use_challenge(self, challenge_id: str, at: dt.datetime) -> bool:
        """Spend the code; False if another request spent it first."""
        ...

    async def add_session(self, session: Session, refresh_hash: str, at: dt.datetime) -> None: ...
    async def session(self, session_id: str) -> Session | None: ...
    async def session_by_refresh(self, refresh_hash: str) -> Session | None: ...
    async def replace_refresh(self, session_id: str, refresh_hash: str) -> None: ...
    async def revoke(self, session_id: str, at: dt.datetime) -> None: ...
    async def audit(self, *, actor: str, action: str, subject: str, detail: dict[str, object]) -> None: ...
    async def contacts_changed(self, citizen_ids: Sequence[str]) -> None:
        """Tell notify, in this transaction, the current contacts of these citizens."""
        ...

    async def backfill(self, name: str) -> tuple[str, bool] | None:
        """A backfill's cursor and whether it is done; None if it never ran."""
        ...

    async def set_backfill(self, name: str, cursor: str, *, done: bool) -> None: ...
    async def citizens_after(self, cursor: str, limit: int) -> list[str]:
        """Up to ``limit`` citizen ids after ``cursor``, in order."""
        ...

    async def prune(
        self,
        *,
        rates_before: dt.datetime,
        challenges_before: dt.datetime,
        sessions_before: dt.datetime,
        limit: int,
    ) -> Pruned:
        """Delete up to ``limit`` rows of each kind: rate events older than
        ``rates_before``, challenges expired before ``challenges_before``, sessions
        expired or revoked before ``sessions_before``."""
        ...


class UnitOfWork(Protocol):
    def write(self) -> AbstractAsyncContextManager[Store]: ...
    def read(self) -> AbstractAsyncContextManager[Store]: ...


class Sealer(Protocol):
    def lookup(self, plain: str) -> str: ...


class CodeSender(Protocol):
    async def send_code(
        self, *, citizen_id: str, phone: str, code: str, city_code: str, key: str
    ) -> None: ...


@dataclass(frozen=True)
class Claims:
    citizen_id: str
    session_id: str
    channel: str


class Tokens(Protocol):
    def issue(self, claims: Claims, now: dt.datetime) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        ...

    def verify(self, token: str, channel: str, now: dt.datetime) -> Claims:
        """Raises a ProblemError (401) for anything but a valid, unexpired token for ``channel``."""
        ...
