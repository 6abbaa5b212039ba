"""Identity's store of register imports on SQL: import jobs, the pieces of their
files (sealed), their refused rows, and residents written a batch at a time with
one multi-row ``INSERT … ON CONFLICT (id_lookup) DO UPDATE`` (PostgreSQL and SQLite
both have it), so a batch costs one round trip rather than one per resident."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, func, or_, select, update
from sqlalchemy.dialects import sqlite

from services.identity.adapters import orm
from services.identity.adapters.store import SqlStore
from services.identity.service_layer.ports import (
    BatchDone,
    ImportJob,
    LeaseLost,
    PreparedResident,
    RowProblem,
)
from services.runtime.db import as_utc

#: Look-up hashes per ``IN (…)``: bound parameters stay under PostgreSQL's 32,767.
_ROWS_PER_STATEMENT = 5000


class SqlImportStore(SqlStore):
    """Identity's store with the import's own tables: what a batch writes (the
    residents, and whatever the register's store does when they change) and the
    job's progress share one transaction."""

    # --- residents -------------------------------------------------------------

    async def resident_digests(self, lookups: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        r = orm.residents
        found: dict[str, tuple[str, str | None]] = {}
        if self.conn.dialect.name == "postgresql":
            # One array parameter rather than thousands in an IN list (each costs CPU).
            raw = await self._asyncpg()
            sql = "SELECT id_lookup, citizen_id, row_digest FROM residents WHERE id_lookup = ANY($1::text[])"
            for row in await raw.fetch(sql, list(lookups)):
                found[row["id_lookup"]] = (row["citizen_id"], row["row_digest"])
            return found
        for start in range(0, len(lookups), _ROWS_PER_STATEMENT):
            query = select(r.c.id_lookup, r.c.citizen_id, r.c.row_digest).where(
                r.c.id_lookup.in_(lookups[start : start + _ROWS_PER_STATEMENT])
            )
            for row in await self.conn.execute(query):
                found[row.id_lookup] = (row.citizen_id, row.row_digest)
        return found

    async def upsert_residents(self, rows: Sequence[tuple[str, PreparedResident]], now: dt.datetime) -> None:
        if not rows:
            return
        if self.conn.dialect.name == "postgresql":
            await self._copy_upsert(rows, now)
            return
        statement = sqlite.insert(orm.residents)
        # One statement, compiled once and executed for every row.
        await self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=[orm.residents.c.id_lookup],
                set_={
                    c: (
                        func.coalesce(statement.excluded[c], orm.residents.c[c])
                        if c in _KEPT_WHEN_EMPTY
                        else statement.excluded[c]
                    )
                    for c in _UPDATED
                },
            ),
            [dict(zip(_COLUMNS, _values(citizen_id, p, now), strict=True)) for citizen_id, p in rows],
        )

    async def _copy_upsert(self, rows: Sequence[tuple[str, PreparedResident]], now: dt.datetime) -> None:
        """PostgreSQL: the batch is COPYed into a temporary table, then merged with one
        ``INSERT … SELECT … ON CONFLICT``. Building bound parameters row by row costs
        more CPU than sealing the row; COPY sends the rows as they are."""
        raw = await self._asyncpg()
        # Per connection, emptied by each commit (the transaction is the caller's).
        await raw.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS residents_incoming "
            "(LIKE residents INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        await raw.copy_records_to_table(
            "residents_incoming",
            records=[_values(citizen_id, p, now) for citizen_id, p in rows],
            columns=list(_COLUMNS),
            schema_name="pg_temp",
        )
        columns = ", ".join(_COLUMNS)
        updates = ", ".join(
            f"{c} = COALESCE(excluded.{c}, residents.{c})" if c in _KEPT_WHEN_EMPTY else f"{c} = excluded.{c}"
            for c in _UPDATED
        )
        await raw.execute(
            f"INSERT INTO residents ({columns}) SELECT {columns} FROM residents_incoming "
            f"ON CONFLICT (id_lookup) DO UPDATE SET {updates}"
        )
        await raw.execute("TRUNCATE residents_incoming")

    async def _asyncpg(self) -> Any:
        """The asyncpg connection under this transaction, for what SQLAlchemy makes
        slow. SQLAlchemy sends BEGIN lazily, with its first statement: one goes first,
        or the raw statements would run (and commit) outside the transaction."""
        await self.conn.exec_driver_sql("SELECT 1")
        raw = (await self.conn.get_raw_connection()).driver_connection
        assert raw is not None
        return raw

    # --- jobs ------------------------------------------------------------------

    async def create_job(self, job: ImportJob, lease_until: dt.datetime) -> None:
        await self.conn.execute(
            orm.import_jobs.insert().values(
                id=job.id,
                state=job.state,
                format=job.format,
                actor=job.actor,
                created_at=job.created_at,
                lease_until=lease_until,
                lease_owner=job.lease_owner,
                bytes=0,
                chunks=0,
                rows_done=0,
                imported=0,
                updated=0,
                unchanged=0,
                rejected=0,
            )
        )

    async def add_chunk(self, job_id: str, seq: int, content: bytes, lease_until: dt.datetime) -> None:
        j = orm.import_jobs
        await self.conn.execute(
            orm.import_chunks.insert().values(
                id=f"{job_id}:{seq:08d}",
                job_id=job_id,
                seq=seq,
                content_sealed=self.cipher.seal_bytes(content),
            )
        )
        # Still receiving: an upload so slow that its lease ran out was failed meanwhile.
        done = await self.conn.execute(
            update(j)
            .where(j.c.id == job_id, j.c.state == "receiving")
            .values(bytes=j.c.bytes + len(content), chunks=j.c.chunks + 1, lease_until=lease_until)
        )
        if not done.rowcount:
            raise LeaseLost(job_id)

    async def queue_job(self, job_id: str) -> None:
        j = orm.import_jobs
        done = await self.conn.execute(
            update(j)
            .where(j.c.id == job_id, j.c.state == "receiving")
            .values(state="queued", lease_until=None, lease_owner=None)
        )
        if not done.rowcount:
            raise LeaseLost(job_id)

    async def job(self, job_id: str, *, rejections: int) -> ImportJob | None:
        row = (await self.conn.execute(select(orm.import_jobs).where(orm.import_jobs.c.id == job_id))).first()
        if row is None:
            return None
        x = orm.import_rejections
        kept = await self.conn.execute(
            select(x.c.line, x.c.field, x.c.reason)
            .where(x.c.job_id == job_id)
            .order_by(x.c.seq)
            .limit(rejections)
        )
        return _job(row, tuple(RowProblem(k.line, k.field, k.reason) for k in kept))

    async def claim_job(
        self, now: dt.datetime, lease_until: dt.datetime, owner: str, job_id: str | None = None
    ) -> ImportJob | None:
        j = orm.import_jobs
        takeable = or_(j.c.state == "queued", (j.c.state == "running") & (j.c.lease_until < now))
        if job_id is None:
            query = select(j.c.id).where(takeable).order_by(j.c.created_at).limit(1)
            job_id = (await self.conn.execute(query)).scalar()
            if job_id is None:
                return None
        # Compare-and-set: of two processes reaching for the same job, one gets it.
        done = await self.conn.execute(
            update(j)
            .where(j.c.id == job_id, takeable)
            .values(
                state="running",
                lease_until=lease_until,
                lease_owner=owner,
                started_at=func.coalesce(j.c.started_at, now),
            )
        )
        if not done.rowcount:
            return None
        return await self.job(job_id, rejections=0)

    async def chunk(self, job_id: str, seq: int) -> bytes | None:
        c = orm.import_chunks
        sealed = (
            await self.conn.execute(select(c.c.content_sealed).where(c.c.job_id == job_id, c.c.seq == seq))
        ).scalar()
        return None if sealed is None else self.cipher.open_bytes(sealed)

    async def record_batch(self, job_id: str, owner: str, done: BatchDone, lease_until: dt.datetime) -> None:
        j = orm.import_jobs
        changed = await self.conn.execute(
            update(j)
            .where(j.c.id == job_id, j.c.state == "running", j.c.lease_owner == owner)
            .values(
                rows_done=j.c.rows_done + done.rows,
                imported=j.c.imported + done.imported,
                updated=j.c.updated + done.updated,
                unchanged=j.c.unchanged + done.unchanged,
                rejected=j.c.rejected + done.rejected,
                lease_until=lease_until,
            )
        )
        if not changed.rowcount:
            raise LeaseLost(job_id)
        if done.kept:
            await self.conn.execute(
                orm.import_rejections.insert(),
                [
                    {"job_id": job_id, "line": p.line, "field": p.field[:64], "reason": p.reason[:400]}
                    for p in done.kept
                ],
            )

    async def finish_job(
        self, job_id: str, owner: str, now: dt.datetime, error: tuple[str, RowProblem] | None
    ) -> None:
        j = orm.import_jobs
        values: dict[str, Any] = {
            "state": "failed" if error else "done",
            "finished_at": now,
            "lease_until": None,
        }
        if error:
            code, problem = error
            values.update(error_code=code, error_field=problem.field[:64], error_detail=problem.reason[:400])
        changed = await self.conn.execute(
            update(j).where(j.c.id == job_id, j.c.lease_owner == owner).values(**values)
        )
        if not changed.rowcount:
            raise LeaseLost(job_id)
        await self.conn.execute(delete(orm.import_chunks).where(orm.import_chunks.c.job_id == job_id))

    async def fail_abandoned(self, now: dt.datetime) -> list[str]:
        j = orm.import_jobs
        stale = (j.c.state == "receiving") & (j.c.lease_until < now)
        ids = list((await self.conn.execute(select(j.c.id).where(stale))).scalars())
        if ids:
            await self.conn.execute(
                update(j)
                .where(j.c.id.in_(ids), stale)
                .values(
                    state="failed",
                    finished_at=now,
                    lease_until=None,
                    error_code="upload_interrupted",
                    error_field="content",
                    error_detail="The upload of the file stopped before its end.",
                )
            )
            await self.conn.execute(delete(orm.import_chunks).where(orm.import_chunks.c.job_id.in_(ids)))
        return ids


