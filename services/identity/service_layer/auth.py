"""Real-name authentication: ID number + name match the register → a one-time code
to the phone on file → a session per channel, with short-lived access tokens and a
refresh token; sign-out revokes.

The answer to a code request never tells whether ID number and name matched: the
same status and shape either way, the same work done (the register read, a challenge
stored and limits counted in both cases), and the code sent after the answer, off the
request path, so that the time it takes does not tell either.

Only a request that matches the register counts against the ID number's limits (the
resend wait and the hourly cap): whoever knows an ID number but not the name on it
cannot keep its owner from signing in. A request that does not match is limited by
its client address instead, with the same wait and cap for that ID number from that
address, so that repeating it answers as repeating a matching one would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import secrets
import unicodedata
import uuid

from services.identity.domain import id_number
from services.identity.domain.model import OtpPolicy
from services.identity.service_layer.ports import (
    Challenge,
    Claims,
    CodeSender,
    Sealer,
    Session,
    Store,
    Tokens,
    UnitOfWork,
)
from services.runtime.clock import Clock
from services.runtime.errors import InvalidArgument, Kind, ProblemError

log = logging.getLogger(__name__)
SESSION_LIFETIME = dt.timedelta(days=30)


#: The field of a refusal limited by the client's address (the gateway's peer, or
#: the X-Forwarded-For entry its trusted proxies name): no field of the body.
CLIENT_ADDRESS = "client_address"


class TooMany(ProblemError):
    """A rate limit (429), naming what is limited: a field of the request (the ID
    number, the username, the device) or ``client_address``."""

    kind = Kind.TOO_MANY

    def __init__(self, detail: str, retry_after: int, *, field: str) -> None:
        super().__init__("too_many_requests", detail, field=field)
        self.retry_after: int | None = retry_after


def _wrong_code() -> ProblemError:
    # One answer for every way a code can fail: nothing to learn from the difference.
    return ProblemError(
        "code_invalid", "The code is wrong, expired or already used.", field="code", kind=Kind.UNAUTHENTICATED
    )


def _same_name(a: str, b: str) -> bool:
    norm = [unicodedata.normalize("NFKC", x).strip().casefold().encode() for x in (a, b)]
    return hmac.compare_digest(norm[0], norm[1])


class Auth:
    def __init__(
        self,
        uow: UnitOfWork,
        sealer: Sealer,
        sender: CodeSender,
        tokens: Tokens,
        *,
        clock: Clock,
        policy: OtpPolicy = OtpPolicy(),
    ) -> None:
        self.uow = uow
        self.sealer = sealer
        self.sender = sender
        self.tokens = tokens
        self.clock = clock
        self.policy = policy
        self._sending: set[asyncio.Task[None]] = set()

    async def request_code(self, raw_id: str, name: str, channel: str, address: str) -> int:
        """Returns the seconds before another code may be asked for."""
        now = self.clock()
        number = id_number.parse(raw_id, today=now.date())
        if not name.strip():
            raise InvalidArgument("name_required", "Give the name on the register.", field="name")
        lookup = self.sealer.lookup(number.value)
        hour = now - dt.timedelta(hours=1)
        code = f"{secrets.randbelow(10**6):06d}"
        async with self.uow.write() as store:
            resident = await store.resident_by_lookup(lookup)
            matched = resident is not None and _same_name(resident.name, name)
            # A stranger's request must not start the owner's wait nor use up the
            # owner's codes: it is counted under its own address. Either way the
            # refusal names the ID number alike (decision 38: no match is told).
            per_number = f"number:{lookup}" if matched else f"stranger:{lookup}:{address}"
            count, last = await store.count_rate(per_number, hour)
            if last is not None and now - last < self.policy.resend_after:
                wait = self.policy.resend_after - (now - last)
                raise TooMany(
                    "Wait before asking for another code.", int(wait.total_seconds()) + 1, field="id_number"
                )
            if count >= self.policy.per_number_per_hour:
                raise TooMany("Too many codes for this ID number; try again later.", 3600, field="id_number")
            by_address, _ = await store.count_rate(f"address:{address}", hour)
            if by_address >= self.policy.per_address_per_hour:
                raise TooMany(
                    "Too many code requests from this address; try again later.", 3600, field=CLIENT_ADDRESS
                )
            await store.add_rate(per_number, now)
            await store.add_rate(f"address:{address}", now)
            challenge = Challenge(
                id=str(uuid.uuid4()),
                citizen_id=resident.citizen_id if resident and matched else None,
                code_hash="",
                expires_at=now + self.policy.ttl,
                attempts=0,
                used_at=None,
            )
            challenge = Challenge(**{**challenge.__dict__, "code_hash": self._code_hash(challenge.id, code)})
            await store.add_challenge(lookup, challenge, now)
        if resident is not None and matched:
            task = asyncio.create_task(
                self.sender.send_code(
                    citizen_id=resident.citizen_id,
                    phone=resident.phone,
                    code=code,
                    city_code=resident.city_code,
                    key=challenge.id,
                )
            )
            self._sending.add(task)
            task.add_done_callback(self._sent)
        return int(self.policy.resend_after.total_seconds())

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a one-time code could not be handed to notify: %s", type(task.exception()).__name__)

    def _code_hash(self, challenge_id: str, code: str) -> str:
        return self.sealer.lookup(f"code:{challenge_id}:{code}")

    async def sign_in(self, raw_id: str, name: str, code: str, channel: str) -> tuple[Claims, str, int, str]:
        """(claims, access token, lifetime, refresh token) for a correct code. One
        transaction checks the code and spends it, so two requests with the same
        code cannot both succeed; a wrong try is counted and committed."""
        now = self.clock()
        number = id_number.parse(raw_id, today=now.date())
        lookup = self.sealer.lookup(number.value)
        async with self.uow.write() as store:
            challenge = await store.latest_challenge(lookup)
            usable = (
                challenge is not None
                and challenge.used_at is None
                and challenge.expires_at > now
                and challenge.attempts < self.policy.max_attempts
            )
            if not usable or challenge is None:
                raise _wrong_code()
            resident = await store.resident(challenge.citizen_id or "")
            right = hmac.compare_digest(challenge.code_hash, self._code_hash(challenge.id, code.strip()))
            if not right:
                if not await store.count_attempt(challenge.id, self.policy.max_attempts):
                    raise _wrong_code()
            elif (
                resident is not None
                and _same_name(resident.name, name)
                and await store.use_challenge(challenge.id, now)
            ):
                return await self.open_session(store, resident.citizen_id, channel, now)
        raise _wrong_code()  # after the commit, so that a wrong try stays counted

    async def open_session(
        self, store: Store, citizen_id: str, channel: str, now: dt.datetime
    ) -> tuple[Claims, str, int, str]:
        """A new session for ``citizen_id`` on ``channel``, inside the caller's
        transaction (real-name sign-in here, one-step sign-in in channels.py)."""
        refresh = secrets.token_urlsafe(32)
        session = Session(str(uuid.uuid4()), citizen_id, channel, now + SESSION_LIFETIME, None)
        await store.add_session(session, self.sealer.lookup(f"refresh:{refresh}"), now)
        claims = Claims(citizen_id, session.id, channel)
        access, lifetime = self.tokens.issue(claims, now)
        return claims, access, lifetime, refresh

    async def refresh(self, refresh_token: str, channel: str) -> tuple[Claims, str, int, str]:
        """A new access token and a new refresh token; the old refresh token dies."""
        now = self.clock()
        refused = ProblemError(
            "session_invalid", "Sign in again.", field="refresh_token", kind=Kind.UNAUTHENTICATED
        )
        spent = self.sealer.lookup(f"refresh:{refresh_token}")
        async with self.uow.write() as store:
            session = await store.session_by_refresh(spent)
            if session is None:
                # A refresh token used before is back: it was copied, and either copy
                # may be the thief's. The session ends for both (every gateway too).
                reused = await store.session_by_spent_refresh(spent)
                if reused is not None and reused.revoked_at is None:
                    await store.revoke(reused.id, now, reason="refresh_reuse")
                    log.warning("a spent refresh token was presented again: session ended")
            elif session.revoked_at or session.expires_at <= now or session.channel != channel:
                raise refused
            else:
                fresh = secrets.token_urlsafe(32)
                await store.replace_refresh(session.id, self.sealer.lookup(f"refresh:{fresh}"))
        if session is None:
            raise refused  # after the commit, so that the session stays ended
        claims = Claims(session.citizen_id, session.id, channel)
        access, lifetime = self.tokens.issue(claims, now)
        return claims, access, lifetime, fresh

    async def authenticate(self, access_token: str, channel: str) -> Claims:
        now = self.clock()
        claims = self.tokens.verify(access_token, channel, now)
        async with self.uow.read() as store:
            session = await store.session(claims.session_id)
        if session is None or session.revoked_at is not None:
            raise ProblemError(
                "session_ended",
                "This session has ended; sign in again.",
                field="Authorization",
                kind=Kind.UNAUTHENTICATED,
            )
        return claims

    async def sign_out(self, access_token: str, channel: str) -> None:
        claims = await self.authenticate(access_token, channel)
        async with self.uow.write() as store:
            await store.revoke(claims.session_id, self.clock(), reason="sign_out")
