"""Identity prunes what sign-in leaves behind (rate events past the limits' hour,
challenges and sessions a day past their end), on SQLite and PostgreSQL, by hand and
from its background worker, with the test's clock deciding what is old."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.identity import bootstrap
from services.identity.adapters import orm
from services.identity.config import IdentitySettings
from services.identity.service_layer.housekeeping import PruneWorker, prune
from services.identity.service_layer.ports import Challenge, Pruned, Session
from tests.conftest import FakeClock
from tests.integration.test_notify import eventually

HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)


@pytest.fixture
async def identity(tmp_path: Path, backend: dict[str, Any], clock: FakeClock) -> AsyncIterator[Any]:
    settings = IdentitySettings(data_dir=tmp_path, identity_prune_interval=0.05, **backend)
    app = bootstrap.build(settings, clock=clock)
    await asyncio.to_thread(app.migrate)
    yield app
    await app.db.dispose()


async def counts(app: Any) -> tuple[int, int, int]:
    async with app.db.read() as conn:
        return tuple(
            [
                (await conn.execute(select(func.count()).select_from(t))).scalar_one()
                for t in (orm.rate_events, orm.challenges, orm.sessions)
            ]
        )


async def leave_behind(app: Any, now: dt.datetime) -> None:
    """Of each kind, rows that are due for pruning at ``now`` and rows that are not."""
    async with app.uow.write() as store:
        await store.add_rate("number:x", now - 2 * HOUR)  # no limit counts it any more
        await store.add_rate("number:x", now - HOUR / 2)  # the hourly limit still does
        for n, expires in enumerate((now - 2 * DAY, now - HOUR, now + 5 * dt.timedelta(minutes=1))):
            challenge = Challenge(f"ch-{n}", "c1", "hash", expires, 0, None)
            await store.add_challenge("lookup", challenge, now - 2 * DAY)
        sessions = [
            (Session("s-expired", "c1", "app", now - 2 * DAY, None), None),
            (Session("s-revoked-long-ago", "c1", "app", now + DAY, None), now - 2 * DAY),
            (Session("s-revoked-today", "c1", "app", now + DAY, None), now - HOUR),
            (Session("s-live", "c1", "app", now + DAY, None), None),
        ]
        for session, revoked in sessions:
            await store.add_session(session, f"refresh-{session.id}", now - 3 * DAY)
            if revoked:
                await store.revoke(session.id, revoked, reason="sign_out")


async def test_pruning_deletes_what_nothing_reads_any_more_and_keeps_the_rest(
    identity: Any, clock: FakeClock
) -> None:
    await leave_behind(identity, clock.now)
    assert await counts(identity) == (2, 3, 4)
    # Batches of one row: the loop goes on until a batch comes back short.
    assert await prune(identity.uow, clock.now, batch=1) == Pruned(rate_events=1, challenges=1, sessions=2)
    assert await counts(identity) == (1, 2, 2)
    async with identity.uow.read() as store:
        assert (await store.count_rate("number:x", clock.now - HOUR))[0] == 1  # the limit is unchanged
        assert await store.session("s-live") is not None
        assert await store.session("s-revoked-today") is not None  # kept a day for whoever asks
    assert await prune(identity.uow, clock.now) == Pruned()

    clock.now += 2 * DAY
    assert await prune(identity.uow, clock.now) == Pruned(rate_events=1, challenges=2, sessions=1)
    assert await counts(identity) == (0, 0, 1)  # the live session expires only in a day's time


async def test_the_worker_prunes_at_start_and_then_every_interval(identity: Any, clock: FakeClock) -> None:
    [worker] = [w for w in identity.host.workers if isinstance(w, PruneWorker)]
    assert worker.interval == 0.05  # MINTONG_IDENTITY_PRUNE_INTERVAL
    await leave_behind(identity, clock.now)
    await worker.start()
    try:
        await eventually(lambda: _counts_are(identity, (1, 2, 2)))
        clock.now += 2 * DAY  # the next rounds see two days later
        await eventually(lambda: _counts_are(identity, (0, 0, 1)))
    finally:
        await worker.stop()


async def _counts_are(app: Any, expected: tuple[int, int, int]) -> bool:
    return await counts(app) == expected


async def test_staff_sessions_device_challenges_face_attempts_and_binding_links_are_pruned_too(
    identity: Any, clock: FakeClock
) -> None:
    now = clock.now
    rows = {
        orm.staff_accounts: [{"id": "st", "username": "clerk", "active": True, "created_at": now}],
        orm.staff_sessions: [
            {"id": "old", "staff_id": "st", "created_at": now - 3 * DAY, "expires_at": now - 2 * DAY},
            {"id": "live", "staff_id": "st", "created_at": now, "expires_at": now + HOUR},
        ],
        orm.device_challenges: [
            {
                "nonce": "n-old",
                "device_lookup": "d",
                "created_at": now - 3 * DAY,
                "expires_at": now - 2 * DAY,
            },
            {"nonce": "n-new", "device_lookup": "d", "created_at": now, "expires_at": now + HOUR},
        ],
        orm.face_attempts: [
            {
                "id": "f-old",
                "citizen_id": "c1",
                "session_id": "s",
                "matched": False,
                "provider_ref": "",
                "at": now - 3 * DAY,
            },
            {
                "id": "f-new",
                "citizen_id": "c1",
                "session_id": "s",
                "matched": True,
                "provider_ref": "",
                "at": now - HOUR,
            },
        ],
    }
    async with identity.db.write() as conn:
        for table, values in rows.items():
            columns = {c.name for c in table.c}
            for value in values:
                # Whatever else a row needs (not what pruning looks at) gets a plain filler.
                filler = {
                    c.name: _filler(c)
                    for c in table.c
                    if c.name not in value and not c.nullable and c.default is None
                }
                await conn.execute(
                    table.insert().values(**{k: v for k, v in {**filler, **value}.items() if k in columns})
                )
        await conn.execute(orm.binding_sessions.insert().values(session_id="gone", binding_id="b"))
    async with identity.uow.write() as store:
        await store.add_session(Session("kept", "c1", "wechat", now + DAY, None), "refresh-kept", now)
    async with identity.db.write() as conn:
        await conn.execute(orm.binding_sessions.insert().values(session_id="kept", binding_id="b"))

    assert await prune(identity.uow, now) == Pruned(
        staff_sessions=1, device_challenges=1, face_attempts=1, binding_sessions=1
    )
    async with identity.db.read() as conn:
        for table, key, left in (
            (orm.staff_sessions, orm.staff_sessions.c.id, ["live"]),
            (orm.device_challenges, orm.device_challenges.c.nonce, ["n-new"]),
            (orm.face_attempts, orm.face_attempts.c.id, ["f-new"]),
            (orm.binding_sessions, orm.binding_sessions.c.session_id, ["kept"]),
        ):
            assert list((await conn.execute(select(key))).scalars()) == left, table.name


def _filler(column: Any) -> Any:
    python_type = column.type.python_type
    return {str: "x", int: 0, bool: False, dt.datetime: dt.datetime(2030, 1, 1, tzinfo=dt.UTC)}.get(
        python_type, "x"
    )


async def test_finished_imports_are_pruned_with_their_rejections_after_the_retention(
    identity: Any, clock: FakeClock
) -> None:
    [worker] = [w for w in identity.host.workers if isinstance(w, PruneWorker)]
    assert worker.import_retention == 30 * DAY  # MINTONG_IMPORT_RETENTION_DAYS
    now = clock.now
    jobs = {  # id: (state, finished)
        "done-old": ("done", now - 31 * DAY),
        "failed-old": ("failed", now - 31 * DAY),
        "done-recent": ("done", now - 29 * DAY),
        "running-long": ("running", None),
        "queued-long": ("queued", None),
    }
    async with identity.db.write() as conn:
        for job_id, (state, finished) in jobs.items():
            filler = {c.name: _filler(c) for c in orm.import_jobs.c if not c.nullable}
            await conn.execute(
                orm.import_jobs.insert().values(
                    **{**filler, "id": job_id, "state": state, "created_at": now - 40 * DAY},
                    finished_at=finished,
                )
            )
            for line in (2, 3):
                await conn.execute(
                    orm.import_rejections.insert().values(job_id=job_id, line=line, field="phone", reason="x")
                )
            await conn.execute(
                orm.import_chunks.insert().values(
                    id=f"{job_id}:0", job_id=job_id, seq=0, content_sealed="sealed"
                )
            )

    assert await prune(identity.uow, now, batch=1) == Pruned(import_jobs=2)
    left = sorted(set(jobs) - {"done-old", "failed-old"})
    async with identity.db.read() as conn:
        for table in (orm.import_jobs, orm.import_rejections, orm.import_chunks):
            key = table.c.id if table is orm.import_jobs else table.c.job_id
            assert sorted(set((await conn.execute(select(key))).scalars())) == left, table.name
    # A shorter retention (the setting) takes the recent one too; unfinished jobs stay.
    assert await prune(identity.uow, now, import_retention=28 * DAY) == Pruned(import_jobs=1)
    async with identity.db.read() as conn:
        assert sorted((await conn.execute(select(orm.import_jobs.c.id))).scalars()) == [
            "queued-long",
            "running-long",
        ]
