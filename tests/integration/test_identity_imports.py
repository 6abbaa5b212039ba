"""Register imports as jobs, on SQLite and PostgreSQL: progress batch by batch,
refused rows by line and field, a job taken up again after its process died (from
its last committed batch, nothing twice), and re-imports that change only what
changed."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.identity import bootstrap
from services.identity.adapters import orm
from services.identity.config import IdentitySettings
from services.identity.domain.id_number import check_character
from services.identity.service_layer.imports import ResidentImports
from services.identity.service_layer.ports import (
    ImportJob,
    PreparedBatch,
    PreparedResident,
    Preparer,
    RowProblem,
)
from services.runtime.errors import ProblemError
from tests.conftest import FakeClock as Clock

HEADER = (
    "id_number,name,phone,city,household_address,photo_captured_on,fingerprint_on_file,"
    "card_issued_on,card_expires_on,card_status"
)


def number(n: int) -> str:
    first17 = f"41010519850312{n:03d}"
    return first17 + check_character(first17)


def register_file(count: int, *, phone: int = 13800000000, bad: Sequence[int] = ()) -> bytes:
    """``count`` residents; the rows numbered in ``bad`` carry a NUL in the name."""
    lines = [HEADER]
    for n in range(count):
        name = f"居民\x00{n}" if n in bad else f"居民{n}"
        lines.append(f"{number(n)},{name},{phone + n},zhengzhou,河南省郑州市,,,,,valid")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
async def identity(tmp_path: Path, backend: dict[str, Any], clock: Clock) -> AsyncIterator[Any]:
    app = bootstrap.build(
        IdentitySettings(data_dir=tmp_path, import_batch=3, import_workers=0, **backend), clock=clock
    )
    await asyncio.to_thread(app.migrate)
    yield app
    await app.imports.preparer.close()
    await app.db.dispose()


async def residents(app: Any) -> list[tuple[str, str]]:
    async with app.db.read() as conn:
        query = select(orm.residents.c.id_lookup, orm.residents.c.citizen_id).order_by(
            orm.residents.c.id_lookup
        )
        return [(row.id_lookup, row.citizen_id) for row in await conn.execute(query)]


async def test_a_job_reports_progress_and_refused_lines(identity: Any) -> None:
    seen: list[int] = []
    job = await identity.imports.receive(pieces(register_file(10, bad=[4, 8])), "csv", actor="admin:test")
    assert job.state == "queued" and job.bytes > 0
    done = await identity.imports.run_next(job.id, progress=lambda now: seen.append(now.rows_done))
    assert done is not None
    assert (done.state, done.rows_done, done.imported, done.rejected) == ("done", 10, 8, 2)
    assert seen[:4] == [3, 6, 9, 10]  # a batch at a time
    assert [(p.line, p.field) for p in done.rejections] == [(6, "name"), (10, "name")]
    assert "U+0000" in done.rejections[0].reason and "居民" not in done.rejections[0].reason
    assert done.rate(identity.imports.clock()) >= 0 and done.finished_at is not None
    assert len(await residents(identity)) == 8
    async with identity.db.read() as conn:  # the file is gone with the job
        assert (await conn.execute(select(func.count()).select_from(orm.import_chunks))).scalar() == 0


async def test_re_importing_changes_only_what_changed(identity: Any) -> None:
    first = await identity.imports.run_file(register_file(7), "csv", actor="admin:test")
    before = await residents(identity)
    again = await identity.imports.run_file(register_file(7), "csv", actor="admin:test")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 7)
    moved = register_file(7).replace(b"13800000003", b"13900000003")
    changed = await identity.imports.run_file(moved, "csv", actor="admin:test")
    assert (first.imported, changed.imported, changed.updated, changed.unchanged) == (7, 0, 1, 6)
    assert await residents(identity) == before  # same citizens, same ids
    async with identity.uow.read() as store:
        resident = await store.resident_by_lookup(identity.cipher.lookup(number(3)))
    assert resident.phone == "+8613900000003"


class CrashingPreparer:
    """Prepares ``batches`` batches, then dies as a process would (the run stops)."""

    def __init__(self, inner: Preparer, batches: int) -> None:
        self.inner = inner
        self.left = batches

    async def check(
        self, records: Sequence[tuple[int, dict[str, str] | RowProblem]], today: dt.date
    ) -> PreparedBatch:
        if self.left == 0:
            raise RuntimeError("the process died")
        self.left -= 1
        return await self.inner.check(records, today)

    async def seal(self, residents: Sequence[PreparedResident]) -> list[PreparedResident]:
        return await self.inner.seal(residents)

    async def close(self) -> None:
        pass


async def test_a_job_left_by_a_dead_process_resumes_from_its_last_batch(identity: Any, clock: Clock) -> None:
    imports: ResidentImports = identity.imports
    dying = ResidentImports(
        imports.uow, CrashingPreparer(imports.preparer, 2), clock=clock, policy=imports.policy
    )
    job = await dying.receive(pieces(register_file(11, bad=[1])), "csv", actor="admin:test")
    with pytest.raises(RuntimeError):
        await dying.run_next(job.id)
    left = await imports.status(job.id)
    assert (left.state, left.rows_done, left.imported, left.rejected) == ("running", 6, 5, 1)
    # Its lease holds it for a while: nobody else takes it before then.
    assert await imports.run_next() is None
    clock.now += imports.policy.lease + dt.timedelta(seconds=1)
    done: ImportJob | None = await imports.run_next()
    assert done is not None and done.id == job.id
    assert (done.state, done.rows_done, done.imported, done.updated, done.unchanged) == ("done", 11, 10, 0, 0)
    assert [(p.line, p.field) for p in done.rejections] == [(3, "name")]  # reported once
    assert len(await residents(identity)) == 10


async def test_an_unreadable_file_fails_its_job_keeping_what_was_read(identity: Any) -> None:
    content = register_file(4).replace(b"zhengzhou", b"zheng\xffzhou", 1)
    with pytest.raises(ProblemError) as refused:  # not UTF-8 at the start: refused at once
        await identity.imports.run_file(content, "csv", actor="admin:test")
    assert refused.value.code == "not_utf8"
    late = register_file(4) + b"x" * (identity.imports.policy.piece) + b"\xff\n"
    failed = await identity.imports.run_file(late, "csv", actor="admin:test")
    assert (failed.state, failed.imported, failed.error_code) == ("failed", 4, "not_utf8")


async def pieces(content: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


async def test_a_batch_rolled_back_leaves_no_resident(identity: Any, clock: Clock) -> None:
    """The residents of a batch are written in the caller's transaction (PostgreSQL's
    COPY path too): a batch that fails later, e.g. on a lost lease, leaves nothing."""
    from services.identity.adapters.preparer import ThreadPreparer
    from services.identity.service_layer import register

    preparer = ThreadPreparer(identity.cipher)
    checked = await preparer.check(list(register.rows(register_file(3), "csv")), clock().date())
    sealed = await preparer.seal(checked.residents)
    with pytest.raises(RuntimeError):
        async with identity.imports.uow.write() as store:
            done = await register.upsert_residents(store, sealed, clock())
            assert len(done.created) == 3
            raise RuntimeError("the lease was lost")
    assert await residents(identity) == []


async def test_worker_processes_check_and_seal_as_this_one_does() -> None:
    from services.identity.adapters.pii import PiiCipher
    from services.identity.adapters.preparer import PoolPreparer, ThreadPreparer
    from services.identity.service_layer import register

    cipher = PiiCipher([PiiCipher.generate_key()], PiiCipher.generate_key())
    pool = PoolPreparer(cipher, 1, min_batch=1)
    try:
        checked = await pool.check(list(register.rows(register_file(3, bad=[1]), "csv")), dt.date(2030, 1, 1))
        sealed = await pool.seal(checked.residents)
    finally:
        await pool.close()
    assert [p.line for p in checked.problems] == [3]
    assert [p.lookup for p in sealed] == [cipher.lookup(number(0)), cipher.lookup(number(2))]
    assert cipher.open(sealed[1].sealed["name_sealed"]) == "居民2"
    here = await ThreadPreparer(cipher).check(
        list(register.rows(register_file(3), "csv")), dt.date(2030, 1, 1)
    )
    assert [p.resident for p in checked.residents] == [here.residents[0].resident, here.residents[2].resident]
    assert [p.digest for p in checked.residents] == [here.residents[0].digest, here.residents[2].digest]


async def test_an_upload_that_stalls_past_its_lease_is_refused(identity: Any, clock: Clock) -> None:
    imports: ResidentImports = identity.imports
    other = ResidentImports(imports.uow, imports.preparer, clock=clock, policy=imports.policy)

    async def stalling() -> AsyncIterator[bytes]:
        yield register_file(2)
        clock.now += imports.policy.lease + dt.timedelta(seconds=1)
        assert await other.run_next() is None  # any process's sweep fails the upload
        yield register_file(2)

    with pytest.raises(ProblemError) as refused:
        await imports.receive(stalling(), "csv", actor="admin:test")
    assert refused.value.code == "upload_interrupted"
    async with identity.db.read() as conn:
        [state] = (await conn.execute(select(orm.import_jobs.c.state))).scalars()
        assert state == "failed"
        assert (await conn.execute(select(func.count()).select_from(orm.import_chunks))).scalar() == 0


async def test_a_large_batch_tells_notify_each_new_and_changed_phone_as_written(
    tmp_path: Path, backend: dict[str, Any], clock: Clock
) -> None:
    """A batch big enough for the outbox's COPY on PostgreSQL (``COPY_FROM``): one
    event per new or changed resident, in order, each with the phone just sealed
    (not read back), and a changed resident's bindings still told."""
    from mintong.identity.v1 import events_pb2
    from services.runtime.outbox import COPY_FROM

    count = COPY_FROM + 50
    app = bootstrap.build(
        IdentitySettings(data_dir=tmp_path, import_batch=1000, import_workers=0, **backend), clock=clock
    )
    await asyncio.to_thread(app.migrate)
    try:

        async def told() -> list[events_pb2.CitizenContactsChanged]:
            async with app.db.read() as conn:
                rows = await conn.execute(select(orm.outbox.c.payload).order_by(orm.outbox.c.seq))
                return [events_pb2.CitizenContactsChanged.FromString(r.payload) for r in rows]

        async def phones() -> dict[str, str]:
            async with app.db.read() as conn:
                rows = await conn.execute(select(orm.residents.c.citizen_id, orm.residents.c.phone_sealed))
                return {r.citizen_id: r.phone_sealed for r in rows}

        first = await app.imports.run_file(register_file(count), "csv", actor="admin:test")
        assert first.imported == count
        events = await told()
        assert len(events) == count and await phones() == {e.citizen_id: e.phone_sealed for e in events}
        assert all(not e.wechat_openids_sealed and not e.app_device_sealed for e in events)

        # A bound resident whose phone changes: the event carries the new phone and the binding.
        someone = events[0].citizen_id
        async with app.db.write() as conn:
            await conn.execute(
                orm.bindings.insert().values(
                    id="b1",
                    citizen_id=someone,
                    kind="wechat",
                    city_code="zhengzhou",
                    subject_lookup="lookup-b1",
                    subject_sealed="sealed-openid",
                    label="",
                    created_at=clock.now,
                )
            )
        moved = register_file(count).replace(b"13800000000,", b"13900000000,")
        changed = await app.imports.run_file(moved, "csv", actor="admin:test")
        assert (changed.updated, changed.unchanged) == (1, count - 1)
        last = (await told())[-1]
        assert (last.citizen_id, last.phone_sealed) == (someone, (await phones())[someone])
        assert app.cipher.open(last.phone_sealed) == "+8613900000000"
        assert dict(last.wechat_openids_sealed) == {"zhengzhou": "sealed-openid"}
    finally:
        await app.db.dispose()
