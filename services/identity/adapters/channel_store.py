"""Identity's store with the tables of channel bindings, device challenges and face
attempts (service_layer/channel_ports.py ChannelStore)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.exc import IntegrityError

from services.identity.adapters import orm
from services.identity.adapters.store import SqlStore
from services.identity.domain.channels import Binding, BindingKind, DeviceChallenge
from services.runtime.db import as_utc
from services.runtime.errors import Conflict


def _binding(row: Row[Any]) -> Binding:
    created = as_utc(row.created_at)
    assert created is not None
    return Binding(
        id=row.id,
        citizen_id=row.citizen_id,
        kind=BindingKind(row.kind),
        city_code=row.city_code,
        label=row.label,
        created_at=created,
        last_used_at=as_utc(row.last_used_at),
        public_key=bytes(row.public_key or b""),
        subject_kept=row.subject_sealed is not None,
    )


class SqlChannelStore(SqlStore):
    async def binding_by_subject(self, kind: BindingKind, city: str, lookup: str) -> Binding | None:
        b = orm.bindings
        query = select(b).where(b.c.kind == kind.value, b.c.city_code == city, b.c.subject_lookup == lookup)
        row = (await self.conn.execute(query)).first()
        return _binding(row) if row else None

    async def bindings_of(self, citizen_id: str) -> list[Binding]:
        b = orm.bindings
        query = select(b).where(b.c.citizen_id == citizen_id).order_by(b.c.created_at, b.c.id)
        return [_binding(row) for row in await self.conn.execute(query)]

    async def add_binding(self, binding: Binding, lookup: str, subject: str) -> None:
        try:
            # A savepoint, so that PostgreSQL's transaction survives the refusal.
            async with self.conn.begin_nested():
                await self.conn.execute(
                    orm.bindings.insert().values(
                        id=binding.id,
                        citizen_id=binding.citizen_id,
                        kind=binding.kind.value,
                        city_code=binding.city_code,
                        subject_lookup=lookup,
                        subject_sealed=self.cipher.seal(subject),
                        public_key=binding.public_key or None,
                        label=binding.label,
                        created_at=binding.created_at,
                    )
                )
        except IntegrityError:
            # Another request bound the same openid or device between our look and
            # our insert (PostgreSQL; SQLite writers take turns).
            raise Conflict("already_bound", "This account or device was bound just now.") from None

    async def keep_subject(self, binding_id: str, subject: str) -> bool:
        b = orm.bindings
        done = await self.conn.execute(
            update(b)
            .where(b.c.id == binding_id, b.c.subject_sealed.is_(None))
            .values(subject_sealed=self.cipher.seal(subject))
        )
        return bool(done.rowcount)

    async def update_device_key(self, binding_id: str, public_key: bytes, label: str) -> None:
        b = orm.bindings
        await self.conn.execute(
            update(b).where(b.c.id == binding_id).values(public_key=public_key, label=label)
        )

    async def remove_binding(self, binding_id: str, citizen_id: str, at: dt.datetime) -> Binding | None:
        b, bs, s = orm.bindings, orm.binding_sessions, orm.sessions
        row = (
            await self.conn.execute(select(b).where(b.c.id == binding_id, b.c.citizen_id == citizen_id))
        ).first()
        if row is None:
            return None
        opened = select(bs.c.session_id).where(bs.c.binding_id == binding_id)
        open_now = (s.c.id.in_(opened), s.c.revoked_at.is_(None))
        ending = list(
            (await self.conn.execute(select(s.c.id).where(*open_now, s.c.expires_at > at))).scalars()
        )
        await self.conn.execute(update(s).where(*open_now).values(revoked_at=at))
        await self.tell_gateways(ending, "binding_removed")
        await self.conn.execute(delete(bs).where(bs.c.binding_id == binding_id))
        await self.conn.execute(delete(b).where(b.c.id == binding_id))
        return _binding(row)

    async def binding_used(self, binding_id: str, session_id: str, at: dt.datetime) -> None:
        b = orm.bindings
        await self.conn.execute(update(b).where(b.c.id == binding_id).values(last_used_at=at))
        await self.conn.execute(
            orm.binding_sessions.insert().values(session_id=session_id, binding_id=binding_id)
        )

    async def add_device_challenge(self, challenge: DeviceChallenge, at: dt.datetime) -> None:
        await self.conn.execute(
            orm.device_challenges.insert().values(
                nonce=challenge.nonce,
                device_lookup=challenge.device_lookup,
                created_at=at,
                expires_at=challenge.expires_at,
            )
        )

    async def spend_device_challenge(self, nonce: str, at: dt.datetime) -> DeviceChallenge | None:
        c = orm.device_challenges
        # The conditional update is the lock: of two requests with one nonce, one wins.
        done = await self.conn.execute(
            update(c).where(c.c.nonce == nonce, c.c.used_at.is_(None)).values(used_at=at)
        )
        if not done.rowcount:
            return None
        row = (await self.conn.execute(select(c).where(c.c.nonce == nonce))).one()
        expires = as_utc(row.expires_at)
        assert expires is not None
        return DeviceChallenge(row.nonce, row.device_lookup, expires, None)

    async def add_face_attempt(
        self, *, citizen_id: str, session_id: str, matched: bool, provider_ref: str, at: dt.datetime
    ) -> None:
        await self.conn.execute(
            orm.face_attempts.insert().values(
                id=str(uuid.uuid4()),
                citizen_id=citizen_id,
                session_id=session_id,
                matched=matched,
                provider_ref=provider_ref[:128],
                at=at,
            )
        )

    async def face_failures_since(self, citizen_id: str, since: dt.datetime) -> list[dt.datetime]:
        f = orm.face_attempts
        query = (
            select(f.c.at)
            .where(f.c.citizen_id == citizen_id, f.c.matched.is_(False), f.c.at >= since)
            .order_by(f.c.at)
        )
        return [t for (at,) in await self.conn.execute(query) if (t := as_utc(at)) is not None]

    async def last_face_match(self, session_id: str) -> dt.datetime | None:
        f = orm.face_attempts
        query = (
            select(f.c.at).where(f.c.session_id == session_id, f.c.matched.is_(True)).order_by(f.c.at.desc())
        )
        return as_utc((await self.conn.execute(query.limit(1))).scalar())
