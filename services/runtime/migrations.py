"""Alembic migrations, one history per service, run programmatically.

Each service's ``env.py`` calls :func:`run_env`; operators and bootstraps call
:func:`upgrade`. On PostgreSQL the service's schema is created and holds its own
``alembic_version`` table.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from services.runtime.db import Database


def upgrade(
    db: Database,
    script_location: Path,
    revision: str = "head",
    *,
    attributes: Mapping[str, object] | None = None,
) -> None:
    """Bring the database up to ``revision``. Blocking: call it via ``asyncio.to_thread``
    from async code (env.py runs its own event loop). ``attributes`` reach the
    migration scripts as ``alembic.context.config.attributes`` (e.g. the cipher a
    data migration seals existing rows with)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes.update(attributes or {})
    cfg.attributes["database"] = db
    command.upgrade(cfg, revision)


def run_env(metadata: MetaData) -> None:
    """The body of every service's alembic ``env.py``."""
    db: Database = context.config.attributes["database"]

    def _migrate(conn: Connection) -> None:
        schema = None if db.is_sqlite else db.schema
        context.configure(
            connection=conn,
            target_metadata=metadata,
            version_table_schema=schema,
            render_as_batch=db.is_sqlite,  # SQLite alters tables by copying them
        )
        with context.begin_transaction():
            context.run_migrations()

    async def _run() -> None:
        engine = Database(db.url, schema=db.schema).engine
        try:
            async with engine.connect() as conn:
                if not db.is_sqlite:
                    # Replicas starting together migrate one after the other.
                    await conn.execute(text("SELECT pg_advisory_lock(hashtext(:s))"), {"s": db.schema})
                    await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"'))
                    await conn.commit()
                await conn.run_sync(_migrate)
                await conn.commit()
        finally:
            await engine.dispose()

    asyncio.run(_run())
