"""The notify store on SQL (SQLite or PostgreSQL), inside one transaction.
Citizens' addresses are sealed on the way in and opened on the way out."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    Row,
    String,
    Text,
    TextClause,
    and_,
    any_,
    bindparam,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notify.adapters import orm
from services.notify.adapters.sandbox import to_lookup
from services.notify.domain.messages import Delivery, Message
from services.notify.domain.model import Addresses, Channel, Contacts, Status
from services.notify.service_layer.ports import Sent
from services.runtime.db import as_utc, insert_built_once, upsert
from services.runtime.pii import PiiCipher

#: Statements built once (per dialect): built per call, SQLAlchemy would make and
#: key each one again for every message of a crowd.
#: Messages of a batch in one statement (SQLAlchemy's "insertmanyvalues": one INSERT
#: … VALUES (…), (…) … RETURNING); the ids given back are the ones written, not those
#: whose source_key was there already.
_INSERT_MESSAGES = {
    dialect: insert_built_once(orm.messages, dialect).on_conflict_do_nothing().returning(orm.messages.c.id)
    for dialect in ("postgresql", "sqlite")
}
#: A new message's deliveries, their positions given (0, 1, … in the order made):
#: the count _INSERT_DELIVERY asks for is known while its message is new.
_INSERT_NEW_DELIVERIES = orm.deliveries.insert()


def _pg_add_messages() -> TextClause:
    """PostgreSQL's one statement for a batch's messages and their first deliveries:
    the messages' ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` (the guard of the
    two statements SQLite runs), the deliveries only of the messages that returned;
    the ids written come back. Every column is an array of the batch's values, spread
    by ``unnest``: one text, prepared once by asyncpg, whatever the batch's size."""
    m = [c for c in orm.messages.c if c.name != "read_at"]
    d = list(orm.deliveries.c)

    def spread(prefix: str, columns: list[Column[Any]]) -> str:
        arrays = ", ".join(f"CAST(:{prefix}{c.name} AS {_PG_ARRAY[type(c.type)]}[])" for c in columns)
        return f"unnest({arrays}) AS v({', '.join(c.name for c in columns)})"

    def value(c: Column[Any]) -> str:  # JSON travels as text, as SQLAlchemy's own JSON binds do
        return f"CAST(v.{c.name} AS json)" if isinstance(c.type, JSON) else f"v.{c.name}"

    return text(
        f"WITH m AS (INSERT INTO {orm.messages.name} ({', '.join(c.name for c in m)}) "
        f"SELECT {', '.join(value(c) for c in m)} FROM {spread('m_', m)} "
        f"ON CONFLICT DO NOTHING RETURNING id), "
        f"d AS (INSERT INTO {orm.deliveries.name} ({', '.join(c.name for c in d)}) "
        f"SELECT {', '.join(value(c) for c in d)} FROM {spread('d_', d)} JOIN m ON m.id = v.message_id) "
        f"SELECT id FROM m"
    )


def _pg_record_sent() -> TextClause:
    """PostgreSQL's one statement for a round's accepted deliveries and the records
    the sandboxes asked for (both statements SQLite runs): the deliveries' UPDATE
    returns what a record holds — the delivery's sealed address and texts, as
    _KEEP_RECORD takes them — and the records are inserted from it in the round's order."""
    return text(
        "WITH v AS (SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:statuses AS text[]), "
        "CAST(:providers AS text[]), CAST(:refs AS text[]), CAST(:lookups AS text[])) "
        "WITH ORDINALITY AS v(id, status, provider, ref, lookup, n)), "
        f"sent AS (UPDATE {orm.deliveries.name} AS d SET status = v.status, reason = '', "
        "provider = coalesce(v.provider, d.provider), provider_ref = coalesce(v.ref, d.provider_ref), "
        "updated_at = :recorded_at FROM v WHERE d.id = v.id "
        "RETURNING d.id, d.channel, d.address_sealed, d.title, d.body, v.provider, v.lookup, v.n) "
        f"INSERT INTO {orm.sandbox_records.name} "
        "(provider, channel, to_sealed, to_lookup, title, body, delivery_id, recorded_at) "
        "SELECT provider, channel, address_sealed, lookup, title, body, id, :kept_at FROM sent "
        "WHERE lookup IS NOT NULL ORDER BY n"
    ).bindparams(
        bindparam("recorded_at", type_=DateTime(timezone=True)),
        bindparam("kept_at", type_=DateTime(timezone=True)),
    )


