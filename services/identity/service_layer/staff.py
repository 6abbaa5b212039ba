"""Staff accounts and staff sign-in: username + password (argon2id behind the
``Passwords`` port) → a short-lived staff token whose session sign-out ends.

Sign-in answers the same for an unknown username, a wrong password and a disabled
account, and does the same work for each (an unknown username is checked against
a dummy hash), so neither the answer nor its time tells which usernames exist.
Repeated failures slow down further tries from the address they came from, per
username and address and per address (:class:`SignInThrottle`), never the username
from everywhere: whoever knows a staff member's username cannot lock them out. The
throttle treats every username alike, known or not, so that it tells nothing either.

Every staff action on accounts, and every sign-in, signed or failed, is an entry
of the hash-chained audit log, written in the transaction of what it records.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from typing import Protocol

from services.identity.domain.staff import (
    PASSWORD_MAX,
    SignInThrottle,
    StaffAccount,
    StaffRole,
    check_office,
    check_password,
    check_username,
    normalise_username,
)
from services.identity.service_layer.auth import CLIENT_ADDRESS, TooMany
from services.identity.service_layer.ports import Sealer
from services.runtime.clock import Clock
from services.runtime.errors import Conflict, InvalidArgument, Kind, NotFound, ProblemError


@dataclass(frozen=True)
class StaffSession:
    id: str
    staff_id: str
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True)
class StaffClaims:
    staff_id: str
    session_id: str
    #: What the token says of the account when it was made, so the gateway needs
    #: no call to know it; a change of role or office revokes the account's sessions.
    role: str = ""
    office_id: str = ""
    username: str = ""


class StaffStore(Protocol):
    async def staff_by_username(self, username: str) -> tuple[StaffAccount, str] | None:
        """The account and its password hash."""
        ...

    async def staff(self, staff_id: str) -> StaffAccount | None: ...
    async def list_staff(self, role: StaffRole | None, office_id: str | None) -> list[StaffAccount]: ...
    async def add_staff(self, account: StaffAccount, password_hash: str, at: dt.datetime) -> bool:
        """False when the username is taken."""
        ...

    async def update_staff(self, account: StaffAccount, at: dt.datetime) -> None: ...
    async def set_password_hash(self, staff_id: str, password_hash: str, at: dt.datetime) -> None: ...
    async def count_active(self, role: StaffRole) -> int: ...
    async def failures(self, key: str, since: dt.datetime) -> list[dt.datetime]: ...
    async def add_failure(self, key: str, at: dt.datetime) -> None: ...
    async def clear_failures(self, key: str) -> None: ...
    async def add_staff_session(self, session: StaffSession, at: dt.datetime) -> None: ...
    async def staff_session(self, session_id: str) -> StaffSession | None: ...
    async def revoke_staff_session(self, session_id: str, at: dt.datetime) -> None: ...
    async def revoke_staff_sessions_of(self, staff_id: str, at: dt.datetime, reason: str) -> None: ...
    async def audit(self, *, actor: str, action: str, subject: str, detail: dict[str, object]) -> None: ...


class OfficeDirectory(Protocol):
    """Booking's catalogue of offices (identity asks; it keeps no copy)."""

    async def exists(self, office_id: str) -> bool: ...


class StaffUnitOfWork(Protocol):
    def write(self) -> AbstractAsyncContextManager[StaffStore]: ...
    def read(self) -> AbstractAsyncContextManager[StaffStore]: ...