#: The columns an import writes, in the order :func:`_values` gives them.
_COLUMNS = (
    "citizen_id",
    "id_lookup",
    "id_sealed",
    "name_sealed",
    "phone_sealed",
    "address_sealed",
    "city_code",
    "gender",
    "birth_date",
    "photo_captured_on",
    "fingerprint_on_file",
    "card_issued_on",
    "card_expires_on",
    "card_status",
    "updated_at",
    "row_digest",
    "card_number_sealed",
    "residence_city_code",
    "residence_address_sealed",
    "residence_registered_on",
)
#: Everything but the citizen id, which every other service knows a resident by.
_UPDATED = tuple(c for c in _COLUMNS if c not in ("citizen_id", "id_lookup"))
#: Kept when a row leaves them empty: the card's number is written by the cards
#: service when a new card is made (RecordNewCard), and a register file that does
#: not know it must not erase it.
_KEPT_WHEN_EMPTY = frozenset({"card_number_sealed"})


def _values(citizen_id: str, prepared: PreparedResident, now: dt.datetime) -> tuple[Any, ...]:
    resident, sealed = prepared.resident, prepared.sealed
    return (
        citizen_id,
        prepared.lookup,
        sealed["id_sealed"],
        sealed["name_sealed"],
        sealed["phone_sealed"],
        sealed["address_sealed"],
        resident.city_code,
        resident.gender,
        resident.birth_date,
        resident.photo_captured_on,
        resident.fingerprint_on_file,
        resident.card_issued_on,
        resident.card_expires_on,
        resident.card_status.value,
        now,
        prepared.digest,
        sealed.get("card_number_sealed"),
        resident.residence_city_code or None,
        sealed.get("residence_address_sealed"),
        resident.residence_registered_on,
    )


def _job(row: Row[Any], rejections: tuple[RowProblem, ...]) -> ImportJob:
    created = as_utc(row.created_at)
    assert created is not None
    return ImportJob(
        id=row.id,
        state=row.state,
        format=row.format,
        actor=row.actor,
        created_at=created,
        started_at=as_utc(row.started_at),
        finished_at=as_utc(row.finished_at),
        bytes=row.bytes,
        rows_done=row.rows_done,
        imported=row.imported,
        updated=row.updated,
        unchanged=row.unchanged,
        rejected=row.rejected,
        error=RowProblem(0, row.error_field or "content", row.error_detail or "") if row.error_code else None,
        error_code=row.error_code,
        rejections=rejections,
        lease_owner=row.lease_owner,
    )