#: PostgreSQL's array element type for a column type (the arrays _pg_add_messages spreads).
_PG_ARRAY = {
    String: "text",
    Text: "text",
    JSON: "text",
    Boolean: "boolean",
    Integer: "integer",
    DateTime: "timestamptz",
}
_PG_ADD_MESSAGES = _pg_add_messages()
_PG_RECORD_SENT = _pg_record_sent()
#: The contacts of a batch's citizens in one query. On PostgreSQL the ids are one
#: array (``= ANY``): an expanding ``IN`` is a text per number of citizens, each
#: rendered again per execution and prepared anew by asyncpg on each connection.
_SELECT_CONTACTS = {
    "postgresql": select(orm.contacts).where(
        orm.contacts.c.citizen_id == any_(bindparam("of_citizens", type_=ARRAY(String)))
    ),
    "sqlite": select(orm.contacts).where(
        orm.contacts.c.citizen_id.in_(bindparam("of_citizens", expanding=True))
    ),
}
#: A delivery goes after its message's others.
_INSERT_DELIVERY = orm.deliveries.insert().values(
    position=select(func.count())
    .where(orm.deliveries.c.message_id == bindparam("of_message"))
    .scalar_subquery()
)


def _claim_due(dialect: str) -> Any:
    """Queued deliveries due by ``claimed_at``, at most ``round_size``, switched to
    SENDING with one more attempt: one statement for a whole round. The status in the
    WHERE makes the claim safe among several workers: a row another one claimed
    meanwhile is no longer QUEUED when this UPDATE reaches it, and is left out."""
    d = orm.deliveries
    due = (
        select(d.c.id)
        .where(d.c.status == Status.QUEUED.value, d.c.due_at <= bindparam("claimed_at"))
        .order_by(d.c.due_at)
        .limit(bindparam("round_size"))
    )
    if dialect == "postgresql":
        # Another worker's claim in progress is passed over, not waited for.
        due = due.with_for_update(skip_locked=True)
    return (
        update(d)
        .where(d.c.id.in_(due.scalar_subquery()), d.c.status == Status.QUEUED.value)
        .values(status=Status.SENDING.value, attempts=d.c.attempts + 1, updated_at=bindparam("claimed_at"))
        .returning(*d.c)
    )


_ANY_DUE = select(
    exists().where(
        orm.deliveries.c.status == Status.QUEUED.value, orm.deliveries.c.due_at <= bindparam("claimed_at")
    )
)
_CLAIM_DUE = {"postgresql": _claim_due("postgresql"), "sqlite": _claim_due("sqlite")}
#: What a sandbox sent, taken from its delivery's row: the address stays the token the
#: delivery holds (no second sealing), the texts are not sent to the database again.
_KEEP_RECORD = orm.sandbox_records.insert().from_select(
    ["provider", "channel", "to_sealed", "to_lookup", "title", "body", "delivery_id", "recorded_at"],
    select(
        bindparam("of_provider", type_=String),
        orm.deliveries.c.channel,
        orm.deliveries.c.address_sealed,
        bindparam("to_lookup_of", type_=String),
        orm.deliveries.c.title,
        orm.deliveries.c.body,
        orm.deliveries.c.id,
        bindparam("kept_at", type_=DateTime(timezone=True)),
    ).where(orm.deliveries.c.id == bindparam("of_delivery")),
)
#: A round's accepted deliveries (executemany): no reason left, provider kept when none is given.
_RECORD_SENT = (
    update(orm.deliveries)
    .where(orm.deliveries.c.id == bindparam("delivery_id"))
    .values(
        status=bindparam("new_status"),
        reason="",
        provider=func.coalesce(bindparam("new_provider"), orm.deliveries.c.provider),
        provider_ref=func.coalesce(bindparam("new_ref"), orm.deliveries.c.provider_ref),
        updated_at=bindparam("recorded_at"),
    )
    .execution_options(synchronize_session=False)
)


