"""Alembic environment of the notify database (see services.runtime.migrations)."""

from services.notify.adapters.orm import metadata
from services.runtime.migrations import run_env

run_env(metadata)
