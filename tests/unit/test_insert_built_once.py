"""insert_built_once (decision 99): an ON CONFLICT insert SQLAlchemy compiles once."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.dialects import sqlite

from services.runtime.db import insert_built_once

metadata = MetaData()
things = Table("things", metadata, Column("id", Integer, primary_key=True), Column("name", String))


def test_it_is_compiled_once_and_two_of_them_stay_apart() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    skip = insert_built_once(things, "sqlite").on_conflict_do_nothing()
    rename = insert_built_once(things, "sqlite")
    rename = rename.on_conflict_do_update(index_elements=["id"], set_={"name": rename.excluded.name})
    plain = sqlite.insert(things).on_conflict_do_nothing()
    with engine.begin() as conn:
        conn.execute(skip, {"id": 1, "name": "a"})
        again = conn.execute(skip, {"id": 1, "name": "b"})
        conn.execute(rename, {"id": 1, "name": "c"})
        conn.execute(skip, {"id": 1, "name": "d"})
        conn.execute(plain, {"id": 2, "name": "e"})
        uncached = conn.execute(plain, {"id": 2, "name": "f"})
        names = {row.id: row.name for row in conn.execute(select(things.c.id, things.c.name))}
    assert again.context.cache_hit is again.context.cache_hit.CACHE_HIT
    assert uncached.context.cache_hit is uncached.context.cache_hit.NO_CACHE_KEY  # why it exists
    assert names == {1: "c", 2: "e"}  # each statement kept its own clause
