"""Policies with effective dates on SQL (SQLite or PostgreSQL), inside one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.booking.adapters import orm
from services.booking.domain.policies import Kind, Policy, State
from services.runtime.db import as_utc

p = orm.policies


class SqlPolicyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def add(self, policy: Policy) -> None:
        await self.conn.execute(
            p.insert().values(
                id=policy.id,
                city_code=policy.city_code,
                kind=policy.kind.value,
                subject=policy.subject,
                details=dict(policy.details),
                effective_from=policy.effective_from,
                effective_until=policy.effective_until,
                state=policy.state.value,
                previous=None,
                created_at=policy.created_at,
                created_by=policy.created_by,
            )
        )

    async def get(self, policy_id: str) -> Policy | None:
        row = (await self.conn.execute(select(p).where(p.c.id == policy_id))).first()
        return _policy(row) if row else None

    async def list_for(self, city_code: str, states: list[State]) -> list[Policy]:
        query = select(p).where(p.c.city_code == city_code)
        if states:
            query = query.where(p.c.state.in_([s.value for s in states]))
        rows = await self.conn.execute(query.order_by(p.c.effective_from, p.c.created_at, p.c.id))
        return [_policy(r) for r in rows]

    async def due(self, now: dt.datetime, limit: int) -> list[str]:
        """Scheduled policies whose time has come, oldest first."""
        rows = await self.conn.execute(
            select(p.c.id)
            .where(p.c.state == State.SCHEDULED.value, p.c.effective_from <= now)
            .order_by(p.c.effective_from, p.c.created_at, p.c.id)
            .limit(limit)
        )
        return [r.id for r in rows]

    async def expired(self, now: dt.datetime, limit: int) -> list[str]:
        """Policies in force whose effective_until has passed."""
        rows = await self.conn.execute(
            select(p.c.id)
            .where(p.c.state == State.IN_FORCE.value, p.c.effective_until <= now)
            .order_by(p.c.effective_until, p.c.id)
            .limit(limit)
        )
        return [r.id for r in rows]

    async def in_force(
        self, city_code: str | None = None, kind: Kind | None = None, subject: str | None = None
    ) -> list[Policy]:
        query = select(p).where(p.c.state == State.IN_FORCE.value)
        if city_code is not None:
            query = query.where(p.c.city_code == city_code)
        if kind is not None:
            query = query.where(p.c.kind == kind.value)
        if subject is not None:
            query = query.where(p.c.subject == subject)
        rows = await self.conn.execute(query.order_by(p.c.effective_from, p.c.created_at, p.c.id))
        return [_policy(r) for r in rows]

    async def unfinished_closures(self) -> list[str]:
        rows = await self.conn.execute(
            select(p.c.id).where(
                p.c.state == State.IN_FORCE.value,
                p.c.kind == Kind.OFFICE_CLOSURE.value,
                p.c.closure_done.is_(False),
            )
        )
        return [r.id for r in rows]

    async def move(
        self,
        policy_id: str,
        old: State,
        new: State,
        now: dt.datetime,
        *,
        previous: dict[str, Any] | None = None,
        effective_until: dt.datetime | None = None,
    ) -> bool:
        """Only from ``old``: of two keepers (or a keeper and an administrator) moving
        one policy at once, one wins; the other changes nothing."""
        values: dict[str, Any] = {"state": new.value, "changed_at": now}
        if previous is not None:
            values["previous"] = previous
        if effective_until is not None:
            values["effective_until"] = effective_until
        done = await self.conn.execute(
            update(p).where(p.c.id == policy_id, p.c.state == old.value).values(**values)
        )
        return bool(done.rowcount)

    async def set_previous(self, policy_id: str, previous: dict[str, Any]) -> None:
        await self.conn.execute(update(p).where(p.c.id == policy_id).values(previous=previous))

    async def closure_progress(self, policy_id: str, cancelled: int, *, done: bool) -> None:
        await self.conn.execute(
            update(p)
            .where(p.c.id == policy_id)
            .values(cancelled_count=p.c.cancelled_count + cancelled, closure_done=done)
        )


def _policy(r: Row[Any]) -> Policy:
    created = as_utc(r.created_at)
    starts = as_utc(r.effective_from)
    assert created is not None and starts is not None
    return Policy(
        id=r.id,
        city_code=r.city_code,
        kind=Kind(r.kind),
        subject=r.subject,
        details=r.details,
        effective_from=starts,
        effective_until=as_utc(r.effective_until),
        created_at=created,
        created_by=r.created_by,
        state=State(r.state),
        previous=r.previous,
        closure_done=r.closure_done,
        cancelled_count=r.cancelled_count,
        changed_at=as_utc(r.changed_at),
    )
