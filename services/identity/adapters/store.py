"""Identity's store on SQL; personal data sealed on the way in, opened on the way out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Row, Table, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from mintong.identity.v1 import events_pb2
from services.identity.adapters import orm
from services.identity.adapters.pii import PiiCipher
from services.identity.domain.channels import BindingKind
from services.identity.domain.model import CardStatus, Resident
from services.identity.service_layer.ports import AuditNote, CardRequest, CardSet, Challenge, Pruned, Session
from services.runtime import audit as audit_log
from services.runtime.db import as_utc
from services.runtime.outbox import add_events
from services.runtime.proto_values import timestamp_to_proto
from services.runtime.revocations import add_revocations

#: A resident's card columns, SET from the parameters' keys: for many at once.
_SET_CARD = update(orm.residents).where(orm.residents.c.citizen_id == bindparam("p_citizen_id"))

#: Sessions with the time of their last face match (the level an application's checks
#: read), built once: asked for every batch of applications.
_LAST_MATCH = (
    select(func.max(orm.face_attempts.c.at))
    .where(
        orm.face_attempts.c.session_id == orm.sessions.c.id,
        orm.face_attempts.c.matched.is_(True),
    )
    .scalar_subquery()
)
_SESSIONS_WITH_FACE_MATCH = select(orm.sessions, _LAST_MATCH.label("matched_at")).where(
    orm.sessions.c.id.in_(bindparam("ids", expanding=True))
)

#: Citizen ids per ``IN (…)``: a batch's bound parameters stay well under the limits.
_IN_LIST = 5000


class SqlStore:
    def __init__(self, conn: AsyncConnection, cipher: PiiCipher, clock: Any) -> None:
        self.conn = conn
        self.cipher = cipher
        self.clock = clock
        #: Something for the relay was written: the unit of work wakes it at commit.
        self.wrote_outbox = False

    async def resident_by_lookup(self, id_lookup: str) -> Resident | None:
        row = (
            await self.conn.execute(select(orm.residents).where(orm.residents.c.id_lookup == id_lookup))
        ).first()
        return self._resident(row) if row else None

    async def resident(self, citizen_id: str) -> Resident | None:
        query = select(orm.residents).where(orm.residents.c.citizen_id == citizen_id)
        row = (await self.conn.execute(query)).first()
        return self._resident(row) if row else None

    async def residents(self, citizen_ids: list[str]) -> list[Resident]:
        if not citizen_ids:
            return []
        query = select(orm.residents).where(orm.residents.c.citizen_id.in_(citizen_ids))
        return [self._resident(row) for row in await self.conn.execute(query)]

    def _resident(self, r: Row[Any]) -> Resident:
        return Resident(
            citizen_id=r.citizen_id,
            id_number=self.cipher.open(r.id_sealed),
            name=self.cipher.open(r.name_sealed),
            phone=self.cipher.open(r.phone_sealed),
            city_code=r.city_code,
            household_address=self.cipher.open(r.address_sealed),
            gender=r.gender,
            birth_date=r.birth_date,
            photo_captured_on=r.photo_captured_on,
            fingerprint_on_file=r.fingerprint_on_file,
            card_issued_on=r.card_issued_on,
            card_expires_on=r.card_expires_on,
            card_status=CardStatus(r.card_status),
            card_number=self.cipher.open(r.card_number_sealed) if r.card_number_sealed else "",
            residence_city_code=r.residence_city_code or "",
            residence_address=(
                self.cipher.open(r.residence_address_sealed) if r.residence_address_sealed else ""
            ),
            residence_registered_on=r.residence_registered_on,
        )

    # --- the card, as the cards service changes it (service_layer/cardholders.py) ----

    async def card_requests(self, application_ids: Sequence[str]) -> list[CardRequest]:
        q = orm.card_requests
        rows = await self.conn.execute(select(q).where(q.c.application_id.in_(sorted(set(application_ids)))))
        return [
            CardRequest(row.application_id, row.action, row.citizen_id, row.card_status, row.request_digest)
            for row in rows
        ]

    async def add_card_requests(self, requests: Sequence[CardRequest]) -> None:
        if not requests:
            return
        now = self.clock()
        await self.conn.execute(
            orm.card_requests.insert(),
            [
                {
                    "application_id": request.application_id,
                    "action": request.action,
                    "citizen_id": request.citizen_id,
                    "card_status": request.card_status,
                    "request_digest": request.request_digest,
                    "at": now,
                }
                for request in requests
            ],
        )

    async def residents_for_update(self, citizen_ids: Sequence[str]) -> dict[str, Resident]:
        # One statement, in citizen order: two transactions locking overlapping sets
        # take turns rather than deadlock. (SQLite: the write lock is held already.)
        r = orm.residents
        query = select(r).where(r.c.citizen_id.in_(sorted(set(citizen_ids)))).order_by(r.c.citizen_id)
        return {
            row.citizen_id: self._resident(row) for row in await self.conn.execute(query.with_for_update())
        }

    async def set_cards(self, cards: Sequence[CardSet]) -> None:
        """Runs of changes of one shape (status only, or a new card) in one statement
        each, in order."""
        now = self.clock()
        runs: list[tuple[bool, list[dict[str, object]]]] = []
        for card in cards:
            values: dict[str, object] = {"p_citizen_id": card.citizen_id, "card_status": card.status.value}
            new = card.number is not None
            if new:
                values |= {
                    "card_number_sealed": self.cipher.seal(card.number or ""),
                    "card_issued_on": card.issued_on,
                    "card_expires_on": card.expires_on,
                }
            if not runs or runs[-1][0] != new:
                runs.append((new, []))
            runs[-1][1].append(values | {"updated_at": now})
        for _, params in runs:
            await self.conn.execute(_SET_CARD, params)

    async def count_rate(self, key: str, since: dt.datetime) -> tuple[int, dt.datetime | None]:
        e = orm.rate_events
        row = (
            await self.conn.execute(
                select(func.count(), func.max(e.c.at)).where(e.c.key == self._rate_key(key), e.c.at >= since)
            )
        ).one()
        return int(row[0]), as_utc(row[1])

    async def add_rate(self, key: str, at: dt.datetime) -> None:
        await self.conn.execute(orm.rate_events.insert().values(key=self._rate_key(key), at=at))

    def _rate_key(self, key: str) -> str:
        # Limits count by client address too: an IP address is personal data, so
        # rate keys are stored as keyed hashes like every other look-up value.
        return self.cipher.lookup(f"rate:{key}")

    async def add_challenge(self, id_lookup: str, challenge: Challenge, at: dt.datetime) -> None:
        await self.conn.execute(
            orm.challenges.insert().values(
                id=challenge.id,
                id_lookup=id_lookup,
                citizen_id=challenge.citizen_id,
                code_hash=challenge.code_hash,
                created_at=at,
                expires_at=challenge.expires_at,
                attempts=0,
            )
        )

    async def latest_challenge(self, id_lookup: str) -> Challenge | None:
        c = orm.challenges
        query = (
            select(c)
            .where(c.c.id_lookup == id_lookup, c.c.citizen_id.is_not(None))
            .order_by(c.c.created_at.desc())
            .limit(1)
        )
        row = (await self.conn.execute(query)).first()
        if row is None:
            return None
        expires = as_utc(row.expires_at)
        assert expires is not None
        return Challenge(row.id, row.citizen_id, row.code_hash, expires, row.attempts, as_utc(row.used_at))

    async def count_attempt(self, challenge_id: str, below: int) -> bool:
        c = orm.challenges
        done = await self.conn.execute(
            update(c).where(c.c.id == challenge_id, c.c.attempts < below).values(attempts=c.c.attempts + 1)
        )
        return bool(done.rowcount)

    async def use_challenge(self, challenge_id: str, at: dt.datetime) -> bool:
        c = orm.challenges
        done = await self.conn.execute(
            update(c).where(c.c.id == challenge_id, c.c.used_at.is_(None)).values(used_at=at)
        )
        return bool(done.rowcount)

    async def add_session(self, session: Session, refresh_hash: str, at: dt.datetime) -> None:
        await self.conn.execute(
            orm.sessions.insert().values(
                id=session.id,
                citizen_id=session.citizen_id,
                channel=session.channel,
                refresh_hash=refresh_hash,
                created_at=at,
                expires_at=session.expires_at,
            )
        )

    async def _session(self, where: Any) -> Session | None:
        row = (await self.conn.execute(select(orm.sessions).where(where))).first()
        if row is None:
            return None
        expires = as_utc(row.expires_at)
        assert expires is not None
        return Session(row.id, row.citizen_id, row.channel, expires, as_utc(row.revoked_at))

    async def session(self, session_id: str) -> Session | None:
        return await self._session(orm.sessions.c.id == session_id)

    async def sessions_with_face_match(
        self, session_ids: Sequence[str]
    ) -> list[tuple[Session, dt.datetime | None]]:
        """Those of the sessions that exist, each with the time of its last face match
        (None: none), in one query however many are asked."""
        found = []
        ids = {"ids": sorted(set(session_ids))}
        for row in await self.conn.execute(_SESSIONS_WITH_FACE_MATCH, ids):
            expires = as_utc(row.expires_at)
            assert expires is not None
            session = Session(row.id, row.citizen_id, row.channel, expires, as_utc(row.revoked_at))
            found.append((session, as_utc(row.matched_at)))
        return found

    async def session_by_refresh(self, refresh_hash: str) -> Session | None:
        return await self._session(orm.sessions.c.refresh_hash == refresh_hash)

    async def session_by_spent_refresh(self, refresh_hash: str) -> Session | None:
        return await self._session(orm.sessions.c.previous_refresh_hash == refresh_hash)

    async def replace_refresh(self, session_id: str, refresh_hash: str) -> None:
        s = orm.sessions
        await self.conn.execute(
            update(s)
            .where(s.c.id == session_id)
            .values(previous_refresh_hash=s.c.refresh_hash, refresh_hash=refresh_hash)
        )

    async def revoke(self, session_id: str, at: dt.datetime, *, reason: str) -> None:
        s = orm.sessions
        done = await self.conn.execute(
            update(s).where(s.c.id == session_id, s.c.revoked_at.is_(None)).values(revoked_at=at)
        )
        if done.rowcount:
            await self.tell_gateways([session_id], reason)

    async def tell_gateways(self, session_ids: list[str], reason: str) -> None:
        """Every gateway refuses these sessions' tokens from now on (the revocation
        bucket, through the outbox in this transaction)."""
        if session_ids:
            await add_revocations(self.conn, orm.outbox, session_ids, reason)
            self.wrote_outbox = True

    async def prune(
        self,
        *,
        rates_before: dt.datetime,
        challenges_before: dt.datetime,
        sessions_before: dt.datetime,
        imports_before: dt.datetime,
        limit: int,
    ) -> Pruned:
        r, c, s = orm.rate_events, orm.challenges, orm.sessions
        ss, d, f, bs = orm.staff_sessions, orm.device_challenges, orm.face_attempts, orm.binding_sessions
        ended = or_(s.c.expires_at < sessions_before, s.c.revoked_at < sessions_before)
        return Pruned(
            rate_events=await self._delete_some(r, r.c.seq, r.c.at < rates_before, limit),
            challenges=await self._delete_some(c, c.c.id, c.c.expires_at < challenges_before, limit),
            sessions=await self._delete_some(s, s.c.id, ended, limit),
            staff_sessions=await self._delete_some(
                ss, ss.c.id, or_(ss.c.expires_at < sessions_before, ss.c.revoked_at < sessions_before), limit
            ),
            device_challenges=await self._delete_some(
                d, d.c.nonce, d.c.expires_at < challenges_before, limit
            ),
            # The face limit counts a day back; a day's grace after that, as for sessions.
            face_attempts=await self._delete_some(
                f, f.c.id, f.c.at < sessions_before - dt.timedelta(days=1), limit
            ),
            binding_sessions=await self._delete_some(
                bs, bs.c.session_id, bs.c.session_id.not_in(select(s.c.id)), limit
            ),
            import_jobs=await self._prune_imports(imports_before, limit),
        )

    async def _prune_imports(self, finished_before: dt.datetime, limit: int) -> int:
        """Finished import jobs older than the retention, with their rejection
        lists and any sealed chunks left (a finished job's are deleted when it ends)."""
        j = orm.import_jobs
        old = (j.c.state.in_(("done", "failed"))) & (j.c.finished_at < finished_before)
        ids = (await self.conn.execute(select(j.c.id).where(old).limit(limit))).scalars().all()
        if ids:
            for table in (orm.import_rejections, orm.import_chunks):
                await self.conn.execute(delete(table).where(table.c.job_id.in_(ids)))
            await self.conn.execute(delete(j).where(j.c.id.in_(ids)))
        return len(ids)

    async def _delete_some(self, table: Table, key: Any, where: Any, limit: int) -> int:
        # DELETE … LIMIT is not portable: pick the keys, then delete them.
        keys = (await self.conn.execute(select(key).where(where).limit(limit))).scalars().all()
        if keys:
            await self.conn.execute(delete(table).where(key.in_(keys)))
        return len(keys)

    async def audit(self, *, actor: str, action: str, subject: str, detail: dict[str, object]) -> None:
        await audit_log.append(
            self.conn, orm.audit, actor=actor, action=action, subject=subject, detail=detail, at=self.clock()
        )

    async def audit_many(self, entries: Sequence[AuditNote]) -> None:
        now = self.clock()
        await audit_log.append_many(
            self.conn,
            orm.audit,
            [audit_log.Entry(e.actor, e.action, e.subject, dict(e.detail), now) for e in entries],
        )

    # --- what notify needs to reach a citizen --------------------------------------

    async def contacts_changed(
        self,
        citizen_ids: Sequence[str],
        *,
        phones: Mapping[str, str] | None = None,
        unbound: Collection[str] = (),
    ) -> None:
        """Tell notify (through the outbox, in this transaction) the whole current
        contacts of each citizen: the register's phone and the bound openids and
        newest device. The values go as they are stored, sealed: notify opens them
        with the same keys, and no clear address reaches the stream's store.

        A register import knows what it just wrote, and a batch of thousands should
        not read it back: ``phones`` are sealed phones written in this transaction
        (read for the others), ``unbound`` citizens it just created (no binding can
        name them yet, so their bindings are not looked for)."""
        if not citizen_ids:
            return
        r, b = orm.residents, orm.bindings
        known = dict(phones or {})
        unread = [c for c in citizen_ids if c not in known]
        for start in range(0, len(unread), _IN_LIST):
            found = await self.conn.execute(
                select(r.c.citizen_id, r.c.phone_sealed).where(
                    r.c.citizen_id.in_(unread[start : start + _IN_LIST])
                )
            )
            known.update({row.citizen_id: row.phone_sealed for row in found})
        wechat: dict[str, dict[str, str]] = {}
        device: dict[str, str] = {}
        unbound = set(unbound)
        maybe_bound = [c for c in dict.fromkeys(citizen_ids) if c not in unbound]
        rows: list[Any] = []
        for start in range(0, len(maybe_bound), _IN_LIST):
            bound = await self.conn.execute(
                select(b.c.citizen_id, b.c.kind, b.c.city_code, b.c.subject_sealed)
                .where(
                    b.c.citizen_id.in_(maybe_bound[start : start + _IN_LIST]),
                    b.c.subject_sealed.is_not(None),
                )
                .order_by(b.c.created_at, b.c.id)
            )
            rows.extend(bound)  # a citizen's bindings all in one chunk, oldest first
        for row in rows:
            if row.kind == BindingKind.WECHAT.value:
                wechat.setdefault(row.citizen_id, {})[row.city_code] = row.subject_sealed
            else:
                device[row.citizen_id] = row.subject_sealed  # the newest bound wins
        at = timestamp_to_proto(self.clock())
        await add_events(
            self.conn,
            orm.outbox,
            [
                events_pb2.CitizenContactsChanged(
                    occurred_at=at,
                    citizen_id=citizen_id,
                    phone_sealed=known.get(citizen_id) or "",
                    wechat_openids_sealed=wechat.get(citizen_id, {}),
                    app_device_sealed=device.get(citizen_id, ""),
                )
                for citizen_id in dict.fromkeys(citizen_ids)
            ],
        )

    async def backfill(self, name: str) -> tuple[str, bool] | None:
        """The cursor of a backfill and whether it is done; None if it never started."""
        f = orm.backfills
        row = (await self.conn.execute(select(f.c.cursor, f.c.done_at).where(f.c.name == name))).first()
        return None if row is None else (row.cursor, row.done_at is not None)

    async def set_backfill(self, name: str, cursor: str, *, done: bool) -> None:
        f = orm.backfills
        values = {"cursor": cursor, "done_at": self.clock() if done else None}
        if not (await self.conn.execute(update(f).where(f.c.name == name).values(**values))).rowcount:
            await self.conn.execute(f.insert().values(name=name, **values))

    async def citizens_after(self, cursor: str, limit: int) -> list[str]:
        r = orm.residents
        query = select(r.c.citizen_id).where(r.c.citizen_id > cursor).order_by(r.c.citizen_id).limit(limit)
        return list((await self.conn.execute(query)).scalars())
