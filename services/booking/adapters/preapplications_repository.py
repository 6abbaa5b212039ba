"""Pre-applications, their history, documents, forms and entitlements on SQL.

The answers are sealed here, on the way in and out: nothing above this module
sees a token, nothing below it (the database, a backup) sees an answer. State
changes are conditional updates (``WHERE status = <the state it was read in>``),
so two reviewers deciding at once cannot both succeed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.booking.adapters import orm
from services.booking.domain.preapplications import (
    Attachment,
    Change,
    Entitlement,
    Form,
    PreApplication,
    Status,
)
from services.runtime.db import as_utc, dialect_insert
from services.runtime.pii import PiiCipher

p, ch, at, en, fo = (
    orm.pre_applications,
    orm.pre_application_changes,
    orm.pre_application_attachments,
    orm.booking_entitlements,
    orm.pre_application_forms,
)


class SqlPreApplicationRepository:
    def __init__(self, conn: AsyncConnection, cipher: PiiCipher | None) -> None:
        self.conn = conn
        self._insert = dialect_insert(conn.dialect.name)
        self._cipher = cipher
        self._postgres = conn.dialect.name == "postgresql"

    @property
    def cipher(self) -> PiiCipher:
        if self._cipher is None:  # pragma: no cover - the composition root always gives one
            raise RuntimeError("booking's unit of work was built without a cipher")
        return self._cipher

    # forms (catalogue data)

    async def save_form(self, city_code: str, business_code: str, form: Form | None) -> None:
        await self.conn.execute(
            delete(fo).where(fo.c.city_code == city_code, fo.c.business_code == business_code)
        )
        if form is not None:
            await self.conn.execute(
                fo.insert().values(city_code=city_code, business_code=business_code, form=form.to_json())
            )

    async def get_form(self, city_code: str, business_code: str) -> Form | None:
        row = (
            await self.conn.execute(
                select(fo.c.form).where(fo.c.city_code == city_code, fo.c.business_code == business_code)
            )
        ).first()
        return None if row is None else Form.from_json(city_code, business_code, row.form)

    # pre-applications

    async def add(self, pre: PreApplication) -> None:
        await self.conn.execute(
            p.insert().values(
                id=pre.id,
                citizen_id=pre.citizen_id,
                city_code=pre.city_code,
                business_code=pre.business_code,
                status=pre.status.value,
                answers_sealed=self._seal(pre.answers),
                note=pre.note,
                created_at=pre.created_at,
                changed_at=pre.changed_at,
                submitted_at=pre.submitted_at,
            )
        )
        for change in pre.history:
            await self.add_change(pre.id, change)

    async def get(
        self, pre_application_id: str, *, citizen_id: str | None = None, for_update: bool = False
    ) -> PreApplication | None:
        """By id; with ``citizen_id``, only if it is that citizen's."""
        query = select(p).where(p.c.id == pre_application_id)
        if citizen_id is not None:
            query = query.where(p.c.citizen_id == citizen_id)
        if for_update and self._postgres:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        if row is None:
            return None
        history = (
            await self.conn.execute(
                select(ch).where(ch.c.pre_application_id == pre_application_id).order_by(ch.c.seq)
            )
        ).all()
        return self._pre(row, tuple(_change(r) for r in history))

    async def list_own(self, citizen_id: str) -> list[PreApplication]:
        rows = (
            await self.conn.execute(
                select(p).where(p.c.citizen_id == citizen_id).order_by(p.c.created_at.desc(), p.c.id)
            )
        ).all()
        return [self._pre(r, ()) for r in rows]

    async def queue(
        self, city_codes: list[str] | None, statuses: list[Status], business_code: str, limit: int
    ) -> list[PreApplication]:
        """Oldest submission first; ``city_codes`` None: every city."""
        query = select(p).where(p.c.status.in_([s.value for s in statuses]))
        if city_codes is not None:
            query = query.where(p.c.city_code.in_(city_codes))
        if business_code:
            query = query.where(p.c.business_code == business_code)
        query = query.order_by(p.c.submitted_at.is_(None), p.c.submitted_at, p.c.created_at, p.c.id)
        rows = (await self.conn.execute(query.limit(limit))).all()
        return [self._pre(r, ()) for r in rows]

    async def save_answers(self, pre: PreApplication, at_: dt.datetime) -> bool:
        result = await self.conn.execute(
            update(p)
            .where(p.c.id == pre.id, p.c.status == pre.status.value)
            .values(answers_sealed=self._seal(pre.answers), changed_at=at_)
        )
        return result.rowcount == 1

    async def move(self, old: PreApplication, new: PreApplication, change: Change) -> bool:
        """Record ``change`` if ``old`` is still in the state it was read in."""
        result = await self.conn.execute(
            update(p)
            .where(p.c.id == old.id, p.c.status == old.status.value)
            .values(
                status=new.status.value,
                note=new.note,
                changed_at=new.changed_at,
                submitted_at=new.submitted_at,
            )
        )
        if result.rowcount != 1:
            return False
        await self.add_change(old.id, change)
        return True

    async def add_change(self, pre_application_id: str, change: Change) -> None:
        await self.conn.execute(
            ch.insert().values(
                pre_application_id=pre_application_id,
                at=change.at,
                old_status=change.old.value if change.old else None,
                new_status=change.new.value,
                actor=change.actor,
                note=change.note,
            )
        )

    # attachments

    async def add_attachment(self, attachment: Attachment, object_key: str) -> None:
        await self.conn.execute(
            at.insert().values(
                id=attachment.id,
                pre_application_id=attachment.pre_application_id,
                media_type=attachment.media_type,
                size=attachment.size,
                label=attachment.label,
                object_key=object_key,
                created_at=attachment.created_at,
            )
        )

    async def count_attachments(self, pre_application_id: str) -> int:
        return int(
            (
                await self.conn.execute(
                    select(func.count()).where(at.c.pre_application_id == pre_application_id)
                )
            ).scalar_one()
        )

    async def attachments(self, pre_application_id: str) -> list[Attachment]:
        rows = (
            await self.conn.execute(
                select(at)
                .where(at.c.pre_application_id == pre_application_id)
                .order_by(at.c.created_at, at.c.id)
            )
        ).all()
        return [_attachment(r) for r in rows]

    async def attachment(self, pre_application_id: str, attachment_id: str) -> tuple[Attachment, str] | None:
        """The attachment and its object key."""
        row = (
            await self.conn.execute(
                select(at).where(at.c.id == attachment_id, at.c.pre_application_id == pre_application_id)
            )
        ).first()
        return None if row is None else (_attachment(row), row.object_key)

    # entitlements

    async def issue_entitlement(self, entitlement: Entitlement) -> None:
        await self.conn.execute(
            en.insert().values(
                pre_application_id=entitlement.pre_application_id,
                citizen_id=entitlement.citizen_id,
                city_code=entitlement.city_code,
                business_code=entitlement.business_code,
                issued_at=entitlement.issued_at,
                expires_at=entitlement.expires_at,
                booking_id=None,
            )
        )

    async def entitlement(self, pre_application_id: str) -> Entitlement | None:
        row = (
            await self.conn.execute(select(en).where(en.c.pre_application_id == pre_application_id))
        ).first()
        if row is None:
            return None
        return Entitlement(
            row.pre_application_id,
            row.citizen_id,
            row.city_code,
            row.business_code,
            as_utc(row.issued_at),  # type: ignore[arg-type]
            as_utc(row.expires_at),  # type: ignore[arg-type]
            row.booking_id,
        )

    async def consume_entitlement(
        self, pre_application_id: str, citizen_id: str, booking_id: str, now: dt.datetime
    ) -> bool:
        """Bind the entitlement to ``booking_id`` if it is unused and unexpired: the
        database decides between two bookings racing for it."""
        result = await self.conn.execute(
            update(en)
            .where(
                en.c.pre_application_id == pre_application_id,
                en.c.citizen_id == citizen_id,
                en.c.booking_id.is_(None),
                en.c.expires_at > now,
            )
            .values(booking_id=booking_id)
        )
        return result.rowcount == 1

    async def give_back_entitlement(self, booking_id: str) -> bool:
        result = await self.conn.execute(
            update(en).where(en.c.booking_id == booking_id).values(booking_id=None)
        )
        return result.rowcount == 1

    # sealing

    def _seal(self, answers: Any) -> str:
        return self.cipher.seal(json.dumps(dict(answers), ensure_ascii=False, sort_keys=True))

    def _pre(self, row: Row[Any], history: tuple[Change, ...]) -> PreApplication:
        return PreApplication(
            id=row.id,
            citizen_id=row.citizen_id,
            city_code=row.city_code,
            business_code=row.business_code,
            status=Status(row.status),
            answers=json.loads(self.cipher.open(row.answers_sealed)),
            created_at=as_utc(row.created_at),  # type: ignore[arg-type]
            changed_at=as_utc(row.changed_at),  # type: ignore[arg-type]
            submitted_at=as_utc(row.submitted_at),
            note=row.note,
            history=history,
        )


def _change(r: Row[Any]) -> Change:
    return Change(
        as_utc(r.at),  # type: ignore[arg-type]
        Status(r.old_status) if r.old_status else None,
        Status(r.new_status),
        r.actor,
        r.note,
    )


def _attachment(r: Row[Any]) -> Attachment:
    return Attachment(
        r.id,
        r.pre_application_id,
        r.media_type,
        r.size,
        r.label,
        as_utc(r.created_at),  # type: ignore[arg-type]
    )
