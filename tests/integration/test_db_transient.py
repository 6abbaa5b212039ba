"""A real PostgreSQL deadlock between two transactions is recognised as transient,
and retry_transient runs the work again until it succeeds."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.runtime.db import Database, is_transient, retry_transient


@pytest.mark.postgres
async def test_a_deadlock_is_transient_and_the_work_is_run_again(postgres_url: str) -> None:
    db = Database(postgres_url, schema=f"t{uuid.uuid4().hex[:12]}_deadlock")
    async with db.write() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{db.schema}"'))
        await conn.execute(text(f'CREATE TABLE "{db.schema}".rows (id int primary key, n int)'))
        await conn.execute(text(f'INSERT INTO "{db.schema}".rows VALUES (1, 0), (2, 0)'))
    both_hold_one = asyncio.Barrier(2)
    tries: list[int] = []

    async def lock(first: int, second: int) -> None:
        tries.append(first)
        async with db.write() as conn:
            await conn.execute(text(f'UPDATE "{db.schema}".rows SET n = n + 1 WHERE id = :id'), {"id": first})
            if len(tries) <= 2:  # only the first round meets in the middle
                await both_hold_one.wait()
            await conn.execute(
                text(f'UPDATE "{db.schema}".rows SET n = n + 1 WHERE id = :id'), {"id": second}
            )

    try:
        with pytest.raises(DBAPIError) as raised:
            await asyncio.gather(lock(1, 2), lock(2, 1))
        assert is_transient(raised.value)
        assert not is_transient(ValueError("not a database error"))

        tries.clear()
        both_hold_one = asyncio.Barrier(2)
        await asyncio.gather(retry_transient(lambda: lock(1, 2)), retry_transient(lambda: lock(2, 1)))
        assert len(tries) == 3  # one of the two was run again
        async with db.read() as conn:
            counts = (
                (await conn.execute(text(f'SELECT n FROM "{db.schema}".rows ORDER BY id'))).scalars().all()
            )
        # The deadlock's survivor (1 each), then both of the second round (2 each).
        assert counts == [3, 3]
    finally:
        async with db.write() as conn:
            await conn.execute(text(f'DROP SCHEMA "{db.schema}" CASCADE'))
        await db.dispose()
