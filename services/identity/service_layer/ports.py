"""The ports identity's use cases run on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import astuple, dataclass, field
from typing import Protocol

from services.identity.domain.model import CardStatus, Resident


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
    #: Finished register imports past their retention, with their rejection lists
    #: (and any sealed chunks left).
    import_jobs: int = 0

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    @property
    def largest(self) -> int:
        return max(astuple(self))


@dataclass(frozen=True)
class CardRequest:
    """A call of the cards service that changed a card, kept for its retries."""

    application_id: str
    action: str  # report_lost, new_card
    citizen_id: str
    card_status: str  # after the call
    request_digest: str


@dataclass(frozen=True)
class CardSet:
    """A citizen's card as a change leaves it: its status, and a new card's number
    and dates (None: the number and dates stay)."""

    citizen_id: str
    status: CardStatus
    number: str | None = None
    issued_on: dt.date | None = None
    expires_on: dt.date | None = None


@dataclass(frozen=True)
class AuditNote:
    """An audit entry to append now, by ``actor``."""

    actor: str
    action: str
    subject: str
    detail: dict[str, object]


class Store(Protocol):
    async def resident_by_lookup(self, id_lookup: str) -> Resident | None: ...
    async def resident(self, citizen_id: str) -> Resident | None: ...
    async def residents(self, citizen_ids: list[str]) -> list[Resident]:
        """Those of ``citizen_ids`` on the register, in one query."""
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
    async def sessions_with_face_match(
        self, session_ids: Sequence[str]
    ) -> list[tuple[Session, dt.datetime | None]]:
        """Those of the sessions that exist, each with its last face match's time."""
        ...

    async def session_by_refresh(self, refresh_hash: str) -> Session | None: ...
    async def session_by_spent_refresh(self, refresh_hash: str) -> Session | None:
        """The session whose refresh token before the current one has this hash."""
        ...

    async def replace_refresh(self, session_id: str, refresh_hash: str) -> None: ...
    async def revoke(self, session_id: str, at: dt.datetime, *, reason: str) -> None:
        """End the session, and tell every gateway (``reason``: why, for the record)."""
        ...

    async def audit(self, *, actor: str, action: str, subject: str, detail: dict[str, object]) -> None: ...
    async def audit_many(self, entries: Sequence[AuditNote]) -> None:
        """Append the entries in order, chained, in a statement or two for them all."""
        ...

    async def card_requests(self, application_ids: Sequence[str]) -> list[CardRequest]:
        """The card changes made for these applications (every action), in one query."""
        ...

    async def add_card_requests(self, requests: Sequence[CardRequest]) -> None: ...
    async def residents_for_update(self, citizen_ids: Sequence[str]) -> dict[str, Resident]:
        """Those on the register by id, their rows locked until the transaction ends,
        in citizen order (two transactions locking overlapping sets take turns)."""
        ...

    async def set_cards(self, cards: Sequence[CardSet]) -> None:
        """Each citizen's card status, and with a number a new card, in order."""
        ...

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
        imports_before: dt.datetime,
        limit: int,
    ) -> Pruned:
        """Delete up to ``limit`` rows of each kind: rate events older than
        ``rates_before``, challenges expired before ``challenges_before``, sessions
        expired or revoked before ``sessions_before``, import jobs finished (done or
        failed) before ``imports_before`` with everything kept of them."""
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


# --- register imports (service_layer/register.py, imports.py) -----------------------


@dataclass(frozen=True)
class RowProblem:
    #: 1-based: the line of the file the record starts on (a CSV header is line 1).
    line: int
    field: str
    reason: str


@dataclass(frozen=True)
class PreparedResident:
    """A checked row: its look-up hash, the keyed hash of its content, and, once
    sealed, its personal data as tokens (column → token; an optional field the row
    leaves empty has none)."""

    resident: Resident
    lookup: str
    digest: str
    sealed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PreparedBatch:
    residents: list[PreparedResident]
    problems: list[RowProblem]


