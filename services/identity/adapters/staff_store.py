"""Staff accounts, staff sessions and failed sign-ins on SQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.adapters import orm
from services.identity.domain.staff import StaffAccount, StaffRole
from services.identity.service_layer.staff import StaffSession
from services.runtime import audit as audit_log
from services.runtime.clock import Clock
from services.runtime.db import as_utc
from services.runtime.revocations import add_revocations

_accounts = orm.staff_accounts
_sessions = orm.staff_sessions
_rates = orm.rate_events


def _account(row: Row[Any]) -> StaffAccount:
    return StaffAccount(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=StaffRole(row.role),
        office_id=row.office_id,
        active=row.active,
    )


class SqlStaffStore:
    def __init__(self, conn: AsyncConnection, clock: Clock) -> None:
        self.conn = conn
        #: Something for the relay was written: the unit of work wakes it at commit.
        self.wrote_outbox = False
        self.clock = clock

    async def staff_by_username(self, username: str) -> tuple[StaffAccount, str] | None:
        row = (await self.conn.execute(select(_accounts).where(_accounts.c.username == username))).first()
        return (_account(row), row.password_hash) if row else None

    async def staff(self, staff_id: str) -> StaffAccount | None:
        row = (await self.conn.execute(select(_accounts).where(_accounts.c.id == staff_id))).first()
        return _account(row) if row else None

    async def list_staff(self, role: StaffRole | None, office_id: str | None) -> list[StaffAccount]:
        query = select(_accounts).order_by(_accounts.c.username)
        if role is not None:
            query = query.where(_accounts.c.role == role.value)
        if office_id is not None:
            query = query.where(_accounts.c.office_id == office_id)
        return [_account(row) for row in await self.conn.execute(query)]

    async def add_staff(self, account: StaffAccount, password_hash: str, at: dt.datetime) -> bool:
        # A savepoint, so that a taken username leaves the transaction usable.
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(
                    insert(_accounts).values(
                        id=account.id,
                        username=account.username,
                        display_name=account.display_name,
                        role=account.role.value,
                        office_id=account.office_id,
                        active=account.active,
                        password_hash=password_hash,
                        created_at=at,
                        updated_at=at,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def update_staff(self, account: StaffAccount, at: dt.datetime) -> None:
        await self.conn.execute(
            update(_accounts)
            .where(_accounts.c.id == account.id)
            .values(
                display_name=account.display_name,
                role=account.role.value,
                office_id=account.office_id,
                active=account.active,
                updated_at=at,
            )
        )

    async def set_password_hash(self, staff_id: str, password_hash: str, at: dt.datetime) -> None:
        await self.conn.execute(
            update(_accounts)
            .where(_accounts.c.id == staff_id)
            .values(password_hash=password_hash, updated_at=at)
        )

    async def count_active(self, role: StaffRole) -> int:
        query = select(func.count()).where(_accounts.c.role == role.value, _accounts.c.active.is_(True))
        return int((await self.conn.execute(query)).scalar_one())

    async def failures(self, key: str, since: dt.datetime) -> list[dt.datetime]:
        query = select(_rates.c.at).where(_rates.c.key == key, _rates.c.at > since)
        return [t for (at,) in await self.conn.execute(query) if (t := as_utc(at)) is not None]

    async def add_failure(self, key: str, at: dt.datetime) -> None:
        await self.conn.execute(insert(_rates).values(key=key, at=at))

    async def clear_failures(self, key: str) -> None:
        await self.conn.execute(delete(_rates).where(_rates.c.key == key))

    async def add_staff_session(self, session: StaffSession, at: dt.datetime) -> None:
        await self.conn.execute(
            insert(_sessions).values(
                id=session.id, staff_id=session.staff_id, created_at=at, expires_at=session.expires_at
            )
        )

    async def staff_session(self, session_id: str) -> StaffSession | None:
        row = (await self.conn.execute(select(_sessions).where(_sessions.c.id == session_id))).first()
        if row is None:
            return None
        expires = as_utc(row.expires_at)
        assert expires is not None
        return StaffSession(row.id, row.staff_id, expires, as_utc(row.revoked_at))

    async def revoke_staff_session(self, session_id: str, at: dt.datetime) -> None:
        done = await self.conn.execute(
            update(_sessions)
            .where(_sessions.c.id == session_id, _sessions.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        if done.rowcount:
            await self._tell_gateways([session_id], "sign_out")

    async def revoke_staff_sessions_of(self, staff_id: str, at: dt.datetime, reason: str) -> None:
        open_now = (_sessions.c.staff_id == staff_id, _sessions.c.revoked_at.is_(None))
        ending = list(
            (
                await self.conn.execute(select(_sessions.c.id).where(*open_now, _sessions.c.expires_at > at))
            ).scalars()
        )
        await self.conn.execute(update(_sessions).where(*open_now).values(revoked_at=at))
        await self._tell_gateways(ending, reason)

    async def _tell_gateways(self, session_ids: list[str], reason: str) -> None:
        """Every gateway refuses these sessions' tokens from now on (the revocation
        bucket, through the outbox in this transaction)."""
        if session_ids:
            await add_revocations(self.conn, orm.outbox, session_ids, reason)
            self.wrote_outbox = True

    async def audit(self, *, actor: str, action: str, subject: str, detail: dict[str, object]) -> None:
        await audit_log.append(
            self.conn, orm.audit, actor=actor, action=action, subject=subject, detail=detail, at=self.clock()
        )