class SqlStore:
    def __init__(self, conn: AsyncConnection, cipher: PiiCipher) -> None:
        self.conn = conn
        self.cipher = cipher
        #: The sealed form of each address the contacts read in this transaction gave:
        #: a delivery to one of them stores the same token, not one sealed again.
        self._sealed: dict[str, str] = {}

    def _seal(self, plain: str | None) -> str | None:
        return self.cipher.seal(plain) if plain else None

    def _open(self, sealed: str | None) -> str | None:
        return self.cipher.open(sealed) if sealed else None

    async def get_contacts(self, citizen_id: str) -> Contacts | None:
        return (await self.contacts_of({citizen_id})).get(citizen_id)

    async def contacts_of(self, citizen_ids: set[str]) -> dict[str, Contacts]:
        rows = await self.conn.execute(
            _SELECT_CONTACTS[self.conn.dialect.name], {"of_citizens": sorted(citizen_ids)}
        )
        return {
            row.citizen_id: Contacts(
                citizen_id=row.citizen_id,
                language=row.language,
                preferred=Channel(row.preferred) if row.preferred else None,
                phone=self._opened(row.phone_sealed),
                wechat_openids=json.loads(self._open(row.wechat_openids_sealed) or "{}"),
                app_device_token=self._opened(row.app_device_token_sealed),
            )
            for row in rows
        }

    def _opened(self, sealed: str | None) -> str | None:
        """An address opened, its token kept for the deliveries to it (see _sealed)."""
        plain = self._open(sealed)
        if plain is not None and sealed is not None:
            self._sealed[plain] = sealed
        return plain

    async def save_contacts(self, contacts: Contacts) -> None:
        values = {
            "language": contacts.language,
            "preferred": contacts.preferred.value if contacts.preferred else None,
            "phone_sealed": self._seal(contacts.phone),
            "wechat_openids_sealed": self._seal(
                json.dumps(contacts.wechat_openids, sort_keys=True) if contacts.wechat_openids else None
            ),
            "app_device_token_sealed": self._seal(contacts.app_device_token),
            "updated_at": dt.datetime.now(dt.UTC),
        }
        await upsert(self.conn, orm.contacts, {"citizen_id": contacts.citizen_id, **values}, ["citizen_id"])

    async def save_language(self, citizen_id: str, language: str) -> None:
        values = {"citizen_id": citizen_id, "language": language, "updated_at": dt.datetime.now(dt.UTC)}
        # A citizen nobody told notify the addresses of yet gets a row holding the
        # language alone; identity's addresses fill it in when they come.
        await upsert(self.conn, orm.contacts, values, ["citizen_id"])

    async def save_addresses(self, addresses: Addresses) -> bool:
        c = orm.contacts
        values = {
            "phone_sealed": self._seal(addresses.phone),
            "wechat_openids_sealed": self._seal(
                json.dumps(addresses.wechat_openids, sort_keys=True) if addresses.wechat_openids else None
            ),
            "app_device_token_sealed": self._seal(addresses.app_device_token),
            "addresses_as_of": addresses.as_of,
            "updated_at": dt.datetime.now(dt.UTC),
        }
        # An older event (redelivered, or overtaken) never overwrites newer addresses;
        # a new citizen's row starts in Chinese.
        newer_or_none = or_(c.c.addresses_as_of.is_(None), c.c.addresses_as_of <= addresses.as_of)
        row = {"citizen_id": addresses.citizen_id, "language": "zh-CN", **values}
        written = await upsert(
            self.conn, c, row, ["citizen_id"], where=newer_or_none, insert_only=("language",)
        )
        return written > 0

    async def add_message(self, message: Message) -> bool:
        return bool(await self.add_messages([message]))

    async def add_messages(self, messages: list[Message], deliveries: Sequence[Delivery] = ()) -> set[str]:
        # ON CONFLICT DO NOTHING rather than a savepoint around a plain INSERT: a
        # duplicate leaves the caller's transaction usable, in one statement not three.
        if not messages:
            return set()
        if self.conn.dialect.name == "postgresql":
            return await self._pg_add_messages(messages, deliveries)
        rows = [
            {
                "id": m.id,
                "citizen_id": m.citizen_id,
                "template": m.template,
                "city_code": m.city_code,
                "language": m.language,
                "variables": m.variables,
                "urgent": m.urgent,
                "source_key": m.source_key,
                "cancel_key": m.cancel_key,
                "title": m.title,
                "body": m.body,
                "created_at": m.created_at,
            }
            for m in messages
        ]
        done = await self.conn.execute(_INSERT_MESSAGES[self.conn.dialect.name], rows)
        written = set(done.scalars())
        if news := [d for d in deliveries if d.message_id in written]:
            await self.conn.execute(
                _INSERT_NEW_DELIVERIES, [self._new_delivery(d, p) for d, p in _placed(news)]
            )
        return written

    async def _pg_add_messages(self, messages: list[Message], deliveries: Sequence[Delivery]) -> set[str]:
        params: dict[str, list[Any]] = {f"m_{c.name}": [] for c in orm.messages.c if c.name != "read_at"}
        params.update({f"d_{c.name}": [] for c in orm.deliveries.c})
        for m in messages:
            for name, value in (
                ("id", m.id),
                ("citizen_id", m.citizen_id),
                ("template", m.template),
                ("city_code", m.city_code),
                ("language", m.language),
                ("variables", json.dumps(m.variables)),
                ("urgent", m.urgent),
                ("source_key", m.source_key),
                ("cancel_key", m.cancel_key),
                ("title", m.title),
                ("body", m.body),
                ("created_at", m.created_at),
            ):
                params[f"m_{name}"].append(value)
        for d, position in _placed(deliveries):
            for name, value in self._new_delivery(d, position).items():
                params[f"d_{name}"].append(json.dumps(value) if name == "trace_context" else value)
        done = await self.conn.execute(_PG_ADD_MESSAGES, params)
        return set(done.scalars())

    def _sealed_once(self, address: str) -> str:
        """The address's token: the contacts row's, or one sealed for it in this
        transaction (an event's two messages go to one inbox, whose address, the
        citizen's id, no contacts row holds)."""
        sealed = self._sealed.get(address)
        if sealed is None:
            sealed = self._sealed[address] = self.cipher.seal(address)
        return sealed

    def _new_delivery(self, x: Delivery, position: int) -> dict[str, Any]:
        return {**self._delivery_values(x), "position": position}

    def _delivery_values(self, x: Delivery) -> dict[str, Any]:
        """A new delivery's columns but its place among its message's deliveries."""
        return {
            "id": x.id,
            "message_id": x.message_id,
            "channel": x.channel.value,
            "address_sealed": self._sealed_once(x.address),
            "title": x.title,
            "body": x.body,
            "status": x.status.value,
            "reason": x.reason,
            "attempts": x.attempts,
            "due_at": x.due_at,
            "provider": x.provider,
            "provider_ref": x.provider_ref,
            "updated_at": x.updated_at,
            "trace_context": x.trace_context,
        }

    async def message_by_source(self, source_key: str) -> Message | None:
        return await self._message(orm.messages.c.source_key == source_key)

    async def get_message(self, message_id: str) -> Message | None:
        return await self._message(orm.messages.c.id == message_id)

    async def _message(self, where: Any) -> Message | None:
        row = (await self.conn.execute(select(orm.messages).where(where))).first()
        if row is None:
            return None
        found = (
            await self.conn.execute(
                select(orm.deliveries)
                .where(orm.deliveries.c.message_id == row.id)
                .order_by(orm.deliveries.c.position)
            )
        ).all()
        return _message(row, tuple(self._delivery(d) for d in found))

    async def inbox(
        self, citizen_id: str, limit: int, before: tuple[dt.datetime, str] | None
    ) -> list[Message]:
        m = orm.messages
        query = select(m).where(m.c.citizen_id == citizen_id, _in_inbox())
        if before is not None:
            at, message_id = before
            query = query.where(or_(m.c.created_at < at, and_(m.c.created_at == at, m.c.id < message_id)))
        rows = await self.conn.execute(query.order_by(m.c.created_at.desc(), m.c.id.desc()).limit(limit))
        return [_message(r, ()) for r in rows]

    async def unread_count(self, citizen_id: str) -> int:
        m = orm.messages
        query = select(func.count()).where(m.c.citizen_id == citizen_id, m.c.read_at.is_(None), _in_inbox())
        return int((await self.conn.execute(query)).scalar_one())

    async def mark_read(self, message_id: str, at: dt.datetime) -> None:
        await self.conn.execute(
            update(orm.messages)
            .where(orm.messages.c.id == message_id, orm.messages.c.read_at.is_(None))
            .values(read_at=at)
        )

    async def add_delivery(self, delivery: Delivery) -> None:
        await self.add_deliveries([delivery])

    async def add_deliveries(self, deliveries: list[Delivery]) -> None:
        """Deliveries in the order given, each placed after its message's others
        (one statement for a message's inbox copy and its first channel)."""
        await self.conn.execute(
            _INSERT_DELIVERY,
            [{"of_message": x.message_id, **self._delivery_values(x)} for x in deliveries],
        )

    async def any_due(self, now: dt.datetime) -> bool:
        return bool((await self.conn.execute(_ANY_DUE, {"claimed_at": now})).scalar())

    async def claim_due(self, now: dt.datetime, limit: int) -> list[Delivery]:
        rows = await self.conn.execute(
            _CLAIM_DUE[self.conn.dialect.name], {"claimed_at": now, "round_size": limit}
        )
        return sorted((self._delivery(row) for row in rows), key=lambda x: (x.due_at, x.id))

    async def record_sent(
        self,
        sent: list[Sent],
        now: dt.datetime,
        kept: Sequence[tuple[str, Delivery]] = (),
        kept_at: dt.datetime | None = None,
    ) -> None:
        if self.conn.dialect.name == "postgresql" and sent:
            lookups = {d.id: to_lookup(self.cipher, d.address) for _, d in kept}
            await self.conn.execute(
                _PG_RECORD_SENT,
                {
                    "ids": [x.delivery_id for x in sent],
                    "statuses": [x.status.value for x in sent],
                    "providers": [x.provider for x in sent],
                    "refs": [x.provider_ref for x in sent],
                    "lookups": [lookups.get(x.delivery_id) for x in sent],
                    "recorded_at": now,
                    "kept_at": kept_at or now,
                },
            )
            return
        await self.keep_records(list(kept), kept_at or now)
        if not sent:
            return
        await self.conn.execute(
            _RECORD_SENT,
            [
                {
                    "delivery_id": x.delivery_id,
                    "new_status": x.status.value,
                    "new_provider": x.provider,
                    "new_ref": x.provider_ref,
                    "recorded_at": now,
                }
                for x in sent
            ],
        )

    async def keep_records(self, sent: list[tuple[str, Delivery]], at: dt.datetime) -> None:
        if sent:
            await self.conn.execute(
                _KEEP_RECORD,
                [
                    {
                        "of_provider": provider,
                        "to_lookup_of": to_lookup(self.cipher, d.address),
                        "kept_at": at,
                        "of_delivery": d.id,
                    }
                    for provider, d in sent
                ],
            )

    async def update_delivery(
        self,
        delivery_id: str,
        *,
        status: Status,
        reason: str,
        due_at: dt.datetime | None = None,
        provider: str | None = None,
        provider_ref: str | None = None,
        now: dt.datetime,
    ) -> None:
        values: dict[str, Any] = {"status": status.value, "reason": reason, "updated_at": now}
        if due_at is not None:
            values["due_at"] = due_at
        if provider is not None:
            values["provider"] = provider
        if provider_ref is not None:
            values["provider_ref"] = provider_ref
        await self.conn.execute(
            update(orm.deliveries).where(orm.deliveries.c.id == delivery_id).values(**values)
        )

    async def by_provider_ref(self, provider: str, provider_ref: str) -> Delivery | None:
        d = orm.deliveries
        row = (
            await self.conn.execute(
                select(d).where(d.c.provider == provider, d.c.provider_ref == provider_ref)
            )
        ).first()
        return self._delivery(row) if row else None

    async def channels_tried(self, message_id: str) -> set[Channel]:
        rows = await self.conn.execute(
            select(orm.deliveries.c.channel).where(orm.deliveries.c.message_id == message_id)
        )
        return {Channel(r.channel) for r in rows}

    async def cancel(self, cancel_key: str, reason: str, now: dt.datetime) -> int:
        d, m = orm.deliveries, orm.messages
        of_key = select(m.c.id).where(m.c.cancel_key == cancel_key)
        done = await self.conn.execute(
            update(d)
            .where(d.c.message_id.in_(of_key), d.c.status == Status.QUEUED.value)
            .values(status=Status.FAILED.value, reason=reason, updated_at=now)
        )
        return int(done.rowcount or 0)

    def _delivery(self, r: Row[Any]) -> Delivery:
        return Delivery(
            id=r.id,
            message_id=r.message_id,
            channel=Channel(r.channel),
            address=self.cipher.open(r.address_sealed),
            title=r.title,
            body=r.body,
            status=Status(r.status),
            reason=r.reason,
            attempts=r.attempts,
            due_at=as_utc(r.due_at),  # type: ignore[arg-type]
            updated_at=as_utc(r.updated_at),  # type: ignore[arg-type]
            provider=r.provider,
            provider_ref=r.provider_ref,
            trace_context=dict(r.trace_context),
        )

    async def requeue_stuck(self, older_than: dt.datetime, now: dt.datetime) -> int:
        d = orm.deliveries
        done = await self.conn.execute(
            update(d)
            .where(
                d.c.status == Status.SENDING.value, d.c.provider_ref.is_(None), d.c.updated_at < older_than
            )
            .values(
                status=Status.QUEUED.value, reason="worker stopped while sending; retried", updated_at=now
            )
        )
        return int(done.rowcount or 0)

    async def release(self, delivery_ids: list[str], now: dt.datetime) -> int:
        d = orm.deliveries
        done = await self.conn.execute(
            update(d)
            .where(d.c.id.in_(delivery_ids), d.c.status == Status.SENDING.value, d.c.provider_ref.is_(None))
            .values(status=Status.QUEUED.value, attempts=d.c.attempts - 1, updated_at=now)
        )
        return int(done.rowcount or 0)


