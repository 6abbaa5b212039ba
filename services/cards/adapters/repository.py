"""Applications in SQL. The repository seals what it stores of personal data and
opens it on reading; every status change is a conditional UPDATE (``WHERE status =
:old``), so of two racing movers (a citizen cancelling, the batcher claiming) one
wins and the other learns it lost."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Update, bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.cards.adapters import orm
from services.cards.domain.lifecycle import Application, DeliveryDetails, Status, Transition
from services.cards.service_layer.ports import CourierEvent
from services.cards.service_layer.unit_of_work import KeyClaim, Move, NewApplication
from services.runtime.db import as_utc, insert_built_once, insert_or_nothing
from services.runtime.pii import PiiCipher

a = orm.applications
t = orm.transitions
k = orm.idempotency_keys
b = orm.production_batches
ce = orm.courier_events


# The statements of every application, built once (decision 64's reason: a statement
# built per call pays its build and SQLAlchemy's walk for its cache key each time).
# The citizens' locks are taken in the order of their keys, so two transactions
# locking overlapping citizens take turns rather than deadlock.
_LOCK_CITIZENS = text(
    "WITH k AS MATERIALIZED (SELECT DISTINCT hashtext(c) AS h FROM unnest(CAST(:cs AS text[])) AS c "
    "ORDER BY h) SELECT count(pg_advisory_xact_lock(hashtext('cards.citizen'), h)) FROM k"
)
_ADD_APPLICATION = a.insert()
_ADD_STEPS = t.insert()
_HAS_OPEN = (
    select(func.count())
    .select_from(a)
    .where(
        a.c.citizen_id == bindparam("citizen_id"),
        a.c.family == bindparam("family"),
        a.c.status.in_(bindparam("statuses", expanding=True)),
    )
)
#: What of the citizens' applications decides their new ones: those open (by family)
#: and the residence permits they hold.
_STANDING = (
    select(a.c.citizen_id, a.c.family, a.c.status)
    .where(
        a.c.citizen_id.in_(bindparam("citizen_ids", expanding=True)),
        a.c.status.in_(bindparam("statuses", expanding=True)),
    )
    .distinct()
)
_HELD = (Status.DELIVERED.value, Status.COLLECTED.value)


@functools.cache
def _claim_keys(dialect: str) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING`` the keys claimed, for many rows in
    one statement (SQLAlchemy's "insertmanyvalues"), in the dialect at hand."""
    return insert_built_once(k, dialect).on_conflict_do_nothing().returning(k.c.citizen_id, k.c.key)


@functools.cache
def _moving(columns: frozenset[str]) -> Update:
    """``UPDATE … SET status, updated_at, <columns> WHERE id = :m_id AND status =
    :m_old``, one statement per set of columns, run alone or for many rows at once."""
    values: dict[Any, Any] = {
        a.c[name]: bindparam(f"m_{name}") for name in ("status", "updated_at", *sorted(columns))
    }
    return update(a).where(a.c.id == bindparam("m_id"), a.c.status == bindparam("m_old")).values(values)


def _move_params(
    app_id: str, old: Status, new: Status, at: dt.datetime, values: dict[str, Any]
) -> dict[str, Any]:
    return {
        "m_id": app_id,
        "m_old": old.value,
        "m_status": new.value,
        "m_updated_at": at,
        **{f"m_{name}": value for name, value in values.items()},
    }


def _step(
    app_id: str, old: Status | None, new: Status, at: dt.datetime, reason: str, actor: str
) -> dict[str, Any]:
    return {
        "application_id": app_id,
        "from_status": old.value if old else None,
        "to_status": new.value,
        "at": at,
        "reason": reason[:400],
        "actor": actor[:200],
    }


