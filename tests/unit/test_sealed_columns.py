"""Guard: every sealed column of every service is walked by its ``reseal`` command, so
that after a key rotation no token is left under a key about to be dropped."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("service", ["identity", "notify", "cards"])
def test_every_sealed_column_is_resealed(service: str) -> None:
    orm = importlib.import_module(f"services.{service}.adapters.orm")
    sealed = {
        f"{t.name}.{c.name}" for t in orm.metadata.sorted_tables for c in t.c if c.name.endswith("_sealed")
    }
    walked = {f"{s.table.name}.{c}" for s in orm.SEALED for c in s.columns}
    assert sealed and sealed == walked
    for target in orm.SEALED:  # the pass pages by a one-column primary key
        assert len(target.table.primary_key.columns) == 1, target.table.name