class Preparer(Protocol):
    """Checks rows and seals residents: the CPU-heavy part of an import, which an
    adapter may run beside the event loop (other processes, other cores). Sealing is
    a step of its own, so that rows the register already holds unchanged skip it."""

    async def check(
        self, records: Sequence[tuple[int, dict[str, str] | RowProblem]], today: dt.date
    ) -> PreparedBatch:
        """Each record checked: good ones hashed (not sealed yet), others reported."""
        ...

    async def seal(self, residents: Sequence[PreparedResident]) -> list[PreparedResident]: ...
    async def close(self) -> None: ...


@dataclass(frozen=True)
class ImportJob:
    id: str
    state: str  # receiving, queued, running, done, failed
    format: str
    actor: str
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    bytes: int = 0
    rows_done: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    error: RowProblem | None = None  # a failed job: what made the file unreadable
    error_code: str | None = None
    rejections: tuple[RowProblem, ...] = field(default=())
    lease_owner: str | None = None

    def rate(self, now: dt.datetime) -> float:
        """Rows a second since the job started (to its end, or now)."""
        if self.started_at is None:
            return 0.0
        seconds = ((self.finished_at or now) - self.started_at).total_seconds()
        return self.rows_done / seconds if seconds > 0 else 0.0


@dataclass(frozen=True)
class BatchDone:
    rows: int
    imported: int
    updated: int
    unchanged: int
    rejected: int
    #: The refused rows to keep (the first ones of the job, up to a bound).
    kept: Sequence[RowProblem]


class LeaseLost(Exception):
    """Another process took the job over (this one was too slow to renew its lease):
    the batch is rolled back and this process leaves the job alone."""


class ImportStore(Protocol):
    async def resident_digests(self, lookups: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """citizen id and row digest of each stored resident among ``lookups``."""
        ...

    async def upsert_residents(self, rows: Sequence[tuple[str, PreparedResident]], now: dt.datetime) -> None:
        """Insert each (citizen id, resident), or update the resident with its look-up
        hash (keeping its citizen id)."""
        ...

    async def contacts_changed(
        self,
        citizen_ids: Sequence[str],
        *,
        phones: Mapping[str, str] | None = None,
        unbound: Collection[str] = (),
    ) -> None:
        """Tell notify these citizens' contacts, in this transaction (the outbox);
        ``phones`` (sealed) and ``unbound`` (just created) spare reading back what
        the caller just wrote."""
        ...

    async def create_job(self, job: ImportJob, lease_until: dt.datetime) -> None: ...
    async def add_chunk(self, job_id: str, seq: int, content: bytes, lease_until: dt.datetime) -> None: ...
    async def queue_job(self, job_id: str) -> None: ...
    async def job(self, job_id: str, *, rejections: int) -> ImportJob | None: ...
    async def claim_job(
        self, now: dt.datetime, lease_until: dt.datetime, owner: str, job_id: str | None = None
    ) -> ImportJob | None:
        """Take a queued job, or a running one whose lease ran out (its process
        died): the oldest, or ``job_id``. None when there is none to take."""
        ...

    async def chunk(self, job_id: str, seq: int) -> bytes | None: ...
    async def record_batch(self, job_id: str, owner: str, done: BatchDone, lease_until: dt.datetime) -> None:
        """Add a batch's counts and kept problems; raises LeaseLost if ``owner`` no
        longer holds the job."""
        ...

    async def finish_job(
        self, job_id: str, owner: str, now: dt.datetime, error: tuple[str, RowProblem] | None
    ) -> None:
        """Done (or failed with a code and a problem); the file's pieces are deleted."""
        ...

    async def fail_abandoned(self, now: dt.datetime) -> list[str]:
        """Uploads whose sender went away (lease ran out while receiving): failed,
        their pieces deleted. Returns their ids."""
        ...

    async def audit(self, *, actor: str, action: str, subject: str, detail: dict[str, object]) -> None: ...


class ImportUnitOfWork(Protocol):
    def write(self) -> AbstractAsyncContextManager[ImportStore]: ...
    def read(self) -> AbstractAsyncContextManager[ImportStore]: ...