class Passwords(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool:
        """False for a wrong password or a hash that cannot be read; never raises."""
        ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class StaffTokens(Protocol):
    def issue(self, claims: StaffClaims, now: dt.datetime) -> tuple[str, int]:
        """A signed staff token and its lifetime in seconds."""
        ...

    def verify(self, token: str, now: dt.datetime) -> StaffClaims:
        """Raises a ProblemError (401) for anything but a valid, unexpired staff token."""
        ...


def _wrong_credentials() -> ProblemError:
    # One answer for an unknown username, a wrong password and a disabled account.
    return ProblemError(
        "credentials_invalid",
        "The username or the password is wrong.",
        field="password",
        kind=Kind.UNAUTHENTICATED,
    )


def _session_ended() -> ProblemError:
    return ProblemError(
        "session_ended",
        "This staff session has ended; sign in again.",
        field="Authorization",
        kind=Kind.UNAUTHENTICATED,
    )


def _display_name(raw: str, username: str) -> str:
    name = raw.strip() or username
    if len(name) > 200:
        raise InvalidArgument("invalid_display_name", "At most 200 characters.", field="display_name")
    return name


class StaffAuth:
    def __init__(
        self,
        uow: StaffUnitOfWork,
        sealer: Sealer,
        passwords: Passwords,
        tokens: StaffTokens,
        offices: OfficeDirectory,
        *,
        clock: Clock,
        throttle: SignInThrottle = SignInThrottle(),
        concurrent_hashes: int = 2,
    ) -> None:
        self.uow = uow
        self.sealer = sealer
        self.passwords = passwords
        self.tokens = tokens
        self.offices = offices
        self.clock = clock
        self.throttle = throttle
        self._dummy_hash: str | None = None
        # argon2id is memory-hard on purpose (64 MiB a hash by default): a flood of
        # sign-ins queues here instead of running the process out of memory.
        self._hashing = asyncio.Semaphore(concurrent_hashes)

    async def _hash(self, password: str) -> str:
        async with self._hashing:
            return await asyncio.to_thread(self.passwords.hash, password)

    async def _verify(self, password_hash: str, password: str) -> bool:
        async with self._hashing:
            return await asyncio.to_thread(self.passwords.verify, password_hash, password)

    async def _dummy(self) -> str:
        """A hash no password matches, made with the same parameters as real ones,
        so that checking an unknown username costs what checking a real one does."""
        if self._dummy_hash is None:
            self._dummy_hash = await self._hash(secrets.token_urlsafe(32))
        return self._dummy_hash

    def _username_key(self, username: str) -> str:
        # Keyed hash, not the username: people type their password into the
        # username field, and what they typed must not be kept in clear.
        return self.sealer.lookup(f"staff-username:{username}")

    def _throttle_keys(self, username: str, address: str) -> tuple[str, str]:
        """The failure counters of this username from this address, and of this
        address (a client address is personal data too: keyed hashes)."""
        return (
            "staff-signin:" + self.sealer.lookup(f"staff-username:{username}@{address}"),
            "staff-signin-address:" + self.sealer.lookup(f"staff-address:{address}"),
        )

    async def _wait(self, store: StaffStore, keys: tuple[str, str], now: dt.datetime) -> None:
        """Refuse (429) while either counter asks to wait, naming the one that asks
        the longest. Both count failures whether the account exists or not, so
        which one it is tells nothing about the username (decision 38)."""
        since = now - self.throttle.window
        pair, by_address = keys
        waits = [
            (
                self.throttle.wait(await store.failures(pair, since), now, free=self.throttle.free_failures),
                "username",
                "Too many failed sign-ins for this username from this address; wait before trying again.",
            ),
            (
                self.throttle.wait(
                    await store.failures(by_address, since), now, free=self.throttle.free_failures_per_address
                ),
                CLIENT_ADDRESS,
                "Too many failed sign-ins from this address; wait before trying again.",
            ),
        ]
        waiting = [(w, field, detail) for w, field, detail in waits if w is not None]
        if waiting:
            wait, field, detail = max(waiting, key=lambda found: found[0])
            raise TooMany(detail, wait, field=field)

    async def _office(self, role: StaffRole, office_id: str | None) -> str | None:
        """The office a member of ``role`` is bound to: for a window clerk one that
        booking's catalogue has (422 ``office_not_found`` otherwise), else none."""
        office = check_office(role, office_id)
        if office is not None and not await self.offices.exists(office):
            raise ProblemError(
                "office_not_found",
                f"No office {office!r} in the catalogue.",
                field="office_id",
                kind=Kind.UNPROCESSABLE,
            )
        return office

    async def prepare(self) -> None:
        await self._dummy()

    async def sign_in(self, raw_username: str, password: str, address: str) -> tuple[StaffAccount, str, int]:
        """(account, staff token, lifetime in seconds) for a right username and password."""
        now = self.clock()
        username = normalise_username(raw_username)
        keys = self._throttle_keys(username, address)
        async with self.uow.read() as store:
            await self._wait(store, keys, now)
            found = await store.staff_by_username(username)
        # The hashing runs off the event loop: argon2 takes tens of milliseconds.
        stored = found[1] if found else await self._dummy()
        right = len(password) <= PASSWORD_MAX and await self._verify(stored, password)
        account = found[0] if found else None
        # A hash made with parameters weaker than today's is replaced on a sign-in
        # (the only time the password is at hand), hashed before the transaction.
        rehashed = (
            await self._hash(password)
            if account is not None and right and self.passwords.needs_rehash(stored)
            else None
        )
        if account is None:
            subject, reason = f"username:{self._username_key(username)}", "unknown_username"
        else:
            subject, reason = f"staff:{account.id}", "wrong_password" if not right else "disabled"
        async with self.uow.write() as store:
            # Again inside the write: concurrent tries may have reached the limit meanwhile.
            await self._wait(store, keys, now)
            if account is not None and right and account.active:
                # The owner's own mistypes from this address are forgotten; what the
                # address did under other usernames is not.
                await store.clear_failures(keys[0])
                session_id = str(uuid.uuid4())
                token, lifetime = self.tokens.issue(
                    StaffClaims(
                        account.id, session_id, account.role.value, account.office_id or "", account.username
                    ),
                    now,
                )
                session = StaffSession(session_id, account.id, now + dt.timedelta(seconds=lifetime), None)
                await store.add_staff_session(session, now)
                if rehashed is not None:
                    await store.set_password_hash(account.id, rehashed, now)
                await store.audit(
                    actor=f"staff:{account.id}",
                    action="staff.sign_in",
                    subject=f"staff:{account.id}",
                    detail={"address": address, "session_id": session.id},
                )
                return account, token, lifetime
            for key in keys:
                await store.add_failure(key, now)
            await store.audit(
                actor="anonymous",
                action="staff.sign_in_failed",
                subject=subject,
                detail={"address": address, "reason": reason},
            )
        raise _wrong_credentials()  # after the commit, so that the failure stays counted

    async def authenticate(self, token: str) -> tuple[StaffAccount, str]:
        """The account behind a staff token as it is now (role and office read from
        the account, not the token, so a change applies at once), and the session id."""
        now = self.clock()
        claims = self.tokens.verify(token, now)
        async with self.uow.read() as store:
            session = await store.staff_session(claims.session_id)
            account = await store.staff(claims.staff_id)
        if (
            session is None
            or session.staff_id != claims.staff_id
            or session.revoked_at is not None
            or session.expires_at <= now
            or account is None
            or not account.active
        ):
            raise _session_ended()
        return account, session.id

    async def sign_out(self, token: str) -> None:
        account, session_id = await self.authenticate(token)
        async with self.uow.write() as store:
            await store.revoke_staff_session(session_id, self.clock())
            await store.audit(
                actor=f"staff:{account.id}",
                action="staff.sign_out",
                subject=f"staff:{account.id}",
                detail={"session_id": session_id},
            )

    # --- administration ----------------------------------------------------------

    async def create(
        self,
        *,
        actor: str,
        username: str,
        display_name: str,
        role: StaffRole,
        office_id: str | None,
        password: str,
    ) -> StaffAccount:
        username = check_username(username)
        check_password(password)
        account = StaffAccount(
            id=str(uuid.uuid4()),
            username=username,
            display_name=_display_name(display_name, username),
            role=role,
            office_id=await self._office(role, office_id),
            active=True,
        )
        password_hash = await self._hash(password)
        async with self.uow.write() as store:
            if not await store.add_staff(account, password_hash, self.clock()):
                raise Conflict(
                    "username_taken", f"There is already a staff member {username!r}.", field="username"
                )
            await store.audit(
                actor=actor,
                action="staff.create",
                subject=f"staff:{account.id}",
                detail={"username": username, "role": role.value, "office_id": account.office_id},
            )
        return account

    async def ensure_administrator(self, *, username: str, password: str) -> bool:
        """The bootstrap administrator, made when that username does not exist yet;
        True when it was made. An existing account is left as it is (its password
        may have been changed since), which makes this safe on every start."""
        async with self.uow.read() as store:
            if await store.staff_by_username(check_username(username)) is not None:
                return False
        try:
            await self.create(
                actor="system:bootstrap",
                username=username,
                display_name="Bootstrap administrator",
                role=StaffRole.ADMINISTRATOR,
                office_id=None,
                password=password,
            )
        except Conflict:  # another replica made it first
            return False
        return True

    async def list_staff(
        self, role: StaffRole | None = None, office_id: str | None = None
    ) -> list[StaffAccount]:
        async with self.uow.read() as store:
            return await store.list_staff(role, office_id or None)

    async def _change(
        self, actor: str, staff_id: str, change: Callable[[StaffAccount], StaffAccount]
    ) -> StaffAccount:
        now = self.clock()
        async with self.uow.write() as store:
            before = await store.staff(staff_id)
            if before is None:
                raise NotFound("staff", staff_id, field="staff_id")
            after = change(before)
            if after == before:
                return after
            was_admin = before.active and before.role is StaffRole.ADMINISTRATOR
            is_admin = after.active and after.role is StaffRole.ADMINISTRATOR
            if was_admin and not is_admin and await store.count_active(StaffRole.ADMINISTRATOR) <= 1:
                # Nobody could then manage staff, short of the CLI on the server.
                raise Conflict(
                    "last_administrator", "This is the last active administrator.", field="staff_id"
                )
            await store.update_staff(after, now)
            if before.active and not after.active:
                await store.revoke_staff_sessions_of(staff_id, now, "disabled")
            elif (before.role, before.office_id) != (after.role, after.office_id):
                # Tokens say the role and office (the gateway reads them there, with
                # no call): a change ends the sessions, and the member signs in again.
                await store.revoke_staff_sessions_of(staff_id, now, "role_change")
            detail: dict[str, object] = {}
            if before.active != after.active:
                action = "staff.enable" if after.active else "staff.disable"
            else:
                action = "staff.role_change"
                detail = {
                    "from": before.role.value,
                    "to": after.role.value,
                    "office_from": before.office_id,
                    "office_to": after.office_id,
                }
            await store.audit(actor=actor, action=action, subject=f"staff:{staff_id}", detail=detail)
        return after

    async def set_active(self, *, actor: str, staff_id: str, active: bool) -> StaffAccount:
        return await self._change(actor, staff_id, lambda a: replace(a, active=active))

    async def set_role(
        self, *, actor: str, staff_id: str, role: StaffRole, office_id: str | None
    ) -> StaffAccount:
        office = await self._office(role, office_id)
        return await self._change(actor, staff_id, lambda a: replace(a, role=role, office_id=office))