def _placed(deliveries: Sequence[Delivery]) -> list[tuple[Delivery, int]]:
    """New messages' deliveries with their positions: 0, 1, … per message, in the order given."""
    seen: dict[str, int] = {}
    placed = []
    for d in deliveries:
        seen[d.message_id] = position = seen.get(d.message_id, -1) + 1
        placed.append((d, position))
    return placed


def _in_inbox() -> Any:
    """A message is in the inbox once its inbox copy is delivered: a reminder waiting
    for its day is not there yet, and a withdrawn one never is."""
    d = orm.deliveries
    return exists().where(
        d.c.message_id == orm.messages.c.id,
        d.c.channel == Channel.INBOX.value,
        d.c.status == Status.DELIVERED.value,
    )


def _message(r: Row[Any], deliveries: tuple[Delivery, ...]) -> Message:
    return Message(
        id=r.id,
        citizen_id=r.citizen_id,
        template=r.template,
        city_code=r.city_code,
        language=r.language,
        variables=dict(r.variables),
        urgent=r.urgent,
        source_key=r.source_key,
        title=r.title,
        body=r.body,
        created_at=as_utc(r.created_at),  # type: ignore[arg-type]
        cancel_key=r.cancel_key,
        read_at=as_utc(r.read_at),
        deliveries=deliveries,
    )
