"""Each service's migrations build exactly the tables its code uses, on SQLite and
PostgreSQL, and running them again changes nothing."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.runtime import migrations
from services.runtime.config import ServiceSettings
from services.runtime.db import Database


@pytest.mark.parametrize("service", ["booking", "notify", "identity", "cards"])
async def test_migrations_match_the_code(service: str, make_settings: Callable[..., Any]) -> None:
    settings = make_settings(ServiceSettings)
    orm = importlib.import_module(f"services.{service}.adapters.orm")
    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    db = Database(settings.database_url_for(service), schema=settings.database_schema_for(service))
    try:
        for _ in range(2):  # twice: an up-to-date database is left alone
            await asyncio.to_thread(migrations.upgrade, db, bootstrap.MIGRATIONS)
        async with db.engine.connect() as conn:
            differences = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), orm.metadata)
            )
        assert differences == []
    finally:
        await db.dispose()