class SqlApplicationRepository:
    def __init__(self, conn: AsyncConnection, cipher: PiiCipher) -> None:
        self.conn = conn
        self.cipher = cipher

    def _seal(self, value: str) -> str | None:
        return self.cipher.seal(value) if value else None

    def _open(self, token: str | None) -> str:
        return self.cipher.open(token) if token else ""

    async def lock_citizens(self, citizen_ids: Sequence[str]) -> None:
        """Hold the citizens' applications until the transaction ends, so that two
        applications racing with different keys do not both find none pending. On
        SQLite every write transaction already holds the one write lock."""
        if self.conn.dialect.name == "postgresql" and citizen_ids:
            await self.conn.execute(_LOCK_CITIZENS, {"cs": sorted(set(citizen_ids))})

    async def add_many(self, added: Sequence[NewApplication]) -> None:
        """New applications with their steps: one INSERT for the applications, one for
        all their steps."""
        if not added:
            return
        await self.conn.execute(_ADD_APPLICATION, [self._row(n) for n in added])
        steps = [
            _step(n.app.id, s.from_status, s.to_status, s.at, s.reason, s.actor)
            for n in added
            for s in n.app.timeline
        ]
        if steps:
            await self.conn.execute(_ADD_STEPS, steps)

    def _row(self, new: NewApplication) -> dict[str, Any]:
        app = new.app
        return {
            "id": app.id,
            "citizen_id": app.citizen_id,
            "city_code": app.city_code,
            "kind": app.kind,
            "family": new.family,
            "status": app.status.value,
            "delivery_method": app.delivery.method,
            "recipient_sealed": self._seal(app.delivery.recipient),
            "phone_sealed": self._seal(app.delivery.phone),
            "address_sealed": self._seal(app.delivery.address),
            "office_id": app.delivery.office_id,
            "reasons": [list(r) for r in app.reasons],
            "needs_review": app.needs_review,
            "report_lost_pending": new.report_lost_pending,
            "batch_id": None,
            "tracking_number": None,
            "card_number_sealed": None,
            "card_issued_on": None,
            "card_expires_on": None,
            "card_recorded": False,
            "submitted_at": app.submitted_at,
            "updated_at": app.timeline[-1].at if app.timeline else app.submitted_at,
        }

    async def move(
        self,
        app_id: str,
        old: Status,
        new: Status,
        at: dt.datetime,
        reason: str,
        actor: str,
        **values: Any,
    ) -> bool:
        """Moves the application if it is still ``old``; records the step. False:
        someone else moved it first (nothing written)."""
        done = await self.conn.execute(_moving(frozenset(values)), _move_params(app_id, old, new, at, values))
        if done.rowcount != 1:
            return False
        await self.conn.execute(_ADD_STEPS, _step(app_id, old, new, at, reason, actor))
        return True

    async def move_many(self, moves: Sequence[Move]) -> None:
        """Moves of applications this transaction holds locked (``many(…, lock=True)``)
        and found in their ``old`` status: one UPDATE and one INSERT of the steps for
        all of them, run for many rows at once, rather than two statements each."""
        # Runs of moves setting the same columns, in order: one application moved
        # twice in a batch (returned, then waiting at the office) keeps its order.
        runs: list[tuple[frozenset[str], list[dict[str, Any]]]] = []
        for m in moves:
            columns = frozenset(m.values)
            if not runs or runs[-1][0] != columns:
                runs.append((columns, []))
            runs[-1][1].append(_move_params(m.app_id, m.old, m.new, m.at, m.values))
        for columns, params in runs:
            await self.conn.execute(_moving(columns), params)
        if moves:
            await self.conn.execute(
                _ADD_STEPS, [_step(m.app_id, m.old, m.new, m.at, m.reason, m.actor) for m in moves]
            )

    async def set_card(self, app_id: str, card_number: str, issued_on: dt.date, expires_on: dt.date) -> None:
        await self.update(app_id, **self.card_values(card_number, issued_on, expires_on))

    def card_values(self, card_number: str, issued_on: dt.date, expires_on: dt.date) -> dict[str, Any]:
        """The columns that keep a new card (its number sealed), for ``set_card`` or a move."""
        return {
            "card_number_sealed": self._seal(card_number),
            "card_issued_on": issued_on.isoformat(),
            "card_expires_on": expires_on.isoformat(),
            "card_recorded": True,
        }

    async def update(self, app_id: str, **values: Any) -> None:
        await self.conn.execute(update(a).where(a.c.id == app_id).values(**values))

    def _application(self, row: Any, steps: list[Transition]) -> Application:
        return Application(
            id=row.id,
            citizen_id=row.citizen_id,
            city_code=row.city_code,
            kind=row.kind,
            delivery=DeliveryDetails(
                method=row.delivery_method,
                recipient=self._open(row.recipient_sealed),
                phone=self._open(row.phone_sealed),
                address=self._open(row.address_sealed),
                office_id=row.office_id,
            ),
            status=Status(row.status),
            submitted_at=as_utc(row.submitted_at) or row.submitted_at,
            reasons=[(r[0], r[1], r[2]) for r in row.reasons or []],
            needs_review=row.needs_review,
            tracking_number=row.tracking_number or "",
            card_number=self._open(row.card_number_sealed),
            batch_id=row.batch_id or "",
            timeline=steps,
        )

    async def _many(self, query: Any, timelines: bool = True) -> list[Application]:
        """``timelines=False``: without their steps (the journey's moves need none, and
        a hundred applications' steps are the larger read)."""
        rows = (await self.conn.execute(query)).all()
        if not rows:
            return []
        ids = [r.id for r in rows]
        steps: dict[str, list[Transition]] = {i: [] for i in ids}
        for s in (
            ()
            if not timelines
            else (
                await self.conn.execute(select(t).where(t.c.application_id.in_(ids)).order_by(t.c.seq))
            ).all()
        ):
            steps[s.application_id].append(
                Transition(
                    Status(s.from_status) if s.from_status else None,
                    Status(s.to_status),
                    as_utc(s.at) or s.at,
                    s.reason,
                    s.actor,
                )
            )
        return [self._application(r, steps[r.id]) for r in rows]

    async def get(self, app_id: str, citizen_id: str | None = None) -> Application | None:
        query = select(a).where(a.c.id == app_id)
        if citizen_id is not None:
            query = query.where(a.c.citizen_id == citizen_id)
        found = await self._many(query)
        return found[0] if found else None

    async def many(
        self, app_ids: list[str], *, timelines: bool = True, lock: bool = False
    ) -> dict[str, Application]:
        found: dict[str, Application] = {}
        for start in range(0, len(app_ids), 500):  # well under any driver's parameter limit
            query = select(a).where(a.c.id.in_(sorted(app_ids[start : start + 500])))
            if lock:  # PostgreSQL; on SQLite the write transaction holds the one lock
                query = query.order_by(a.c.id).with_for_update()
            found.update((app.id, app) for app in await self._many(query, timelines))
        return found

    async def by_tracking_many(
        self, tracking_numbers: list[str], *, lock: bool = False
    ) -> dict[str, Application]:
        """By tracking number, without timelines; ``lock``: held until the transaction ends."""
        query = select(a).where(a.c.tracking_number.in_(sorted(set(tracking_numbers))))
        if lock:  # PostgreSQL; on SQLite the write transaction holds the one lock
            query = query.order_by(a.c.id).with_for_update()
        return {app.tracking_number: app for app in await self._many(query, timelines=False)}

    async def by_tracking(self, tracking_number: str) -> Application | None:
        """Without its timeline: the courier's callbacks move it and answer its status."""
        found = await self._many(select(a).where(a.c.tracking_number == tracking_number), timelines=False)
        return found[0] if found else None

    async def for_citizen(self, citizen_id: str) -> list[Application]:
        return await self._many(
            select(a).where(a.c.citizen_id == citizen_id).order_by(a.c.submitted_at.desc()).limit(200)
        )

    async def for_office(self, office_id: str, status: str | None) -> list[Application]:
        query = select(a).where(a.c.office_id == office_id)
        if status:
            query = query.where(a.c.status == status)
        return await self._many(query.order_by(a.c.submitted_at).limit(500))

    async def for_city(self, city_code: str, status: str | None) -> list[Application]:
        query = select(a).where(a.c.city_code == city_code)
        if status:
            query = query.where(a.c.status == status)
        return await self._many(query.order_by(a.c.submitted_at).limit(500))

    async def has_open(self, citizen_id: str, family: str, open_statuses: list[str]) -> bool:
        params = {"citizen_id": citizen_id, "family": family, "statuses": open_statuses}
        return bool((await self.conn.execute(_HAS_OPEN, params)).scalar_one())

    async def standing(
        self, citizen_ids: Sequence[str], open_statuses: Sequence[str]
    ) -> tuple[set[tuple[str, str]], set[str]]:
        """The citizens' open applications, as (citizen, family), and those of them
        who hold a residence permit: in one query for them all."""
        if not citizen_ids:
            return set(), set()
        params = {"citizen_ids": sorted(set(citizen_ids)), "statuses": sorted({*open_statuses, *_HELD})}
        open_, permits = set(), set()
        for row in await self.conn.execute(_STANDING, params):
            if row.status in open_statuses:
                open_.add((row.citizen_id, row.family))
            if row.family == "residence_permit" and row.status in _HELD:
                permits.add(row.citizen_id)
        return open_, permits

    async def holds_permit(self, citizen_id: str) -> bool:
        query = (
            select(func.count())
            .select_from(a)
            .where(
                a.c.citizen_id == citizen_id,
                a.c.family == "residence_permit",
                a.c.status.in_([Status.DELIVERED.value, Status.COLLECTED.value]),
            )
        )
        return bool((await self.conn.execute(query)).scalar_one())

    # idempotency keys
    async def find_idempotent(self, citizen_id: str, key: str) -> tuple[str, str] | None:
        row = (
            await self.conn.execute(
                select(k.c.fingerprint, k.c.application_id).where(
                    k.c.citizen_id == citizen_id, k.c.key == key
                )
            )
        ).first()
        return (row.fingerprint, row.application_id) if row else None

    async def claim_idempotency_keys(
        self, claims: Sequence[KeyClaim], now: dt.datetime
    ) -> set[tuple[str, str]]:
        """The (citizen, key) of ``claims`` claimed now; the others were taken (on
        PostgreSQL, after a concurrent twin commits). One statement for them all; a
        key must not be claimed twice in one call."""
        if not claims:
            return set()
        values = [
            {
                "citizen_id": c.citizen_id,
                "key": c.key,
                "fingerprint": c.fingerprint,
                "application_id": c.application_id,
                "created_at": now,
            }
            for c in claims
        ]
        done = await self.conn.execute(_claim_keys(self.conn.dialect.name), values)
        return {(row.citizen_id, row.key) for row in done}

    # the workers' queues
    async def _ids_where(self, *conditions: Any, limit: int = 100) -> list[str]:
        query = select(a.c.id).where(*conditions).order_by(a.c.submitted_at).limit(limit)
        return [r.id for r in (await self.conn.execute(query)).all()]

    async def lost_reports_pending(self, limit: int) -> list[tuple[str, str]]:
        query = (
            select(a.c.id, a.c.citizen_id)
            .where(a.c.report_lost_pending.is_(True))
            .order_by(a.c.submitted_at)
            .limit(limit)
        )
        return [(r.id, r.citizen_id) for r in (await self.conn.execute(query)).all()]

    async def clear_report_lost(self, app_ids: list[str]) -> None:
        for start in range(0, len(app_ids), 500):  # well under any driver's parameter limit
            chunk = app_ids[start : start + 500]
            await self.conn.execute(update(a).where(a.c.id.in_(chunk)).values(report_lost_pending=False))

    async def approved_ready(self, limit: int) -> list[str]:
        return await self._ids_where(
            a.c.status == Status.APPROVED.value,
            a.c.report_lost_pending.is_(False),
            a.c.batch_id.is_(None),
            limit=limit,
        )

    async def to_ship(self, limit: int) -> list[str]:
        """Produced cards to mail whose shipment is not booked yet."""
        return await self._ids_where(
            a.c.status == Status.PRODUCED.value,
            a.c.delivery_method == "mail",
            a.c.tracking_number.is_(None),
            limit=limit,
        )

    async def to_hand_over(self, limit: int) -> list[str]:
        """Produced cards for pickup, not yet at the office's counter."""
        return await self._ids_where(
            a.c.status == Status.PRODUCED.value, a.c.delivery_method == "pickup", limit=limit
        )

    async def add_batch(self, batch_id: str, now: dt.datetime) -> None:
        await self.conn.execute(b.insert().values(id=batch_id, state="claimed", created_at=now))

    async def batches(self, state: str, limit: int = 50) -> list[str]:
        query = select(b.c.id).where(b.c.state == state).order_by(b.c.created_at).limit(limit)
        return [r.id for r in (await self.conn.execute(query)).all()]

    async def set_batch_state(self, batch_id: str, old: str, new: str, now: dt.datetime) -> bool:
        values: dict[str, Any] = {"state": new}
        if new == "submitted":
            values["submitted_at"] = now
        done = await self.conn.execute(update(b).where(b.c.id == batch_id, b.c.state == old).values(**values))
        return done.rowcount == 1

    async def in_batch(self, batch_id: str, *, timelines: bool = True) -> list[Application]:
        return await self._many(select(a).where(a.c.batch_id == batch_id).order_by(a.c.id), timelines)

    async def in_production(self, batch_id: str) -> int:
        query = select(func.count()).where(a.c.batch_id == batch_id, a.c.status == Status.IN_PRODUCTION.value)
        return int((await self.conn.execute(query)).scalar_one())

    async def courier_events_known(self, event_ids: list[str]) -> set[str]:
        query = select(ce.c.event_id).where(ce.c.event_id.in_(sorted(set(event_ids))))
        return {row.event_id for row in await self.conn.execute(query)}

    async def record_courier_events(self, events: Sequence[CourierEvent], now: dt.datetime) -> None:
        if events:
            await self.conn.execute(
                insert_or_nothing(ce, self.conn.dialect.name),
                [
                    {
                        "event_id": e.event_id,
                        "tracking_number": e.tracking_number,
                        "kind": e.kind,
                        "occurred_at": e.occurred_at,
                        "received_at": now,
                    }
                    for e in events
                ],
            )
