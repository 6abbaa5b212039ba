"""Alembic environment of the identity database (see services.runtime.migrations)."""

from services.identity.adapters.orm import metadata
from services.runtime.migrations import run_env

run_env(metadata)
